// Issue 9 item 7 through the two-leg example: with --contact-lifetime 3600, a Contact token older
// than an hour no longer leads to the inside phone. The tokens are minted with the library under
// the proxy's key and leg list at chosen moments (as the proxy made them then), and replayed from
// the outside over TCP the way a captured Contact comes back. A fresh one must reach the phone
// (so key and leg list are right); an old one must not.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ContactRewriter, netSipLegKey } from '@sipway/contact-rewriter';
import { until } from '@sipway/test-peers';
import { afterEach, describe, expect, it } from 'vitest';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const KEY = 'base64:q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=';
const stops: Array<() => void> = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

describe('two-leg-proxy --contact-lifetime', () => {
  it('refuses a bad value at start (exit 2)', async () => {
    const child = spawn(process.execPath, [join(DIR, 'dist', 'main.js'), '--inside', 'udp:127.0.0.1:0', '--outside', 'tcp:127.0.0.2:0', '--contact-lifetime', '30'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    stops.push(() => child.kill('SIGKILL'));
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(err).toContain('--contact-lifetime is whole seconds: 0 (no limit) or 60 to 4294967295');
  });

  it('an outside request for a token younger than the lifetime reaches the inside phone; an older one does not', async () => {
    const proxy = spawn(
      process.execPath,
      [join(DIR, 'dist', 'main.js'), '--inside', 'udp:127.0.0.1:0', '--outside', 'tcp:127.0.0.2:0', '--domain', 'example.com', '--contact-key', KEY, '--contact-lifetime', '3600'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    stops.push(() => proxy.kill('SIGKILL'));
    let out = '';
    proxy.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => (out.match(/listening/g) ?? []).length >= 2, 10_000, 'two listening lines');
    const port = (side: string, t: string) => Number(new RegExp(`${side} listening on ${t}:[^\\n]*:(\\d+)`).exec(out)![1]);
    const inside = { proto: 'udp', addr: '127.0.0.1', port: port('inside', 'udp') };
    const outside = { proto: 'tcp', addr: '127.0.0.2', port: port('outside', 'tcp') };

    const phone = createSocket('udp4');
    const got: string[] = [];
    phone.on('message', (m) => got.push(m.toString('latin1')));
    await new Promise<void>((r) => phone.bind(0, '127.0.0.1', () => r()));
    stops.push(() => phone.close());
    const phonePort = phone.address().port;

    const legs = [inside, outside].map((l) => ({ key: netSipLegKey(l), contact: `sip:${l.addr}:${l.port}` }));
    const mint = (at: number) =>
      new ContactRewriter({ legs, key: KEY, env: {}, tokenLifetime: 3600, now: () => at }).encode(`phone@127.0.0.1:${phonePort}`, legs[0]!, legs[1]!);
    const now = Date.now();
    // Issue times are rounded down to 7.5 min: 50 min ago is inside the hour, 68.5 min ago past it.
    const tokens = { fresh: mint(now), young: mint(now - 50 * 60_000), old: mint(now - 68.5 * 60_000), ancient: mint(now - 365 * 86_400_000) };

    let answers = '';
    const caller = connect(outside.port, outside.addr);
    stops.push(() => caller.destroy());
    caller.on('data', (d: Buffer) => (answers += d.toString('latin1')));
    await new Promise<void>((r) => caller.once('connect', () => r()));
    for (const [name, token] of Object.entries(tokens)) {
      caller.write(
        [
          `OPTIONS sip:${token}@127.0.0.2:${outside.port};transport=tcp SIP/2.0`,
          `Via: SIP/2.0/TCP 127.0.0.2:${caller.localPort};branch=z9hG4bK${name}`,
          'Max-Forwards: 70',
          'From: <sip:mallory@example.net>;tag=m2',
          'To: <sip:phone@example.com>',
          `Call-ID: ${name}@two-leg-replay`,
          'CSeq: 1 OPTIONS',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      );
    }
    await until(() => ['fresh', 'young'].every((n) => got.some((m) => m.includes(`z9hG4bK${n}`))), 10_000, 'the young tokens to reach the phone');
    await until(() => ['old', 'ancient'].every((n) => answers.includes(`z9hG4bK${n}`)), 10_000, 'answers to the expired tokens');
    expect(got.find((m) => m.includes('z9hG4bKfresh'))!.split('\r\n')[0]).toBe(`OPTIONS sip:phone@127.0.0.1:${phonePort} SIP/2.0`);
    expect(got.filter((m) => /z9hG4bK(old|ancient)/.test(m))).toEqual([]);
    for (const name of ['old', 'ancient']) {
      const status = new RegExp(`SIP/2\\.0 (\\d{3}) [^\\r]*\\r\\n(?:[^\\r]+\\r\\n)*?Via: [^\\r]*z9hG4bK${name}`).exec(answers)?.[1];
      expect(Number(status), name).toBeGreaterThanOrEqual(400);
    }
  });
});
