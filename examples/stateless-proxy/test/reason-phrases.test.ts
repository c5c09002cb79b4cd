import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { cleanup, startProxy, until } from './helpers.js';
import type { ProxyProcess } from './helpers.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  for (const s of servers.splice(0)) s.close();
  await cleanup();
});

/** A self-signed certificate made with the openssl command, in a temp directory. */
function certificate(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`], { stdio: 'ignore' });
  return { cert, key };
}

let dir: string;
let proxyCert: { cert: string; key: string };
let strangerCert: { cert: string; key: string };
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sipway-e2e-reason-'));
  proxyCert = certificate(dir, 'proxy');
  strangerCert = certificate(dir, 'stranger');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as { port: number }).port;
}

/** A raw UDP user agent: sends a request, collects what comes back. */
async function uac(): Promise<{ socket: Socket; port: number; received: string[] }> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  const received: string[] = [];
  socket.on('message', (m) => received.push(m.toString('latin1')));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { socket, port: socket.address().port, received };
}

function send(ua: { socket: Socket }, port: number, lines: string[]): void {
  ua.socket.send(Buffer.from([...lines, '', ''].join('\r\n')), port, '127.0.0.1');
}

/** bob registers (over UDP) a contact on a TLS port; a caller INVITEs him; returns the caller's final answer. */
async function callOverBrokenTls(proxy: ProxyProcess, tlsPort: number, tag: string): Promise<string> {
  const udp = proxy.legs.find((l) => l.transport === 'udp')!.port;
  const bob = await uac();
  send(bob, udp, [
    'REGISTER sip:example.com SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:${bob.port};branch=z9hG4bK-reg-${tag};rport`,
    'Max-Forwards: 70',
    `From: <sip:bob@example.com>;tag=r${tag}`,
    'To: <sip:bob@example.com>',
    `Call-ID: reg-${tag}@sipway.test`,
    'CSeq: 1 REGISTER',
    `Contact: <sip:bob@127.0.0.1:${tlsPort};transport=tls>`,
    'Expires: 60',
    'Content-Length: 0',
  ]);
  await until(() => bob.received.some((m) => m.startsWith('SIP/2.0 200')), 5000, '200 to REGISTER');
  const alice = await uac();
  send(alice, udp, [
    'INVITE sip:bob@example.com SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:${alice.port};branch=z9hG4bK-inv-${tag};rport`,
    'Max-Forwards: 70',
    `From: <sip:alice@example.com>;tag=a${tag}`,
    'To: <sip:bob@example.com>',
    `Call-ID: inv-${tag}@sipway.test`,
    'CSeq: 1 INVITE',
    `Contact: <sip:alice@127.0.0.1:${alice.port}>`,
    'Content-Length: 0',
  ]);
  await until(() => alice.received.some((m) => /^SIP\/2\.0 [3-6]\d\d /.test(m)), 15_000, 'a final answer to the INVITE');
  return alice.received.find((m) => /^SIP\/2\.0 [3-6]\d\d /.test(m))!;
}

async function tlsProxy(): Promise<ProxyProcess> {
  return startProxy(
    ['--leg', 'udp:127.0.0.1:0', '--leg', 'tls:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--tls-cert', proxyCert.cert, '--tls-key', proxyCert.key],
    2,
  );
}

describe('reason phrases carry no error text', () => {
  it('a plain TCP server on the TLS port: the caller gets "503 Service Unavailable", the log has the OpenSSL error', async () => {
    const plain = await listen(createServer((s) => s.end('SIP/2.0 200 this is not TLS\r\n\r\n')));
    const proxy = await tlsProxy();
    const answer = await callOverBrokenTls(proxy, plain, 'plain');
    expect(answer.split('\r\n')[0]).toBe('SIP/2.0 503 Service Unavailable');
    expect(answer).not.toMatch(/ssl|openssl|\.c:\d+|\/deps\//i);
    await until(() => proxy.logs().some((l) => l.msg === 'outgoing connection failed'), 5000, 'the connect failure log line');
    const line = proxy.logs().find((l) => l.msg === 'outgoing connection failed')!;
    expect(line).toMatchObject({ level: 40, destination: `127.0.0.1:${plain}`, code: 'CONNECT_FAILED' });
    expect(String(line.detail)).toMatch(/connect to 127\.0\.0\.1:\d+ failed: .*(SSL|wrong version|packet length|disconnected|ECONNRESET)/i);
    expect(await proxy.stop()).toBe(0);
  });

  it('a TLS server with an untrusted certificate: the same plain 503, the verification error in the log', async () => {
    const stranger = await listen(
      createTlsServer({ cert: readFileSync(strangerCert.cert), key: readFileSync(strangerCert.key) }, (s) => s.end()),
    );
    const proxy = await tlsProxy();
    const answer = await callOverBrokenTls(proxy, stranger, 'untrusted');
    expect(answer.split('\r\n')[0]).toBe('SIP/2.0 503 Service Unavailable');
    expect(answer).not.toMatch(/certificate|self.signed|verify/i);
    await until(() => proxy.logs().some((l) => l.msg === 'outgoing connection failed'), 5000, 'the connect failure log line');
    const line = proxy.logs().find((l) => l.msg === 'outgoing connection failed')!;
    expect(String(line.detail)).toMatch(/self.signed certificate|unable to verify|certificate/i);
    expect(await proxy.stop()).toBe(0);
  });
});
