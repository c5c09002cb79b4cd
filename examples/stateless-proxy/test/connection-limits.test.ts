import { connect, createServer } from 'node:net';
import type { Server } from 'node:net';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { until as untilAsync } from '@sipway/test-peers';
import { cleanup, freePort, sipp, startProxy, until } from './helpers.js';
import type { ProxyProcess } from './helpers.js';

/** Raw TCP clients of a test, destroyed after it. */
const sockets: Socket[] = [];
const webSockets: WebSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const w of webSockets.splice(0)) w.terminate();
  await cleanup();
});

interface Client {
  socket: Socket;
  closed: boolean;
  closedAt: number | undefined;
  data: string;
}

/** Open a TCP connection (from `localAddress` when given) and keep it idle; resolves once connected. */
function open(port: number, localAddress?: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ...(localAddress === undefined ? {} : { localAddress }) });
    sockets.push(socket);
    const c: Client = { socket, closed: false, closedAt: undefined, data: '' };
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (c.data += d));
    socket.on('close', () => {
      c.closed = true;
      c.closedAt = Date.now();
    });
    socket.once('connect', () => resolve(c));
    socket.once('error', (e) => (c.closed ? undefined : reject(e)));
  });
}

function openWs(port: number, localAddress?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, 'sip', localAddress === undefined ? {} : { localAddress });
    webSockets.push(ws);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

function logLines(proxy: ProxyProcess, msg: RegExp): Array<Record<string, unknown>> {
  return proxy.logs().filter((l) => msg.test(String(l.msg)));
}

/** RSS of a process in KiB and its open descriptors (Linux /proc). */
function processFigures(pid: number): { rssKiB: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssKiB, fds: readdirSync(`/proc/${pid}/fd`).length };
}

describe('one source cannot take every connection slot', () => {
  it('a host opening 40 idle TCP connections keeps 32 (the default); another address still registers', async () => {
    const proxy = await startProxy(['--leg', 'tcp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--log-level', 'warn'], 1);
    const port = proxy.legs[0]!.port;
    const clients: Client[] = [];
    for (let i = 0; i < 40; i++) clients.push(await open(port));
    await until(() => clients.filter((c) => c.closed).length >= 8, 10_000, 'connections over the per-source limit closed');
    // Closed at once, not after a timeout; the first 32 stay.
    await new Promise((r) => setTimeout(r, 300));
    expect(clients.filter((c) => c.closed)).toHaveLength(8);
    expect(clients.slice(0, 32).every((c) => !c.closed)).toBe(true);
    const refused = logLines(proxy, /connection refused: per-source connection limit 32 reached/);
    expect(refused).toHaveLength(1); // the other seven are counted, not logged one by one
    expect(refused[0]).toMatchObject({ level: 40, source: '127.0.0.1' });

    // 127.0.0.2 is another source: it connects and completes a REGISTER cycle over TCP.
    const contactPort = await freePort('127.0.0.2');
    const r = await sipp({
      scenario: 'register-cycle.xml',
      remote: `127.0.0.1:${port}`,
      local: '127.0.0.2',
      port: contactPort,
      transport: 'tcp',
      keys: { user: 'dave', domain: 'example.com', contact_host: '127.0.0.2', contact_port: contactPort },
    }).done;
    expect(r.code, r.errors + r.output.slice(-1500)).toBe(0);
    const figures = processFigures(proxy.child.pid!);
    console.log(`per-source: 32 of 40 idle connections held, another source registered; proxy RSS ${figures.rssKiB} KiB, ${figures.fds} fds`);
    expect(await proxy.stop()).toBe(0);
  });
});

