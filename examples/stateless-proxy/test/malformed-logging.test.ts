import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, sipp, startProxy, freePort } from './helpers.js';

afterEach(cleanup);

/** Garbage of the kinds a proxy on the Internet sees; every one at least 13 bytes (shorter ones are keep-alives). */
function malformed(i: number): Buffer {
  const kinds = [
    () => randomBytes(13 + (i % 1200)),
    () => Buffer.from('INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP'),
    () => Buffer.from(`OPTIONS sip:x SIP/2.0\r\nContent-Length: 99999\r\n\r\n`),
    () => Buffer.from(`REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK${i}\r\nMax-Forwards: abc\r\n\r\n`),
    () => Buffer.from(`INVITE sip:bob@example.com SIP/2.0\r\n${'X-Long: ' + 'a'.repeat(3000)}\r\n\r\n`),
  ];
  return kinds[i % kinds.length]!();
}

async function bound(address: string): Promise<Socket> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, address, () => r()));
  return sock;
}

/** Send `count` bad datagrams, paced in batches so the kernel buffer rather than the test decides nothing. */
async function flood(sock: Socket, port: number, count: number): Promise<void> {
  for (let sent = 0; sent < count; sent += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, count - sent) }, (_, j) => new Promise<void>((r) => sock.send(malformed(sent + j), port, '127.0.0.1', () => r()))),
    );
    await new Promise((r) => setTimeout(r, 3));
  }
}

describe('malformed datagrams at the default log level', () => {
  it('20,000 from one source and 2,000 from another write a few lines that name the counts', async () => {
    // The parseable REGISTERs of the flood (Max-Forwards: abc) would meet the default rate limit, whose
    // 503s and security lines are not what this test counts: it is off here.
    const proxy = await startProxy(['--leg', 'udp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--rate-limit', 'off'], 1);
    const port = proxy.legs[0]!.port;
    const startLines = proxy.output().trim().split('\n').length;
    const a = await bound('127.0.0.1');
    const b = await bound('127.0.0.2');
    await Promise.all([flood(a, port, 20_000), flood(b, port, 2_000)]);
    await Promise.all([a, b].map((s) => new Promise<void>((r) => s.close(() => r()))));

    // Still answering others (the flooding sources are over the default rate limit for a second).
    const contactPort = await freePort('127.0.0.3');
    const r = await sipp({
      scenario: 'register-cycle.xml',
      remote: `127.0.0.1:${port}`,
      local: '127.0.0.3',
      port: contactPort,
      transport: 'udp',
      keys: { user: 'hank', domain: 'example.com', contact_host: '127.0.0.3', contact_port: contactPort },
    }).done;
    expect(r.code, r.errors).toBe(0);
    expect(await proxy.stop()).toBe(0); // the leg writes its pending counts on close

    const out = proxy.output();
    const lines = out.trim().split('\n');
    const dropped = proxy.logs().filter((l) => String(l.msg).startsWith('dropped unparseable messages'));
    const from = (address: string) => dropped.filter((l) => l.source === address);
    const total = (address: string) => from(address).reduce((n, l) => n + Number(l.count), 0);
    console.log(
      `malformed: ${total('127.0.0.1')} + ${total('127.0.0.2')} datagrams counted, ${dropped.length} lines about them, ` +
        `${lines.length - startLines} lines and ${Buffer.byteLength(out)} bytes of output in all`,
    );
    // One line at the first datagram, one per 10 s with the count, one at close: a few per source.
    expect(from('127.0.0.1').length).toBeGreaterThanOrEqual(2);
    expect(from('127.0.0.1').length).toBeLessThanOrEqual(5);
    expect(from('127.0.0.2').length).toBeGreaterThanOrEqual(1);
    expect(from('127.0.0.2').length).toBeLessThanOrEqual(5);
    expect(from('127.0.0.1')[0]).toMatchObject({ level: 30, count: 1 });
    expect(from('127.0.0.1').at(-1)!.msg).toMatch(/^dropped unparseable messages \(\d+ more in the last 10 s or less\)$/);
    // Thousands got through the kernel buffer (a loaded box drops some) and all are counted in those lines.
    expect(total('127.0.0.1')).toBeGreaterThan(5_000);
    expect(total('127.0.0.1')).toBeLessThanOrEqual(20_000);
    expect(total('127.0.0.2')).toBeGreaterThan(500);
    expect(lines.length - startLines).toBeLessThan(20);
  });
});
