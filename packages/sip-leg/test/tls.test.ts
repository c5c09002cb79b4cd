import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMessage } from '@sipway/sip-message';
import { TlsLeg } from '../src/tls/index.js';
import { makeCert } from './certs.js';
import type { TestCert } from './certs.js';
import { FAMILIES, Inbox, StreamPeer, bracket, request, response } from './helpers.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function cert(cn?: string): Promise<TestCert> {
  const c = await makeCert(cn);
  cleanup.push(() => rmSync(c.dir, { recursive: true, force: true }));
  return c;
}

async function startLeg(address: string, c: TestCert, extra: object = {}) {
  const inbox = new Inbox();
  const leg = new TlsLeg({ address, port: 0, certFile: c.certFile, keyFile: c.keyFile, caFile: c.certFile, onReceive: inbox.handler, ...extra });
  await leg.start();
  cleanup.push(() => leg.close());
  return { leg, inbox };
}

function tlsClient(address: string, port: number, ca: string): Promise<StreamPeer & { tls: TLSSocket }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: address, port, ca });
    socket.once('secureConnect', () => {
      const peer = new StreamPeer(socket) as StreamPeer & { tls: TLSSocket };
      peer.tls = socket;
      cleanup.push(() => peer.destroy());
      resolve(peer);
    });
    socket.once('error', reject);
  });
}

describe.each(FAMILIES)('TLS leg over $name', ({ address, family }) => {
  it('has a sips identity', async () => {
    const { leg } = await startLeg(address, await cert());
    expect(leg.contact).toBe(`sips:${bracket(address)}:${leg.port};transport=tls`);
    expect(leg.recordRoute).toBe(`<sips:${bracket(address)}:${leg.port};transport=tls;lr>`);
    expect(leg.via('z9hG4bKx')).toBe(`SIP/2.0/TLS ${bracket(address)}:${leg.port};branch=z9hG4bKx`);
  });

  it('receives over TLS and answers on the same connection', async () => {
    const c = await cert();
    const { leg, inbox } = await startLeg(address, c);
    const client = await tlsClient(address, leg.port, c.cert);
    client.write(request({ via: 'SIP/2.0/TLS client.invalid;branch=z9hG4bKtls;rport' }));
    const { message, info } = await inbox.next();
    expect(info.source.transport).toBe('tls');
    expect(info.source.family).toBe(family);
    expect(message.getHeader('via')).toContain(`received=${address}`);
    const sent = await leg.send(parseMessage(response(message.getHeader('via') ?? '')));
    expect(sent.ok).toBe(true);
    await client.waitFor((d) => d.startsWith('SIP/2.0 200 OK'));
    client.write('\r\n\r\n');
    await client.waitFor((d) => d.endsWith('\r\n\r\n\r\n'));
  });

  it('two TLS legs talk, verifying the certificate', async () => {
    const c = await cert();
    const a = await startLeg(address, c);
    const b = await startLeg(address, c);
    const sent = await a.leg.send(parseMessage(request({ via: a.leg.via(), callId: 'tls-pair' })), { transport: 'tls', address, port: b.leg.port, family });
    expect(sent).toMatchObject({ ok: true });
    expect((await b.inbox.next()).message.callId).toBe('tls-pair');
  });

  it('fails as a value when the peer certificate is not trusted', async () => {
    const server = await startLeg(address, await cert('server.test'));
    const client = await startLeg(address, await cert('client.test'));
    const sent = await client.leg.send(parseMessage(request()), { transport: 'tls', address, port: server.leg.port, family });
    expect(sent).toMatchObject({ ok: false, code: 'CONNECT_FAILED', status: 503 });
  });

  it('times out a connect whose handshake never completes (408)', async () => {
    const c = await cert();
    const { leg } = await startLeg(address, c, { connectTimeoutMs: 200 });
    const held: Array<import('node:net').Socket> = [];
    const silent = createServer((s) => held.push(s));
    await new Promise<void>((r) => silent.listen(0, address, () => r()));
    cleanup.push(() => {
      for (const s of held) s.destroy();
      return new Promise<void>((r) => silent.close(() => r()));
    });
    const info = silent.address();
    const port = typeof info === 'object' && info !== null ? info.port : 0;
    const sent = await leg.send(parseMessage(request()), { transport: 'tls', address, port, family });
    expect(sent).toMatchObject({ ok: false, code: 'CONNECT_TIMEOUT', status: 408 });
    // The socket is not kept.
    expect(leg.connections).toHaveLength(0);
    expect(held).toHaveLength(1);
  });
});

describe('TLS mutual authentication', () => {
  it('with requestCert, a leg presenting a trusted certificate gets in and a bare client does not', async () => {
    const c = await cert();
    const server = await startLeg('127.0.0.1', c, { requestCert: true });
    const client = await startLeg('127.0.0.1', c);
    const sent = await client.leg.send(parseMessage(request({ callId: 'mtls' })), { transport: 'tls', address: '127.0.0.1', port: server.leg.port, family: 4 });
    expect(sent.ok).toBe(true);
    expect((await server.inbox.next()).message.callId).toBe('mtls');
    const bare: Awaited<ReturnType<typeof tlsClient>> | Error = await tlsClient('127.0.0.1', server.leg.port, c.cert).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
    if (!(bare instanceof Error)) {
      // TLS 1.3: the server's refusal arrives after the client's handshake completed.
      bare.write(request({ callId: 'bare' }));
      await bare.waitClosed();
    }
    expect(server.inbox.items.map((i) => i.message.callId)).toEqual(['mtls']);
  });
});

describe('TLS reload', () => {
  it('serves a new certificate to new connections without a restart', async () => {
    const first = await cert('first.test');
    const second = await cert('second.test');
    const live = { certFile: join(first.dir, 'live.crt'), keyFile: join(first.dir, 'live.key') };
    copyFileSync(first.certFile, live.certFile);
    copyFileSync(first.keyFile, live.keyFile);
    const inbox = new Inbox();
    const leg = new TlsLeg({ address: '127.0.0.1', port: 0, ...live, onReceive: inbox.handler });
    await leg.start();
    cleanup.push(() => leg.close());
    const before = await tlsClient('127.0.0.1', leg.port, first.cert);
    expect(before.tls.getPeerCertificate().subject.CN).toBe('first.test');
    copyFileSync(second.certFile, live.certFile);
    copyFileSync(second.keyFile, live.keyFile);
    leg.reload();
    const after = await tlsClient('127.0.0.1', leg.port, second.cert);
    expect(after.tls.getPeerCertificate().subject.CN).toBe('second.test');
    // The connection opened before the reload still works.
    before.write(request({ via: 'SIP/2.0/TLS client.invalid;branch=z9hG4bKold' }));
    await inbox.next();
  });

  it('keeps the old certificate when the new files are broken', async () => {
    const c = await cert();
    const { leg } = await startLeg('127.0.0.1', c);
    copyFileSync(c.certFile, `${c.keyFile}.bak`);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(c.keyFile, 'not a key');
    expect(() => leg.reload()).toThrow();
    await tlsClient('127.0.0.1', leg.port, c.cert);
  });

  it('requires certFile and keyFile', () => {
    expect(() => new TlsLeg({ certFile: '', keyFile: '' })).toThrow(/certFile and keyFile/);
  });
});
