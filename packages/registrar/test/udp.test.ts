import { spawnPeer } from '@sipway/test-peers';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMessage } from '@sipway/sip-message';
import type { SipResponse } from '@sipway/sip-message';
import { Dispatcher } from '@sipway/sip-leg';
import { UdpLeg } from '@sipway/sip-leg/udp';
import { Registrar } from '../src/index.js';

const SIPP_DIR = join(dirname(fileURLToPath(import.meta.url)), 'sipp');
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function bracket(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

async function startRegistrar(address: string, maxExpires = 300): Promise<{ registrar: Registrar; port: number }> {
  const leg = new UdpLeg({ address, port: 0 });
  const dispatcher = new Dispatcher({ legs: [leg] });
  const registrar = new Registrar({ dispatcher, domains: ['example.com'], maxExpires });
  dispatcher.setReceiver(registrar);
  await dispatcher.start();
  cleanup.push(() => dispatcher.close(), () => registrar.close());
  return { registrar, port: leg.port };
}

/** A UDP client socket that sends a datagram and waits (bounded) for one answer. */
async function client(address: string): Promise<{ socket: Socket; port: number; exchange(text: string, to: number): Promise<SipResponse> }> {
  const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  cleanup.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  const port = socket.address().port;
  return {
    socket,
    port,
    exchange(text: string, to: number): Promise<SipResponse> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no response within 2 s')), 2000);
        socket.once('message', (data) => {
          clearTimeout(timer);
          resolve(parseMessage(data) as SipResponse);
        });
        socket.send(text, to, address);
      });
    },
  };
}

function register(local: string, contact: string, cseq: number, expires: number | '*'): string {
  return [
    'REGISTER sip:example.com SIP/2.0',
    `Via: SIP/2.0/UDP ${local};branch=z9hG4bK-udp-${cseq};rport`,
    'Max-Forwards: 70',
    'From: <sip:carol@example.com>;tag=udp1',
    'To: <sip:carol@example.com>',
    'Call-ID: udp-test@sipway',
    `CSeq: ${cseq} REGISTER`,
    expires === '*' ? 'Contact: *' : `Contact: <${contact}>`,
    `Expires: ${expires === '*' ? 0 : expires}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

function runSipp(scenario: string, address: string, port: number): Promise<{ code: number | null; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sipp-registrar-'));
  const args = [`${bracket(address)}:${port}`, '-sf', join(SIPP_DIR, scenario), '-s', 'alice', '-i', address, '-m', '1', '-timeout', '10s', '-timeout_error', '-nostdin', '-trace_err'];
  return new Promise((resolve, reject) => {
    // A missing sipp rejects at once, naming its Debian package (spawn emits no exit then).
    const child = spawnPeer('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }, reject);
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', (code) => {
      clearTimeout(killer);
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, output: output.slice(-2000) });
    });
  });
}

describe.each([
  { family: 'IPv4', address: '127.0.0.1' },
  { family: 'IPv6', address: '::1' },
])('registrar on a real UDP leg over $family', ({ address }) => {
  it('register, refresh and de-register with raw datagrams; answers go back to the source port', async () => {
    const { registrar, port } = await startRegistrar(address);
    const c = await client(address);
    const local = `${bracket(address)}:${c.port}`;
    const contact = `sip:carol@${local}`;

    const first = await c.exchange(register(local, contact, 1, 60), port);
    expect(first.status).toBe(200);
    expect(first.contacts.map((x) => [x.uri, x.expires])).toEqual([[contact, 60]]);
    expect(first.to?.tag).toBeDefined();
    expect(first.getHeader('date')).toMatch(/ GMT$/);
    expect((await registrar.lookup('sip:carol@example.com')).map((b) => b.contact)).toEqual([contact]);
    expect((await registrar.lookup('sip:carol@example.com'))[0]?.source).toEqual({ transport: 'udp', address, port: c.port, local: `udp:${bracket(address)}:${port}` });

    const refresh = await c.exchange(register(local, contact, 2, 600), port);
    expect(refresh.contacts.map((x) => x.expires)).toEqual([300]);

    const gone = await c.exchange(register(local, contact, 3, '*'), port);
    expect(gone.status).toBe(200);
    expect(gone.contacts).toEqual([]);
    expect(await registrar.lookup('sip:carol@example.com')).toEqual([]);
    expect(await registrar.knows('sip:carol@example.com')).toBe(true);
  });

  it('sipp registers (200 with expires, To tag, Date checked by the scenario) and de-registers', async () => {
    const { registrar, port } = await startRegistrar(address);
    const reg = await runSipp('register.xml', address, port);
    expect(reg.code, reg.output).toBe(0);
    const bindings = await registrar.lookup('sip:alice@example.com');
    expect(bindings).toHaveLength(1);
    expect(bindings[0]?.q).toBe(0.5);
    expect(bindings[0]?.contact).toMatch(new RegExp(`^sip:alice@${bracket(address).replace(/[[\]]/g, '\\$&')}:\\d+$`));

    const unreg = await runSipp('unregister.xml', address, port);
    expect(unreg.code, unreg.output).toBe(0);
    expect(await registrar.lookup('sip:alice@example.com')).toEqual([]);
  });
});

describe('the sipp scenario checks what it says it checks', () => {
  it('fails when the 200 lists another expiry (maxExpires 60 shortens the 120 asked)', async () => {
    const { registrar, port } = await startRegistrar('127.0.0.1', 60);
    const reg = await runSipp('register.xml', '127.0.0.1', port);
    expect(reg.code, reg.output).not.toBe(0);
    // The registrar did register, for 60 s.
    const [b] = await registrar.lookup('sip:alice@example.com');
    expect(b).toBeDefined();
    expect(b?.expires).toBeLessThanOrEqual(Date.now() + 60_000);
  });
});
