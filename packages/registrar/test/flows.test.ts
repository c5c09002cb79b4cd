/**
 * RFC 5626 on a real TCP leg: the registration connection is pinned while its binding lives,
 * an outbound REGISTER gets `Require: outbound` and Flow-Timer, a binding with the same
 * `+sip.instance` and `reg-id` is replaced, and a closed flow's bindings are removed at once.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { Dispatcher } from '@sipway/sip-leg';
import { TcpLeg } from '@sipway/sip-leg/tcp';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '@sipway/test-peers';
import { Registrar } from '../src/index.js';
import type { RegistrarOptions } from '../src/index.js';
import { registerText } from './helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const INSTANCE = '"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>"';

async function setup(options: Partial<RegistrarOptions> = {}) {
  const leg = new TcpLeg({ address: '127.0.0.1', port: 0, idleTimeoutMs: 300 });
  const dispatcher = new Dispatcher({ legs: [leg] });
  const registrar = new Registrar({ dispatcher, domains: ['example.com'], sweepInterval: 0, ...options });
  dispatcher.setReceiver(registrar);
  await dispatcher.start();
  cleanups.push(() => registrar.close());
  cleanups.push(() => dispatcher.close());
  return { leg, registrar };
}

/** A TCP client: sends REGISTERs, collects response texts. */
async function client(port: number): Promise<{ socket: Socket; responses: string[]; closed: () => boolean; register(contact: string, extra?: Array<[string, string]>, callId?: string): Promise<string> }> {
  const socket = connect({ host: '127.0.0.1', port });
  cleanups.push(() => socket.destroy());
  await new Promise<void>((r, j) => {
    socket.once('connect', () => r());
    socket.once('error', j);
  });
  let closed = false;
  socket.on('close', () => (closed = true));
  const responses: string[] = [];
  let buffer = '';
  socket.on('data', (d: Buffer) => {
    buffer += d.toString('latin1');
    let end;
    while ((end = buffer.indexOf('\r\n\r\n')) !== -1) {
      responses.push(buffer.slice(0, end));
      buffer = buffer.slice(end + 4);
    }
  });
  let cseq = 0;
  return {
    socket,
    responses,
    closed: () => closed,
    async register(contact, extra = [], callId = 'flow-reg@test') {
      const before = responses.length;
      socket.write(registerText({ contacts: [contact], expires: 120, headers: extra, callId }, `127.0.0.1:${socket.localPort}`, { callId, cseq: ++cseq }).replace('SIP/2.0/UDP', 'SIP/2.0/TCP'));
      await until(() => responses.length > before, 3000);
      return responses[before]!;
    },
  };
}

describe('registrations over a flow (RFC 5626)', () => {
  it('answer an outbound REGISTER with Require: outbound and Flow-Timer, and keep its connection open while registered', async () => {
    const { leg } = await setup({ flowTimer: 25 });
    const c = await client(leg.port);
    const ok = await c.register(`<sip:alice@127.0.0.1:9;transport=tcp;ob>;reg-id=1;+sip.instance=${INSTANCE}`, [['Supported', 'outbound']]);
    expect(ok).toMatch(/^SIP\/2\.0 200 OK\r\n/);
    expect(ok).toMatch(/\r\nRequire: outbound\r\n/);
    expect(ok).toMatch(/\r\nFlow-Timer: 25\r\n/);
    // Four idle periods of the leg later the registered connection is still there …
    await new Promise((r) => setTimeout(r, 1200));
    expect(c.closed()).toBe(false);
    // … and one that registered nothing is closed.
    const idle = await client(leg.port);
    await until(() => idle.closed(), 3000);
    expect(c.closed()).toBe(false);
  });

  it('send no Require: outbound without Supported: outbound or without reg-id', async () => {
    const { leg } = await setup({ flowTimer: 25 });
    const c = await client(leg.port);
    const plain = await c.register(`<sip:alice@127.0.0.1:9;transport=tcp;ob>;reg-id=1;+sip.instance=${INSTANCE}`);
    expect(plain).not.toMatch(/Require: outbound|Flow-Timer/);
    const noRegId = await c.register('<sip:bob@127.0.0.1:9;transport=tcp;ob>', [['Supported', 'outbound']], 'flow-reg-2@test');
    expect(noRegId).not.toMatch(/Require: outbound|Flow-Timer/);
  });

  it('replace the binding with the same +sip.instance and reg-id', async () => {
    const { leg, registrar } = await setup();
    const first = await client(leg.port);
    await first.register(`<sip:alice@127.0.0.1:9;transport=tcp;ob>;reg-id=1;+sip.instance=${INSTANCE}`, [], 'flow-a@test');
    const second = await client(leg.port);
    await second.register(`<sip:alice@127.0.0.1:10;transport=tcp;ob>;reg-id=1;+sip.instance=${INSTANCE}`, [], 'flow-b@test');
    const bindings = await registrar.lookup('sip:alice@example.com');
    expect(bindings.map((b) => b.contact)).toEqual(['sip:alice@127.0.0.1:10;transport=tcp;ob']);
  });

  it('drop the bindings reachable only over a flow when it closes, and keep the others (RFC 5626 §5.2)', async () => {
    const { leg, registrar } = await setup();
    const c = await client(leg.port);
    await c.register('<sip:alice@127.0.0.1:9;transport=tcp;ob>', [], 'flow-c@test');
    await c.register('<sip:alice@127.0.0.1:5070;transport=tcp>', [], 'flow-d@test');
    expect(await registrar.lookup('sip:alice@example.com')).toHaveLength(2);
    c.socket.destroy();
    await until(() => leg.connections.length === 0, 3000);
    const deadline = Date.now() + 3000;
    let left = await registrar.lookup('sip:alice@example.com');
    while (left.length > 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      left = await registrar.lookup('sip:alice@example.com');
    }
    expect(left.map((b) => b.contact)).toEqual(['sip:alice@127.0.0.1:5070;transport=tcp']);
    expect(await registrar.knows('sip:alice@example.com')).toBe(true);
  });

  it('keep them with dropClosedFlows: false (the proxy then skips them on lookup)', async () => {
    const { leg, registrar } = await setup({ dropClosedFlows: false });
    const c = await client(leg.port);
    await c.register('<sip:alice@x1.invalid;transport=tcp>', [], 'flow-e@test');
    c.socket.destroy();
    await until(() => leg.connections.length === 0, 3000);
    await new Promise((r) => setTimeout(r, 200)); // a removal would come now: the window of the negative assertion
    expect(await registrar.lookup('sip:alice@example.com')).toHaveLength(1);
  });
});
