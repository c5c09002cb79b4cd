import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, freePort, sipp, startProxy } from './helpers.js';

afterEach(cleanup);

/** Garbage of the kinds a proxy on the Internet sees: noise, truncated and broken SIP. */
function malformed(i: number): Buffer {
  const kinds = [
    () => randomBytes(1 + (i % 1400)),
    () => Buffer.from('INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP'),
    () => Buffer.from(`OPTIONS sip:x SIP/2.0\r\nContent-Length: 99999\r\n\r\n`),
    () => Buffer.from('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKnope\r\n\r\n'),
    () => Buffer.from(`REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK${i}\r\nMax-Forwards: abc\r\n\r\n`),
    () => Buffer.from('\r\n\r\n'),
    () => Buffer.from(`INVITE sip:bob@example.com SIP/2.0\r\n${'X-Long: ' + 'a'.repeat(3000)}\r\n\r\n`),
    () => Buffer.from([0xff, 0xfe, 0x00, 0x53, 0x49, 0x50]),
  ];
  return kinds[i % kinds.length]!();
}

describe('a burst of malformed datagrams', () => {
  it('leaves the proxy alive and answering: a REGISTER cycle still works after 2000 bad datagrams', async () => {
    const proxy = await startProxy(['--leg', 'udp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--log-level', 'warn'], 1);
    const port = proxy.legs[0]!.port;
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    // Paced in batches so the kernel buffer, not the proxy, is not what drops them.
    for (let batch = 0; batch < 40; batch++) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) => new Promise<void>((r) => sock.send(malformed(batch * 50 + j), port, '127.0.0.1', () => r()))),
      );
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise<void>((r) => sock.close(() => r()));
    expect(proxy.child.exitCode).toBeNull();

    // From another address: the flood's own address is rate-limited (50/s by default) for a second.
    const contactPort = await freePort('127.0.0.2');
    const r = await sipp({
      scenario: 'register-cycle.xml',
      remote: `127.0.0.1:${port}`,
      local: '127.0.0.2',
      port: contactPort,
      transport: 'udp',
      keys: { user: 'carol', domain: 'example.com', contact_host: '127.0.0.2', contact_port: contactPort },
    }).done;
    expect(r.code, r.errors).toBe(0);
    expect(await proxy.stop()).toBe(0);
  });
});
