// Issue 9 item 4, as it was found: `Max-Forwards: 0000000070` passed validation, then threw in the
// getter, and the sender got no answer at all. Raw UDP and TCP clients (IPv4 and IPv6) send
// numbers written with leading zeros, huge numbers and folded values to the real example proxy;
// a raw socket plays the callee and reports what the proxy forwarded.
import { createSocket, type Socket } from 'node:dgram';
import { connect, createServer, type Socket as TcpSocket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { bracket, cleanup, startProxy, until } from './helpers.js';

afterEach(cleanup);

interface Peer {
  port: number;
  received: string[];
  send(text: string, port: number, host: string): void;
  close(): Promise<void>;
}

async function udpPeer(family: 'udp4' | 'udp6', host: string): Promise<Peer> {
  const sock: Socket = createSocket(family);
  const received: string[] = [];
  sock.on('message', (m) => received.push(m.toString('latin1')));
  await new Promise<void>((r) => sock.bind(0, host, () => r()));
  return {
    port: sock.address().port,
    received,
    send: (text, port, to) => sock.send(Buffer.from(text, 'latin1'), port, to),
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}

function request(o: { method: string; target: string; via: string; mf: string; cseq?: string; from?: string; extra?: string[]; branch: string }): string {
  return [
    `${o.method} ${o.target} SIP/2.0`,
    `Via: SIP/2.0/${o.via};branch=z9hG4bK${o.branch};rport`,
    `Max-Forwards: ${o.mf}`,
    `From: ${o.from ?? '<sip:alice@example.com>;tag=a1'}`,
    `To: <${o.target}>`,
    `Call-ID: ${o.branch}@numbers`,
    `CSeq: ${o.cseq ?? `1 ${o.method}`}`,
    ...(o.extra ?? []),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

const header = (message: string, name: string): string | undefined =>
  new RegExp(`\\r\\n${name}[ \\t]*:[ \\t]*([^\\r]*)`, 'i').exec(message)?.[1];

describe.each([
  { family: 'udp4' as const, host: '127.0.0.1' },
  { family: 'udp6' as const, host: '::1' },
])('Max-Forwards and CSeq written with leading zeros or too many digits, UDP $host', ({ family, host }) => {
  it('forwards 0000000070 as 69, answers 400 to 99999999999999999999 and to a CSeq past 2^32-1', async () => {
    const proxy = await startProxy(['--leg', `udp:${bracket(host)}:0`, '--log-level', 'warn'], 1);
    const port = proxy.legs[0]!.port;
    const callee = await udpPeer(family, host);
    const caller = await udpPeer(family, host);
    const target = `sip:bob@${bracket(host)}:${callee.port}`;
    const via = `UDP ${bracket(host)}:${caller.port}`;
    const cases = [
      { branch: 'lz1', mf: '0000000070', forwarded: '69' },
      { branch: 'lz2', mf: '000000000000000000000000000000000000000255', forwarded: '69' }, // capped at 70 by default
      { branch: 'lz3', mf: '0000000002', forwarded: '1', cseq: '0000000000000000004294967295 OPTIONS' },
      { branch: 'lz4', mf: '70', forwarded: '69', extra: ['Expires: 00000000000000000000000000003600', 'Contact: <sip:alice@192.0.2.1:000005060>;expires=0000000000099999999999'] },
    ];
    for (const c of cases) caller.send(request({ method: 'OPTIONS', target, via, mf: c.mf, branch: c.branch, cseq: c.cseq, extra: c.extra }), port, host);
    await until(() => cases.every((c) => callee.received.some((m) => m.includes(`branch=z9hG4bK${c.branch}`))), 10_000, 'the callee to get every forwarded OPTIONS');
    for (const c of cases) {
      const fwd = callee.received.find((m) => m.includes(`branch=z9hG4bK${c.branch}`))!;
      expect(header(fwd, 'Max-Forwards'), c.mf).toBe(c.forwarded);
    }

    const refused = [
      { branch: 'big1', mf: '99999999999999999999' },
      { branch: 'big2', mf: '256' },
      { branch: 'big3', mf: '70', cseq: '4294967296 OPTIONS' },
      { branch: 'big4', mf: '70', cseq: '36893488147419103232 OPTIONS' },
      { branch: 'big5', mf: '7 0' },
      // Not a number, but the same path: the answer's To tag used to need a parsable From.
      { branch: 'big6', mf: '70', from: '"Alice <sip:alice@example.com>;tag=a1' },
    ];
    for (const c of refused) caller.send(request({ method: 'OPTIONS', target, via, mf: c.mf, branch: c.branch, cseq: c.cseq, from: c.from }), port, host);
    await until(() => refused.every((c) => caller.received.some((m) => m.includes(`branch=z9hG4bK${c.branch}`))), 10_000, 'an answer to every malformed OPTIONS');
    for (const c of refused) {
      const answer = caller.received.find((m) => m.includes(`branch=z9hG4bK${c.branch}`))!;
      expect(answer.slice(0, answer.indexOf('\r\n')), `${c.mf} / ${c.cseq}`).toMatch(/^SIP\/2\.0 400 /);
    }
    expect(callee.received.some((m) => /branch=z9hG4bKbig/.test(m))).toBe(false);
    expect(proxy.child.exitCode).toBeNull();
    await caller.close();
    await callee.close();
    expect(await proxy.stop()).toBe(0);
  });
});

describe('over TCP (the stream framer path)', () => {
  it('forwards 0000000070 as 69, also folded onto a continuation line, frames Content-Length 000000000000000, answers 400 to 99999999999999999999', async () => {
    const proxy = await startProxy(['--leg', 'tcp:127.0.0.1:0', '--log-level', 'warn'], 1);
    const port = proxy.legs[0]!.port;
    // The callee listens on TCP too: the proxy dials it.
    let calleeText = '';
    const accepted: TcpSocket[] = [];
    const server = createServer((s) => {
      accepted.push(s);
      s.on('data', (d) => (calleeText += d.toString('latin1')));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const calleePort = (server.address() as { port: number }).port;
    const target = `sip:bob@127.0.0.1:${calleePort};transport=tcp`;

    let callerText = '';
    const client: TcpSocket = connect(port, '127.0.0.1');
    client.on('data', (d) => (callerText += d.toString('latin1')));
    await new Promise<void>((r) => client.once('connect', () => r()));
    const via = `TCP 127.0.0.1:${client.localPort}`;
    client.write(request({ method: 'OPTIONS', target, via, mf: '0000000070', branch: 'tcp1' }));
    client.write(request({ method: 'OPTIONS', target, via, mf: '\r\n 000000000000000000000000000000000000000000000000000000000000000000000012', branch: 'tcp2' }));
    client.write(request({ method: 'OPTIONS', target, via, mf: '99999999999999999999', branch: 'tcp3' }));
    // The stream framer reads Content-Length by the same rule: 15 digits of zeros frame a message.
    client.write(request({ method: 'OPTIONS', target, via, mf: '70', branch: 'tcp4' }).replace('Content-Length: 0\r\n', 'Content-Length: 000000000000000\r\n'));
    await until(() => ['tcp1', 'tcp2', 'tcp4'].every((b) => calleeText.includes(`z9hG4bK${b}`)), 10_000, 'three OPTIONS forwarded over TCP');
    await until(() => callerText.includes('z9hG4bKtcp3'), 10_000, 'an answer to Max-Forwards 99999999999999999999');
    const forwarded = calleeText.split(/(?=OPTIONS sip:)/);
    expect(header(forwarded.find((m) => m.includes('z9hG4bKtcp1'))!, 'Max-Forwards')).toBe('69');
    expect(header(forwarded.find((m) => m.includes('z9hG4bKtcp2'))!, 'Max-Forwards')).toBe('11');
    expect(callerText).toMatch(/^SIP\/2\.0 400 [^\r]*\r\n(?:[^\r]*\r\n)*?Via: [^\r]*z9hG4bKtcp3/m);
    expect(calleeText).not.toContain('z9hG4bKtcp3');
    client.destroy();
    for (const s of accepted) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    expect(await proxy.stop()).toBe(0);
  });
});
