import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminGet, cleanup, headerValues, sample, sipp, startRegistrar, statusOf, udpClient, until } from './helpers.js';
import { startRedisServer } from '@sipway/test-peers';
import type { RedisServer } from '@sipway/test-peers';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.destroy();
});
afterEach(cleanup);

type Records = Array<{ aor: string; bindings: Array<{ contact: string }> }>;

function registrarArgs(db: number): string[] {
  return ['--leg', 'udp:127.0.0.1:0', '--domain', 'example.com', '--store', redis.url(db), '--admin', '127.0.0.1:0'];
}

describe('sipway-registrar with the Redis store', () => {
  it('shares bindings between two registrars on one Redis', async () => {
    const a = await startRegistrar(registrarArgs(1));
    const b = await startRegistrar(registrarArgs(1));
    const run = await sipp({ scenario: 'register.xml', remote: a.legs[0]!, service: 'alice' });
    expect(run.code, run.output + run.errors).toBe(0);

    const seenByB = (await adminGet(b.admin!, '/bindings')).json as Records;
    expect(seenByB.map((r) => r.aor)).toEqual(['sip:alice@example.com']);
    const client = await udpClient();
    try {
      // Asked through B, the registrar that never saw the REGISTER.
      const query = await client.request(b.legs[0]!, { user: 'alice', contact: null });
      expect(statusOf(query)).toBe(200);
      expect(headerValues(query, 'Contact').join(',')).toMatch(/^<sip:alice@127\.0\.0\.1:\d+;transport=udp>;expires=\d+$/i);
      // And a binding added through B is seen by A.
      expect(statusOf(await client.request(b.legs[0]!, { user: 'bob', expires: 120 }))).toBe(200);
      const seenByA = (await adminGet(a.admin!, '/bindings')).json as Records;
      expect(seenByA.map((r) => r.aor).sort()).toEqual(['sip:alice@example.com', 'sip:bob@example.com']);
    } finally {
      client.close();
    }
    const metricsB = (await adminGet(b.admin!, '/metrics')).text;
    expect(sample(metricsB, 'sipway_registrar_bindings')).toBe(2);
    expect(sample(metricsB, 'sipway_location_store_duration_seconds_count', { operation: 'save', outcome: 'ok' })).toBe(1);
    expect(await a.stop()).toBe(0);
    expect(await b.stop()).toBe(0);
  });

  it('answers 503 with Retry-After and reports 503 on /health while Redis is down, then recovers', async () => {
    const reg = await startRegistrar(registrarArgs(2));
    const client = await udpClient();
    try {
      expect(statusOf(await client.request(reg.legs[0]!, { user: 'carol', expires: 120 }))).toBe(200);
      expect((await adminGet(reg.admin!, '/health')).status).toBe(200);

      await redis.stop('SIGKILL');
      const refused = await client.request(reg.legs[0]!, { user: 'carol', expires: 120 });
      expect(statusOf(refused)).toBe(503);
      expect(headerValues(refused, 'Retry-After')).toEqual([expect.stringMatching(/^\d+$/)]);
      const health = await adminGet(reg.admin!, '/health');
      expect(health.status).toBe(503);
      expect(health.json).toMatchObject({ status: 'fail', store: { ok: false } });
      expect((await adminGet(reg.admin!, '/bindings')).status).toBe(503);
      const metrics = (await adminGet(reg.admin!, '/metrics')).text;
      expect(sample(metrics, 'sipway_registrar_registers_total', { status: '503' })).toBe(1);
      expect(sample(metrics, 'sipway_registrar_bindings')).toBeNaN();
      expect(sample(metrics, 'sipway_location_store_duration_seconds_count', { operation: 'lookup', outcome: 'error' })).toBeGreaterThanOrEqual(1);

      // The process survived the outage; Redis returns (empty: it had no persistence).
      await redis.start();
      await until(async () => (await adminGet(reg.admin!, '/health')).status === 200, 15_000, '/health 200 after Redis returned');
      expect(statusOf(await client.request(reg.legs[0]!, { user: 'carol', expires: 120 }))).toBe(200);
      const records = (await adminGet(reg.admin!, '/bindings')).json as Records;
      expect(records.map((r) => r.aor)).toEqual(['sip:carol@example.com']);
    } finally {
      client.close();
      await redis.start();
    }
    expect(await reg.stop()).toBe(0);
  });
});
