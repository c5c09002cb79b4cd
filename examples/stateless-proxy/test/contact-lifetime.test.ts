// Issue 9 item 7: Contact tokens carry their issue time, so a captured token stops working after
// --contact-lifetime. The attacker here holds the proxy's contact key's tokens, not the key: the
// test mints tokens with the library (same key, same leg list) as the proxy would have at some
// past moment, and replays them at the real example proxy (UDP + TCP legs) over TCP, the way a captured
// Contact or Record-Route target comes back. A fresh token must reach the callee (so the leg list
// and key are right), an old one must not.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { ContactRewriter, netSipLegKey } from '@sipway/contact-rewriter';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCliArgs } from '../src/args.js';
import { configFromObject, parseContactLifetime, resolveConfig } from '../src/config.js';
import { cleanup, startProxy, until, type ListeningLeg } from './helpers.js';

afterEach(cleanup);

const KEY = 'base64:q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=';

describe('--contact-lifetime / contact-lifetime', () => {
  it('reads seconds or a unit, 0 for no limit, and refuses what the rewriter cannot honour', () => {
    expect([parseContactLifetime('3600'), parseContactLifetime('90s'), parseContactLifetime('30m'), parseContactLifetime('12h'), parseContactLifetime('7d')]).toEqual([
      3600, 90, 1800, 43200, 604800,
    ]);
    expect(parseContactLifetime('0')).toBe(0);
    for (const bad of ['59', '1m30s', '-1', '7w', 'forever', '', '99999999999d']) expect(() => parseContactLifetime(bad), bad).toThrow(/contact-lifetime/);
    expect(resolveConfig({}, parseCliArgs(['--contact-lifetime', '2h']).flags).contactLifetime).toBe(7200);
    expect(resolveConfig(configFromObject({ 'contact-lifetime': 86400 }), {}).contactLifetime).toBe(86400);
    expect(resolveConfig(configFromObject({ 'contact-lifetime': '1d' }), { contactLifetime: '30m' }).contactLifetime).toBe(1800);
    expect(resolveConfig({}, {}).contactLifetime).toBeUndefined();
  });
});

describe('a replayed Contact token at the example proxy with a UDP and a TCP leg', () => {
  it('reaches the callee while younger than --contact-lifetime, and nowhere once older', async () => {
    const proxy = await startProxy(
      ['--leg', 'udp:127.0.0.1:0', '--leg', 'tcp:127.0.0.1:0', '--contact-key', KEY, '--contact-lifetime', '1h', '--log-level', 'debug'],
      2,
    );
    const [udp, tcp] = proxy.legs as [ListeningLeg, ListeningLeg];
    const callee = createSocket('udp4');
    const calleeGot: string[] = [];
    callee.on('message', (m) => calleeGot.push(m.toString('latin1')));
    await new Promise<void>((r) => callee.bind(0, '127.0.0.1', () => r()));
    const calleePort = callee.address().port;

    // The proxy's leg list as its rewriter sees it (Net::SIP leg keys, in order).
    const legs = [udp, tcp].map((l) => ({ key: netSipLegKey({ proto: l.transport, addr: l.address, port: l.port }), contact: `sip:${l.address}:${l.port}` }));
    const mint = (at: number) =>
      new ContactRewriter({ legs, key: KEY, env: {}, tokenLifetime: 3600, now: () => at }).encode(`bob@127.0.0.1:${calleePort}`, legs[0]!, legs[1]!);
    const now = Date.now();
    const tokens = {
      fresh: mint(now),
      // Issue times are rounded down to an eighth of the lifetime (7.5 min): made 50 min ago is at
      // most 57.5 min old, inside the hour; made 68.5 min ago is past it whatever the rounding.
      young: mint(now - 50 * 60_000),
      old: mint(now - 61 * 60_000 - 450_000),
      ancient: mint(now - 30 * 86_400_000),
    };

    let answers = '';
    const client = connect(tcp.port, '127.0.0.1');
    client.on('data', (d) => (answers += d.toString('latin1')));
    await new Promise<void>((r) => client.once('connect', () => r()));
    for (const [name, token] of Object.entries(tokens)) {
      client.write(
        [
          `OPTIONS sip:${token}@127.0.0.1:${tcp.port};transport=tcp SIP/2.0`,
          `Via: SIP/2.0/TCP 127.0.0.1:${client.localPort};branch=z9hG4bK${name}`,
          'Max-Forwards: 70',
          'From: <sip:mallory@example.com>;tag=m1',
          `To: <sip:bob@example.com>`,
          `Call-ID: ${name}@replay`,
          'CSeq: 1 OPTIONS',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      );
    }
    await until(() => calleeGot.some((m) => m.includes('z9hG4bKfresh')) && calleeGot.some((m) => m.includes('z9hG4bKyoung')), 10_000, 'the young tokens to reach the callee');
    // The old ones get a final answer from the proxy itself (they name no one it knows).
    await until(() => answers.includes('z9hG4bKold') && answers.includes('z9hG4bKancient'), 10_000, 'answers to the expired tokens');
    const fwd = calleeGot.find((m) => m.includes('z9hG4bKfresh'))!;
    expect(fwd.slice(0, fwd.indexOf('\r\n'))).toBe(`OPTIONS sip:bob@127.0.0.1:${calleePort} SIP/2.0`);
    expect(calleeGot.filter((m) => /z9hG4bK(old|ancient)/.test(m))).toEqual([]);
    for (const name of ['old', 'ancient']) {
      const status = new RegExp(`SIP/2\\.0 (\\d{3}) [^\\r]*\\r\\n(?:[^\\r]+\\r\\n)*?Via: [^\\r]*z9hG4bK${name}`).exec(answers)?.[1];
      expect(Number(status), name).toBeGreaterThanOrEqual(400);
    }
    client.destroy();
    await new Promise<void>((r) => callee.close(() => r()));
    expect(await proxy.stop()).toBe(0);
  });
});
