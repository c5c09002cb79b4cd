/**
 * Issue 9 item 3: a phone on a TLS leg that sends `sip:` requests (transport=tls) must get
 * `sip:…;transport=tls` in Record-Route and in its rewritten Contacts, never `sips:`, which it
 * may not route to (RFC 3261 §16.6 step 4, RFC 5630 §3.1.3). A raw node:tls client is the phone
 * (this sipp is built without TLS); a sipp UAS over UDP is the callee.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, find, freePort, headerValues, sipp, startLine, startProxy, until } from './helpers.js';

let sockets: TLSSocket[] = [];
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets = [];
  await cleanup();
});

/** A self-signed certificate for 127.0.0.1 made with the openssl command. */
function makeCert(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sipway-tls-rr-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  return { cert, key };
}

/** A SIP-over-TLS client: one connection, messages split by Content-Length. */
async function tlsPhone(port: number) {
  const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  let buffer = '';
  const messages: string[] = [];
  socket.on('data', (d: Buffer) => {
    buffer += d.toString('latin1');
    for (;;) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/^(?:content-length|l)\s*:\s*(\d+)/im.exec(buffer.slice(0, end))?.[1] ?? 0);
      if (buffer.length < end + 4 + length) return;
      messages.push(buffer.slice(0, end + 4 + length));
      buffer = buffer.slice(end + 4 + length);
    }
  });
  return { localPort: socket.localPort!, messages, send: (text: string) => socket.write(text) };
}

function request(method: string, uri: string, lines: string[]): string {
  return [`${method} ${uri} SIP/2.0`, ...lines, 'Content-Length: 0', '', ''].join('\r\n');
}

describe('Record-Route and Contact on a TLS leg for a sip: request', () => {
  it('the phone gets sip:…;transport=tls in Record-Route and Contact, and its ACK and BYE on that route set reach the callee', async () => {
    const { cert, key } = makeCert();
    const proxy = await startProxy(
      ['--leg', 'tls:127.0.0.1:0', '--leg', 'udp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--tls-cert', cert, '--tls-key', key, '--log-level', 'warn'],
      2,
    );
    const tls = proxy.legs.find((l) => l.transport === 'tls')!;
    const udp = proxy.legs.find((l) => l.transport === 'udp')!;
    const uasPort = await freePort('127.0.0.3');
    const uas = sipp({ scenario: 'uas-call.xml', local: '127.0.0.3', port: uasPort, transport: 'udp', keys: { user: 'bob', contact_host: '127.0.0.3' } });
    const reg = await sipp({
      scenario: 'register.xml', remote: `127.0.0.1:${udp.port}`, local: '127.0.0.3', port: await freePort('127.0.0.3'), transport: 'udp',
      keys: { user: 'bob', domain: 'example.com', contact_host: '127.0.0.3', contact_port: uasPort },
    }).done;
    expect(reg.code, reg.errors).toBe(0);

    const phone = await tlsPhone(tls.port);
    const via = (b: string) => `Via: SIP/2.0/TLS 127.0.0.1:${phone.localPort};branch=z9hG4bK${b};rport`;
    const dialog = ['From: <sip:alice@example.com>;tag=a1', 'Call-ID: tls-rr-1@127.0.0.1', 'Max-Forwards: 70'];
    phone.send(request('INVITE', 'sip:bob@example.com', [via('inv'), ...dialog, 'To: <sip:bob@example.com>', 'CSeq: 1 INVITE', `Contact: <sip:alice@127.0.0.1:${phone.localPort};transport=tls>`]));
    await until(() => phone.messages.some((m) => m.startsWith('SIP/2.0 200')), 10_000, 'the 200 over TLS');
    const ok = phone.messages.find((m) => m.startsWith('SIP/2.0 200'))!;

    // Two legs, two entries (RFC 5658): the TLS one is sip:…;transport=tls, no sips: anywhere.
    const rr = headerValues(ok, 'Record-Route').flatMap((v) => v.split(/,\s*/));
    expect(rr).toHaveLength(2);
    expect(rr[0]).toMatch(new RegExp(`^<sip:127\\.0\\.0\\.1:${udp.port};lr;rrsig=[A-Za-z0-9_-]+>$`));
    expect(rr[1]).toMatch(new RegExp(`^<sip:127\\.0\\.0\\.1:${tls.port};transport=tls;lr;rrsig=[A-Za-z0-9_-]+>$`));
    const contact = headerValues(ok, 'Contact', 'm')[0]!;
    expect(contact).toMatch(new RegExp(`^<sip:[A-Za-z0-9]+@127\\.0\\.0\\.1:${tls.port};transport=tls>$`));
    expect(ok).not.toMatch(/sips:/i);

    // The phone's route set is the Record-Route reversed; its target the Contact.
    const target = contact.slice(1, -1);
    const routes = `Route: ${[...rr].reverse().join(', ')}`;
    const toTagged = `To: ${headerValues(ok, 'To', 't')[0]}`;
    phone.send(request('ACK', target, [via('ack'), ...dialog, toTagged, routes, 'CSeq: 1 ACK']));
    phone.send(request('BYE', target, [via('bye'), ...dialog, toTagged, routes, 'CSeq: 2 BYE']));
    await until(() => phone.messages.some((m) => m.startsWith('SIP/2.0 200') && /CSeq: 2 BYE/.test(m)), 10_000, 'the 200 to the BYE');

    const callee = await uas.done;
    expect(callee.code, callee.errors + callee.output.slice(-1500)).toBe(0);
    const [invite] = find(callee.received, /^INVITE /);
    // The callee sees the same two entries and the phone's Contact as a token at the UDP leg.
    expect(headerValues(invite!, 'Record-Route').flatMap((v) => v.split(/,\s*/))).toEqual(rr);
    expect(headerValues(invite!, 'Contact', 'm')[0]).toMatch(new RegExp(`^<sip:[A-Za-z0-9]+@127\\.0\\.0\\.1:${udp.port}>$`));
    for (const method of ['ACK', 'BYE']) {
      const [got] = find(callee.received, new RegExp(`^${method} `));
      expect(startLine(got!)).toBe(`${method} sip:bob@127.0.0.3:${uasPort};transport=UDP SIP/2.0`);
    }
    expect(await proxy.stop()).toBe(0);
  });
});