describe('deadlines that bytes do not extend', () => {
  it('a header dripped a byte every 200 ms is closed at --message-timeout-ms; whole messages pass', async () => {
    const proxy = await startProxy(
      ['--leg', 'tcp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--message-timeout-ms', '1500'],
      1,
    );
    const port = proxy.legs[0]!.port;
    const drip = await open(port);
    const text = 'REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKdrip\r\nX-Slow: ';
    const started = Date.now();
    let i = 0;
    const timer = setInterval(() => {
      if (!drip.closed) drip.socket.write(text[i++ % text.length]!);
    }, 200);
    try {
      await until(() => drip.closed, 10_000, 'the dripping connection to be closed');
    } finally {
      clearInterval(timer);
    }
    const took = drip.closedAt! - started;
    expect(took).toBeGreaterThanOrEqual(1400);
    expect(took).toBeLessThan(6000);
    await until(() => logLines(proxy, /message deadline passed/).length === 1, 5000, 'the deadline log line');
    expect(logLines(proxy, /message deadline passed/)[0]).toMatchObject({ source: '127.0.0.1', deadlineMs: 1500 });

    // A client sending whole messages is not affected.
    const contactPort = await freePort();
    const r = await sipp({
      scenario: 'register-cycle.xml',
      remote: `127.0.0.1:${port}`,
      local: '127.0.0.1',
      port: contactPort,
      transport: 'tcp',
      keys: { user: 'erin', domain: 'example.com', contact_host: '127.0.0.1', contact_port: contactPort },
    }).done;
    expect(r.code, r.errors + r.output.slice(-1500)).toBe(0);
    console.log(`drip: closed ${took} ms after the first byte (deadline 1500 ms, a byte every 200 ms)`);
    expect(await proxy.stop()).toBe(0);
  });
});

