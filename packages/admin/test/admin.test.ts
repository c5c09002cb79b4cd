import { channel } from 'node:diagnostics_channel';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { until } from '@sipway/test-peers';
import { LocationStoreError, MemoryLocationStore, Registrar } from '@sipway/registrar';
import { Dispatcher } from '@sipway/sip-leg';
import { UdpLeg } from '@sipway/sip-leg/udp';
import { createMetrics, instrumentStore, parseAdminAddress, startAdmin } from '../src/index.js';
import { sample } from './helpers.js';

/** A registrar on a real UDP leg on 127.0.0.1 with an instrumented store, and a UDP client socket. */
async function udpRegistrar(store = new MemoryLocationStore()) {
  const metrics = createMetrics();
  const leg = new UdpLeg({ address: '127.0.0.1', port: 0 });
  const dispatcher = new Dispatcher({ legs: [leg] });
  const registrar = new Registrar({ dispatcher, domains: ['example.com'], store: instrumentStore(store, metrics), sweepInterval: 0 });
  dispatcher.setReceiver(registrar);
  await dispatcher.start();
  const client: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
  const clientPort = client.address().port;
  const answers: string[] = [];
  client.on('message', (data) => answers.push(data.toString('latin1')));
  let n = 0;
  /** Sends a REGISTER and resolves to the status of its answer (2 s at most). */
  async function register(user: string, expires = 60): Promise<number> {
    const branch = `z9hG4bK-udp-${++n}`;
    const text = [
      'REGISTER sip:example.com SIP/2.0',
      `Via: SIP/2.0/UDP 127.0.0.1:${clientPort};branch=${branch};rport`,
      'Max-Forwards: 70',
      `From: <sip:${user}@example.com>;tag=t${n}`,
      `To: <sip:${user}@example.com>`,
      `Call-ID: udp-${n}@127.0.0.1`,
      `CSeq: ${n} REGISTER`,
      `Contact: <sip:${user}@127.0.0.1:${clientPort}>`,
      `Expires: ${expires}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    client.send(text, leg.port, '127.0.0.1');
    let answer: string | undefined;
    await until(() => (answer = answers.find((a) => a.includes(branch))) !== undefined);
    return Number(/^SIP\/2\.0 (\d{3})/.exec(answer!)?.[1]);
  }
  return {
    metrics,
    leg,
    dispatcher,
    registrar,
    client,
    clientPort,
    register,
    async close() {
      client.close();
      await dispatcher.close();
      await registrar.close();
      metrics.dispose();
    },
  };
}

describe('startAdmin over a UDP registrar', () => {
  it('serves metrics, bindings and health for real REGISTER traffic in one call', async () => {
    const sip = await udpRegistrar();
    const admin = await startAdmin({ listen: '127.0.0.1:0', metrics: sip.metrics, legs: () => sip.dispatcher.legs, registrar: sip.registrar });
    try {
      expect(admin.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await sip.register('alice')).toBe(200);
      expect(await sip.register('bob')).toBe(200);
      expect(await sip.register('carol', 1)).toBe(423);

      const bindings = (await (await fetch(`${admin.url}/bindings`)).json()) as Array<{ aor: string; bindings: Array<{ contact: string }> }>;
      expect(bindings.map((r) => r.aor).sort()).toEqual(['sip:alice@example.com', 'sip:bob@example.com']);
      expect(bindings.find((r) => r.aor === 'sip:alice@example.com')?.bindings[0]?.contact).toBe(`sip:alice@127.0.0.1:${sip.clientPort}`);

      const text = await (await fetch(`${admin.url}/metrics`)).text();
      const leg = `udp:127.0.0.1:${sip.leg.port}`;
      expect(sample(text, 'sipway_sip_messages_received_total', { leg, kind: 'request', method: 'REGISTER' })).toBe(3);
      expect(sample(text, 'sipway_sip_messages_sent_total', { leg, kind: 'response', method: '2xx' })).toBe(2);
      expect(sample(text, 'sipway_registrar_registers_total', { status: '200' })).toBe(2);
      expect(sample(text, 'sipway_registrar_registers_total', { status: '423' })).toBe(1);
      expect(sample(text, 'sipway_registrar_bindings')).toBe(2);
      expect(sample(text, 'sipway_location_store_duration_seconds_count', { operation: 'save', outcome: 'ok' })).toBe(2);

      const health = await fetch(`${admin.url}/health`);
      expect(health.status).toBe(200);
      const report = (await health.json()) as { status: string; legs: Record<string, string>; store: { ok: boolean } };
      expect(report.status).toBe('ok');
      expect(report.legs).toEqual({ [leg]: 'listening' });
      expect(report.store.ok).toBe(true);
    } finally {
      await admin.close();
      await sip.close();
    }
  });

  it('counts a datagram that is not SIP as a leg error', async () => {
    const sip = await udpRegistrar();
    try {
      sip.client.send('this is not SIP\r\n\r\n', sip.leg.port, '127.0.0.1');
      const leg = `udp:127.0.0.1:${sip.leg.port}`;
      let text = '';
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline) {
        text = await sip.metrics.text();
        if (sample(text, 'sipway_leg_errors_total', { leg }) !== undefined) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(sample(text, 'sipway_leg_errors_total', { leg, kind: 'parse-failed' })).toBe(1);
    } finally {
      await sip.close();
    }
  });

  it('reports 503 on /health once the legs are closed', async () => {
    const sip = await udpRegistrar();
    const admin = await startAdmin({ listen: { host: '127.0.0.1', port: 0 }, metrics: sip.metrics, legs: () => sip.dispatcher.legs, registrar: sip.registrar });
    try {
      expect((await fetch(`${admin.url}/health`)).status).toBe(200);
      await sip.dispatcher.close();
      const res = await fetch(`${admin.url}/health`);
      expect(res.status).toBe(503);
      const report = (await res.json()) as { status: string; legs: Record<string, string> };
      expect(report.status).toBe('fail');
      expect(Object.values(report.legs)).toEqual(['closed']);
    } finally {
      await admin.close();
      await sip.close();
    }
  });

  it('reports 503 on /health and /bindings while the store fails, and recovers with it', async () => {
    class FlakyStore extends MemoryLocationStore {
      down = false;
      override lookup(aor: string) {
        return this.down ? Promise.reject(new LocationStoreError('connection lost')) : super.lookup(aor);
      }
      override list() {
        return this.down ? Promise.reject(new LocationStoreError('connection lost')) : super.list();
      }
    }
    const store = new FlakyStore();
    const sip = await udpRegistrar(store);
    const admin = await startAdmin({ listen: '127.0.0.1:0', metrics: sip.metrics, legs: [sip.leg], registrar: sip.registrar });
    try {
      expect(await sip.register('alice')).toBe(200);
      store.down = true;
      expect(await sip.register('alice')).toBe(503);
      const health = await fetch(`${admin.url}/health`);
      expect(health.status).toBe(503);
      expect(((await health.json()) as { store: unknown }).store).toEqual({ ok: false, error: 'connection lost' });
      expect((await fetch(`${admin.url}/bindings`)).status).toBe(503);
      const text = await (await fetch(`${admin.url}/metrics`)).text();
      expect(sample(text, 'sipway_registrar_bindings')).toBeNaN();
      expect(sample(text, 'sipway_registrar_registers_total', { status: '503', class: '5xx' })).toBe(1);
      store.down = false;
      expect((await fetch(`${admin.url}/health`)).status).toBe(200);
      expect(await sip.register('alice')).toBe(200);
    } finally {
      await admin.close();
      await sip.close();
    }
  });

  it('creates and disposes its own metrics when none are given: channels unsubscribed after close', async () => {
    const register = channel('sipway:registrar:register');
    expect(register.hasSubscribers).toBe(false);
    const admin = await startAdmin({ listen: '127.0.0.1:0' });
    expect(register.hasSubscribers).toBe(true);
    const text = await (await fetch(`${admin.url}/metrics`)).text();
    // Process metrics are on by default for the one-call wiring.
    expect(text).toContain('process_cpu_user_seconds_total');
    await Promise.all([admin.close(), admin.close()]);
    expect(admin.metrics.disposed).toBe(true);
    expect(register.hasSubscribers).toBe(false);
  });
});

describe('parseAdminAddress', () => {
  it('reads host:port, [v6]:port and a bare port (loopback)', () => {
    expect(parseAdminAddress('127.0.0.1:9060')).toEqual({ host: '127.0.0.1', port: 9060 });
    expect(parseAdminAddress('[::1]:9060')).toEqual({ host: '::1', port: 9060 });
    expect(parseAdminAddress(':9061')).toEqual({ host: '127.0.0.1', port: 9061 });
    expect(parseAdminAddress('9062')).toEqual({ host: '127.0.0.1', port: 9062 });
    expect(parseAdminAddress('0.0.0.0:0')).toEqual({ host: '0.0.0.0', port: 0 });
  });

  it('refuses names, unbracketed IPv6 and out-of-range ports', () => {
    for (const bad of ['localhost:9060', '::1:9060', '[127.0.0.1]:9060', '127.0.0.1:70000', '127.0.0.1', '', '1.2.3:9060']) {
      expect(() => parseAdminAddress(bad), bad).toThrow(/admin address/);
    }
  });
});
