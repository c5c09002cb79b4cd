import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '@sipway/test-peers';
import { WebSocket } from 'ws';
import { parseMessage } from '@sipway/sip-message';
import { WsLeg } from '../src/ws/index.js';
import type { WsLegOptions } from '../src/ws/index.js';
import { makeCert } from './certs.js';
import { FAMILIES, Inbox, bracket, request, response } from './helpers.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function startLeg(address: string, options: WsLegOptions = {}) {
  const inbox = new Inbox();
  const leg = new WsLeg({ address, port: 0, onReceive: inbox.handler, ...options });
  await leg.start();
  cleanup.push(() => leg.close());
  return { leg, inbox };
}

interface Client {
  ws: WebSocket;
  messages: Array<{ text: string; binary: boolean }>;
}

function client(url: string, protocols: string | string[] = 'sip', options: WebSocket.ClientOptions = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, options);
    const messages: Client['messages'] = [];
    ws.on('message', (data, binary) => messages.push({ text: Buffer.from(data as Buffer).toString('latin1'), binary }));
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
    cleanup.push(() => ws.terminate());
  });
}

describe.each(FAMILIES)('WebSocket leg over $name', ({ address, family }) => {
  const url = (port: number, scheme = 'ws') => `${scheme}://${bracket(address)}:${port}/`;

  it('has a ws identity', async () => {
    const { leg } = await startLeg(address);
    expect(leg.transport).toBe('ws');
    expect(leg.contact).toBe(`sip:${bracket(address)}:${leg.port};transport=ws`);
    expect(leg.via('z9hG4bKw')).toBe(`SIP/2.0/WS ${bracket(address)}:${leg.port};branch=z9hG4bKw`);
  });

  it('receives one SIP message per WebSocket message and answers on the same socket', async () => {
    const { leg, inbox } = await startLeg(address);
    const c = await client(url(leg.port));
    expect(c.ws.protocol).toBe('sip');
    c.ws.send(request({ via: 'SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKws1', callId: 'w1' }));
    c.ws.send(Buffer.from(request({ via: 'SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKws2', callId: 'w2' })), { binary: true });
    await inbox.next(2);
    const first = inbox.items[0];
    expect(first?.info.source).toMatchObject({ transport: 'ws', address, family });
    expect(first?.info.connection?.direction).toBe('inbound');
    expect(first?.message.getHeader('via')).toBe(`SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKws1;received=${address}`);
    const sent = await leg.send(parseMessage(response(first?.message.getHeader('via') ?? '', 200, 'OK', 'w1')));
    expect(sent.ok).toBe(true);
    await until(() => c.messages.length === 1);
    expect(c.messages[0]?.binary).toBe(false);
    expect(c.messages[0]?.text.startsWith('SIP/2.0 200 OK\r\n')).toBe(true);
  });

  it('reaches the browser with a request over the connection it opened', async () => {
    const { leg, inbox } = await startLeg(address);
    const c = await client(url(leg.port));
    c.ws.send(request({ method: 'REGISTER', via: 'SIP/2.0/WS x.invalid;branch=z9hG4bKreg' }));
    const { info } = await inbox.next();
    const sent = await leg.send(parseMessage(request({ method: 'INVITE', callId: 'to-browser' })), { ...info.source });
    expect(sent.ok && sent.connection).toBe(info.connection);
    await until(() => c.messages.some((m) => m.text.includes('to-browser')));
  });

  it('refuses a handshake without the sip subprotocol (RFC 7118 §4.1)', async () => {
    const { leg } = await startLeg(address);
    await expect(client(url(leg.port), 'chat')).rejects.toThrow(/HTTP 400/);
    await expect(client(url(leg.port), [])).rejects.toThrow(/HTTP 400/);
    await expect(client(url(leg.port), ['chat', 'sip'])).resolves.toBeDefined();
  });

  it('enforces the Origin allow-list', async () => {
    const { leg, inbox } = await startLeg(address, { allowedOrigins: ['https://app.example.com'] });
    await expect(client(url(leg.port), 'sip', { origin: 'https://evil.example.net' })).rejects.toThrow(/HTTP 403/);
    await expect(client(url(leg.port), 'sip')).rejects.toThrow(/HTTP 403/);
    const ok = await client(url(leg.port), 'sip', { origin: 'https://app.example.com' });
    ok.ws.send(request({ via: 'SIP/2.0/WS x.invalid;branch=z9hG4bKo' }));
    await inbox.next();
  });

  it('answers a CRLF keep-alive message, drops a bad message and keeps the connection', async () => {
    const { leg, inbox } = await startLeg(address);
    const c = await client(url(leg.port));
    c.ws.send('\r\n\r\n');
    await until(() => c.messages.length === 1);
    expect(c.messages[0]?.text).toBe('\r\n');
    c.ws.send('GARBAGE that is not SIP\r\n\r\n');
    c.ws.send(request({ via: 'SIP/2.0/WS x.invalid;branch=z9hG4bKafter' }));
    await inbox.next();
    expect(inbox.items).toHaveLength(1);
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('fails a response whose connection is gone, as a value', async () => {
    const { leg, inbox } = await startLeg(address);
    const c = await client(url(leg.port));
    c.ws.send(request({ via: 'SIP/2.0/WS x.invalid;branch=z9hG4bKgone' }));
    const { message } = await inbox.next();
    c.ws.close();
    await until(() => leg.connections.length === 0);
    expect(await leg.send(parseMessage(response(message.getHeader('via') ?? '')))).toMatchObject({ ok: false, code: 'NO_CONNECTION', status: 503 });
  });

  it('connects to another WebSocket leg with the sip subprotocol', async () => {
    const a = await startLeg(address);
    const b = await startLeg(address);
    const sent = await a.leg.send(parseMessage(request({ via: a.leg.via(), callId: 'ws-pair' })), { transport: 'ws', address, port: b.leg.port, family });
    expect(sent.ok && sent.connection?.direction).toBe('outbound');
    const got = await b.inbox.next();
    expect(got.message.callId).toBe('ws-pair');
    const back = await b.leg.send(parseMessage(response(got.message.getHeader('via') ?? '', 200, 'OK', 'ws-pair')));
    expect(back.ok).toBe(true);
    expect((await a.inbox.next()).message.isRequest).toBe(false);
  });

  it('closes idle connections and limits their number', async () => {
    const { leg } = await startLeg(address, { idleTimeoutMs: 150, maxConnections: 1 });
    const c = await client(url(leg.port));
    await expect(client(url(leg.port))).rejects.toThrow(/HTTP 503/);
    await until(() => c.ws.readyState === WebSocket.CLOSED, 3000);
  });

  it('serves wss with a certificate file', async () => {
    const cert = await makeCert();
    cleanup.push(() => rmSync(cert.dir, { recursive: true, force: true }));
    const { leg, inbox } = await startLeg(address, { secure: true, certFile: cert.certFile, keyFile: cert.keyFile, caFile: cert.certFile });
    expect(leg.transport).toBe('wss');
    expect(leg.contact).toBe(`sip:${bracket(address)}:${leg.port};transport=wss`);
    const c = await client(url(leg.port, 'wss'), 'sip', { ca: cert.cert });
    c.ws.send(request({ via: 'SIP/2.0/WSS x.invalid;branch=z9hG4bKs' }));
    const { info } = await inbox.next();
    expect(info.source.transport).toBe('wss');
    // Leg to leg over wss, verifying the certificate.
    const other = await startLeg(address, { secure: true, certFile: cert.certFile, keyFile: cert.keyFile, caFile: cert.certFile });
    const sent = await other.leg.send(parseMessage(request({ callId: 'wss-pair' })), { transport: 'wss', address, port: leg.port, family });
    expect(sent.ok).toBe(true);
    expect((await inbox.next(2)).message.callId).toBe('wss-pair');
    leg.reload();
  });
});

describe('WebSocket leg options', () => {
  it('needs certificate files for wss and a path starting with /', () => {
    expect(() => new WsLeg({ secure: true })).toThrow(/certFile and keyFile/);
    expect(() => new WsLeg({ path: 'sip' })).toThrow(/path/);
  });

  it('answers plain HTTP with 426 and checks the path', async () => {
    const { leg } = await startLeg('127.0.0.1', { path: '/sip' });
    const res = await fetch(`http://127.0.0.1:${leg.port}/sip`);
    expect(res.status).toBe(426);
    await expect(client(`ws://127.0.0.1:${leg.port}/other`)).rejects.toThrow(/HTTP 404/);
    await expect(client(`ws://127.0.0.1:${leg.port}/sip`)).resolves.toBeDefined();
  });
});