describe('TLS handshakes', () => {
  it('a TLS handshake dripped a byte every 200 ms is closed at --handshake-timeout-ms and held a per-source slot meanwhile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sipway-e2e-tlsdeadline-'));
    try {
      const cert = join(dir, 'p.crt');
      const key = join(dir, 'p.key');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=proxy'], { stdio: 'ignore' });
      const proxy = await startProxy(
        ['--leg', 'tls:127.0.0.1:0', '--tls-cert', cert, '--tls-key', key, '--max-connections-per-source', '1', '--handshake-timeout-ms', '1500'],
        1,
      );
      const port = proxy.legs[0]!.port;
      const drip = await open(port);
      // The start of a ClientHello record, one byte at a time.
      const bytes = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
      const started = Date.now();
      let i = 0;
      const timer = setInterval(() => {
        if (!drip.closed && i < bytes.length) drip.socket.write(Buffer.from([bytes[i++]!]));
      }, 200);
      // Its slot is taken while it handshakes: a second socket from the source is refused.
      const second = await open(port);
      await until(() => second.closed, 5000, 'the second socket refused');
      try {
        await until(() => drip.closed, 10_000, 'the dripping handshake to be closed');
      } finally {
        clearInterval(timer);
      }
      const took = drip.closedAt! - started;
      expect(took).toBeGreaterThanOrEqual(1300);
      expect(took).toBeLessThan(6000);
      await until(() => logLines(proxy, /handshake deadline passed/).length === 1, 5000, 'the deadline line');
      console.log(`tls drip: closed ${took} ms after the accept (deadline 1500 ms)`);
      expect(await proxy.stop()).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('WebSocket sockets before the upgrade', () => {
  it('count against the per-source limit, are closed at --handshake-timeout-ms, and another source still registers', async () => {
    const proxy = await startProxy(
      ['--leg', 'ws:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--max-connections-per-source', '4', '--handshake-timeout-ms', '2000'],
      1,
    );
    const port = proxy.legs[0]!.port;
    const raw: Client[] = [];
    for (let i = 0; i < 4; i++) raw.push(await open(port));
    // Half an HTTP request: it must not extend the deadline.
    raw[0]!.socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
    const fifth = await open(port);
    await until(() => fifth.closed, 5000, 'the fifth socket of the source to be refused');
    expect(fifth.data).toMatch(/^HTTP\/1\.1 503 /);
    await expect(openWs(port)).rejects.toThrow(/503|hang up|ECONNRESET/);

    // 127.0.0.2 upgrades and registers meanwhile.
    const ws = await openWs(port, '127.0.0.2');
    const answers: string[] = [];
    ws.on('message', (d) => answers.push(d.toString()));
    const lp = (ws as unknown as { _socket: { localPort: number } })._socket.localPort;
    ws.send(
      [
        'REGISTER sip:example.com SIP/2.0',
        `Via: SIP/2.0/WS 127.0.0.2:${lp};branch=z9hG4bK-ws-limit-1`,
        'Max-Forwards: 70',
        'From: <sip:frank@example.com>;tag=f1',
        'To: <sip:frank@example.com>',
        'Call-ID: ws-limit-1@sipway.test',
        'CSeq: 1 REGISTER',
        `Contact: <sip:frank@127.0.0.2:${lp};transport=ws>`,
        'Expires: 60',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
    await until(() => answers.some((a) => a.startsWith('SIP/2.0 200')), 5000, '200 to the REGISTER over ws');

    // The pre-upgrade sockets are closed at the deadline; then 127.0.0.1 may upgrade again.
    await until(() => raw.every((c) => c.closed), 8000, 'pre-upgrade sockets closed at the deadline');
    expect(logLines(proxy, /handshake deadline passed/).length).toBeGreaterThanOrEqual(1);
    const again = await openWs(port);
    expect(again.protocol).toBe('sip');
    // Upgraded connections are not subject to the handshake deadline.
    await new Promise((r) => setTimeout(r, 2500));
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(await proxy.stop()).toBe(0);
  });
});

describe('running out of file descriptors', () => {
  it('under ulimit -n 64: a warning at start, one clear line before EMFILE, no crash, and new connections once clients leave', async () => {
    const proxy = await startProxy(
      ['--leg', 'tcp:127.0.0.1:0', '--leg', 'udp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--max-connections-per-source', '0'],
      2,
      10_000,
      { openFiles: 64 },
    );
    const port = proxy.legs.find((l) => l.transport === 'tcp')!.port;
    expect(logLines(proxy, /file descriptor limit 64 \(ulimit -n\) is below/)).toHaveLength(1);

    const clients: Client[] = [];
    for (let i = 0; i < 150; i++) clients.push(await open(port).catch(() => ({ socket: undefined as unknown as Socket, closed: true, closedAt: Date.now(), data: '' })));
    await until(() => logLines(proxy, /out of file descriptors/).length >= 1, 10_000, 'the EMFILE log line');
    const held = clients.filter((c) => !c.closed).length;
    const before = processFigures(proxy.child.pid!);
    expect(proxy.child.exitCode).toBeNull();
    const lines = logLines(proxy, /out of file descriptors/);
    expect(lines[0]).toMatchObject({ level: 50, where: 'accept' });
    // libuv would close the pending sockets silently at EMFILE; the leg stops 8 descriptors before it.
    expect(String(lines[0]!.msg)).toMatch(/^out of file descriptors \(\d+ of 64 open, 8 kept for outgoing connections\) on accept: raise the limit \(ulimit -n\)/);
    expect(lines[0]).toMatchObject({ limit: 64 });
    // 150 attempts, one line now (the rest are counted into the next one, at most one per 10 s).
    expect(lines.length).toBeLessThanOrEqual(2);

    // The clients leave: after the pause the proxy accepts and answers again.
    for (const c of clients) c.socket?.destroy();
    const contactPort = await freePort();
    await untilAsync(async () => {
      const r = await sipp({
        scenario: 'register-cycle.xml',
        remote: `127.0.0.1:${port}`,
        local: '127.0.0.1',
        port: contactPort,
        transport: 'tcp',
        keys: { user: 'gina', domain: 'example.com', contact_host: '127.0.0.1', contact_port: contactPort },
        timeoutS: 5,
      }).done;
      return r.code === 0;
    }, 30_000, 'a REGISTER cycle over TCP after recovery');
    const after = processFigures(proxy.child.pid!);
    console.log(
      `EMFILE: ulimit -n 64, ${held} of 150 connections held (fds ${before.fds}, RSS ${before.rssKiB} KiB), ` +
        `${lines.length} log line(s); after the clients left: fds ${after.fds}, RSS ${after.rssKiB} KiB, REGISTER ok`,
    );
    expect(await proxy.stop()).toBe(0);
  });
});

describe('running out of descriptors on outgoing connections', () => {
  it('under ulimit -n 64: the INVITE past the limit gets a plain 503, one EMFILE line, idle connections are closed and later calls go through', async () => {
    const proxy = await startProxy(
      ['--leg', 'udp:127.0.0.1:0', '--leg', 'tcp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--max-connections', '200', '--rate-limit', 'off'],
      2,
      10_000,
      { openFiles: 64 },
    );
    const udpPort = proxy.legs.find((l) => l.transport === 'udp')!.port;
    // 60 callees, each a TCP listener that keeps what the proxy sends.
    const callees: Array<{ server: Server; port: number; got: string[] }> = [];
    for (let i = 0; i < 60; i++) {
      const got: string[] = [];
      const server = createServer((s) => {
        s.setEncoding('latin1');
        s.on('data', (d: string) => got.push(d));
        s.on('error', () => undefined);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      callees.push({ server, port: (server.address() as { port: number }).port, got });
    }
    const ua = createSocket('udp4');
    const answers = new Map<string, string>();
    ua.on('message', (m) => {
      const text = m.toString('latin1');
      const callId = /\r\nCall-ID: *([^\r]+)/i.exec(text)?.[1];
      if (callId !== undefined && /^SIP\/2\.0 [2-6]/.test(text)) answers.set(callId, text.split('\r\n')[0]!);
    });
    await new Promise<void>((r) => ua.bind(0, '127.0.0.1', () => r()));
    const uaPort = ua.address().port;
    const sendTo = (lines: string[]) => ua.send(Buffer.from([...lines, '', ''].join('\r\n')), udpPort, '127.0.0.1');
    try {
      for (const [i, c] of callees.entries()) {
        sendTo([
          'REGISTER sip:example.com SIP/2.0', `Via: SIP/2.0/UDP 127.0.0.1:${uaPort};branch=z9hG4bK-r${i};rport`, 'Max-Forwards: 70',
          `From: <sip:u${i}@example.com>;tag=r${i}`, `To: <sip:u${i}@example.com>`, `Call-ID: reg${i}@fd`, 'CSeq: 1 REGISTER',
          `Contact: <sip:u${i}@127.0.0.1:${c.port};transport=tcp>`, 'Expires: 300', 'Content-Length: 0',
        ]);
      }
      await until(() => callees.every((_, i) => answers.get(`reg${i}@fd`) === 'SIP/2.0 200 OK'), 10_000, '60 registrations');
      const invite = (i: number, n: number) =>
        sendTo([
          `INVITE sip:u${i}@example.com SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${uaPort};branch=z9hG4bK-i${i}-${n};rport`, 'Max-Forwards: 70',
          `From: <sip:caller@example.com>;tag=c${i}${n}`, `To: <sip:u${i}@example.com>`, `Call-ID: inv${i}-${n}@fd`, 'CSeq: 1 INVITE',
          `Contact: <sip:caller@127.0.0.1:${uaPort}>`, 'Content-Length: 0',
        ]);
      for (let i = 0; i < 60; i++) {
        invite(i, 1);
        await new Promise((r) => setTimeout(r, 10));
      }
      // Those beyond the descriptors get a plain 503; the others reached their callee.
      await until(() => logLines(proxy, /out of file descriptors \(EMFILE\) on connect/).length >= 1, 10_000, 'the EMFILE line');
      await until(() => callees.filter((c, i) => c.got.length > 0 || answers.has(`inv${i}-1@fd`)).length === 60, 15_000, 'every INVITE delivered or answered');
      const failed = callees.map((_, i) => i).filter((i) => answers.get(`inv${i}-1@fd`) !== undefined);
      const reached = callees.filter((c) => c.got.some((d) => d.startsWith('INVITE '))).length;
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.every((i) => answers.get(`inv${i}-1@fd`) === 'SIP/2.0 503 Service Unavailable')).toBe(true);
      expect(proxy.child.exitCode).toBeNull();
      const line = logLines(proxy, /out of file descriptors \(EMFILE\) on connect/)[0]!;
      expect(line).toMatchObject({ level: 50, where: 'connect' });
      expect(logLines(proxy, /out of file descriptors/).length).toBeLessThanOrEqual(2);
      const atLimit = processFigures(proxy.child.pid!);

      // Once the connections it opened have been idle a second, a failing connect closes some of them:
      // the call after that goes through.
      await new Promise((r) => setTimeout(r, 1500));
      const retry = failed[0]!;
      let n = 2;
      await untilAsync(async () => {
        invite(retry, n++);
        await new Promise((r) => setTimeout(r, 300));
        return callees[retry]!.got.some((d) => d.startsWith('INVITE '));
      }, 15_000, 'a later INVITE to reach the callee that got a 503');
      console.log(
        `outgoing EMFILE: ulimit -n 64, ${reached} of 60 INVITEs reached their callee, ${failed.length} got "503 Service Unavailable" ` +
          `(fds ${atLimit.fds}, RSS ${atLimit.rssKiB} KiB); after 1.5 s idle the retry went through on attempt ${n - 2}`,
      );
      expect(await proxy.stop()).toBe(0);
    } finally {
      ua.close();
      for (const c of callees) c.server.close();
    }
  });
});
