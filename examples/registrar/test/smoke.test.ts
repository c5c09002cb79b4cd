import { afterEach, describe, expect, it } from 'vitest';
import { adminGet, cleanup, headerValues, sample, sipp, startRegistrar, statusOf, udpClient } from './helpers.js';

afterEach(cleanup);

type Records = Array<{ aor: string; bindings: Array<{ contact: string; source?: { transport: string } }> }>;

describe('sipway-registrar smoke test (memory store)', () => {
  it('registers sipp over UDP and TCP, shows the bindings, counts them, answers what it does not do, and exits 0', async () => {
    const reg = await startRegistrar(['--leg', 'udp:127.0.0.1:0', '--leg', 'tcp:127.0.0.1:0', '--domain', 'example.com', '--admin', '127.0.0.1:0']);
    const [udp, tcp] = reg.legs as [(typeof reg.legs)[0], (typeof reg.legs)[0]];
    const admin = reg.admin!;

    const overUdp = await sipp({ scenario: 'register.xml', remote: udp, service: 'alice' });
    expect(overUdp.code, overUdp.output + overUdp.errors).toBe(0);
    const overTcp = await sipp({ scenario: 'register.xml', remote: tcp, service: 'bob', transport: 'tcp' });
    expect(overTcp.code, overTcp.output + overTcp.errors).toBe(0);

    const bindings = await adminGet(admin, '/bindings');
    expect(bindings.status).toBe(200);
    const records = bindings.json as Records;
    expect(records.map((r) => r.aor).sort()).toEqual(['sip:alice@example.com', 'sip:bob@example.com']);
    expect(records.find((r) => r.aor === 'sip:bob@example.com')?.bindings[0]?.source?.transport).toBe('tcp');

    const client = await udpClient();
    try {
      // A REGISTER without Contact is a query: the 200 lists the bindings (RFC 3261 §10.3 step 8).
      const query = await client.request(udp, { user: 'alice', contact: null });
      expect(statusOf(query)).toBe(200);
      expect(headerValues(query, 'Contact').join(',')).toMatch(/<sip:alice@127\.0\.0\.1:\d+;transport=udp>;expires=\d+/i);
      const options = await client.request(udp, { method: 'OPTIONS' });
      expect(statusOf(options)).toBe(200);
      expect(headerValues(options, 'Allow')).toEqual(['REGISTER, OPTIONS']);
      const invite = await client.request(udp, { method: 'INVITE', user: 'alice' });
      expect(statusOf(invite)).toBe(405);
      expect(statusOf(await client.request(udp, { domain: 'elsewhere.org' }))).toBe(404);
      expect(statusOf(await client.request(udp, { user: 'carol', expires: 5 }))).toBe(423);
    } finally {
      client.close();
    }

    const metrics = await adminGet(admin, '/metrics');
    expect(metrics.status).toBe(200);
    const leg = `udp:127.0.0.1:${udp.port}`;
    expect(sample(metrics.text, 'sipway_registrar_registers_total', { status: '200' })).toBe(3);
    expect(sample(metrics.text, 'sipway_registrar_registers_total', { status: '423' })).toBe(1);
    expect(sample(metrics.text, 'sipway_registrar_bindings')).toBe(2);
    expect(sample(metrics.text, 'sipway_sip_messages_received_total', { leg, kind: 'request', method: 'REGISTER' })).toBe(4);
    expect(sample(metrics.text, 'sipway_sip_messages_received_total', { leg: `tcp:127.0.0.1:${tcp.port}`, kind: 'request', method: 'REGISTER' })).toBe(1);
    expect(sample(metrics.text, 'sipway_sip_messages_sent_total', { leg, kind: 'response', method: '4xx' })).toBe(3);
    expect(sample(metrics.text, 'sipway_sip_responses_total', { direction: 'sent', class: '2xx' })).toBe(4);
    expect(sample(metrics.text, 'sipway_location_store_duration_seconds_count', { operation: 'save', outcome: 'ok' })).toBe(2);
    expect(sample(metrics.text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);

    const health = await adminGet(admin, '/health');
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ status: 'ok', store: { ok: true }, legs: { [leg]: 'listening', [`tcp:127.0.0.1:${tcp.port}`]: 'listening' } });
    expect((await adminGet(admin, '/nothing')).status).toBe(404);

    expect(await reg.stop('SIGTERM')).toBe(0);
    expect(reg.logs().map((l) => l.msg)).toContain('closed');
  });

  it('registers sipp over IPv6 (UDP and TCP on ::1)', async () => {
    const reg = await startRegistrar(['--leg', 'udp:[::1]:0', '--leg', 'tcp:[::1]:0', '--domain', 'example.com', '--admin', '[::1]:0']);
    expect(reg.admin).toMatch(/^http:\/\/\[::1\]:\d+$/);
    const [udp, tcp] = reg.legs as [(typeof reg.legs)[0], (typeof reg.legs)[0]];
    const overUdp = await sipp({ scenario: 'register.xml', remote: udp, service: 'alice' });
    expect(overUdp.code, overUdp.output + overUdp.errors).toBe(0);
    const overTcp = await sipp({ scenario: 'register.xml', remote: tcp, service: 'bob', transport: 'tcp' });
    expect(overTcp.code, overTcp.output + overTcp.errors).toBe(0);
    const records = (await adminGet(reg.admin!, '/bindings')).json as Records;
    expect(records.flatMap((r) => r.bindings.map((b) => b.contact)).sort()).toEqual([
      expect.stringMatching(/^sip:alice@\[::1\]:\d+;transport=udp$/i),
      expect.stringMatching(/^sip:bob@\[::1\]:\d+;transport=tcp$/i),
    ]);
    const metrics = (await adminGet(reg.admin!, '/metrics')).text;
    expect(sample(metrics, 'sipway_sip_messages_received_total', { leg: `udp:[::1]:${udp.port}`, kind: 'request', method: 'REGISTER' })).toBe(1);
    expect(await reg.stop()).toBe(0);
  });
});
