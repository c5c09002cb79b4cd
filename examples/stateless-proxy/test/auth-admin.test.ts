import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, find, freePort, headerValues, sipp, startLine, startProxy } from './helpers.js';
import { adminGet, header, sample, statusOf, udpClient } from './ops-helpers.js';

afterEach(cleanup);

const SECRET = 'proxy-e2e-nonce-secret-0123456789';

describe('--auth-user (digest authentication, role proxy)', () => {
  it('sipp registers with [authentication]; a wrong password gets 403; an INVITE without credentials gets 407', async () => {
    const proxy = await startProxy(
      [
        '--leg', 'udp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--admin', '127.0.0.1:0', '--log-level', 'warn',
        '--auth-user', 'alice:s3cret:with:colons', '--auth-user', 'bob:hunter2',
        // sipp 3.6 answers only the first challenge, and only MD5 ones.
        '--auth-algorithms', 'MD5,SHA-256', '--nonce-secret', SECRET,
      ],
      1,
    );
    const remote = `127.0.0.1:${proxy.legs[0]!.port}`;
    const ok = await sipp({
      scenario: 'register-auth.xml', remote, local: '127.0.0.1', port: await freePort(), transport: 'udp',
      extra: ['-s', 'alice', '-au', 'alice', '-ap', 's3cret:with:colons', '-auth_uri', 'example.com'],
    }).done;
    expect(ok.code, ok.errors + ok.output.slice(-1000)).toBe(0);
    // REGISTER is challenged as at a registrar (RFC 3261 §22.2): 401 with WWW-Authenticate, one per algorithm.
    const [challenge] = find(ok.received, /^SIP\/2\.0 401/);
    expect(headerValues(challenge!, 'WWW-Authenticate').map((c) => /algorithm=([\w-]+)/.exec(c)?.[1])).toEqual(['MD5', 'SHA-256']);

    const bad = await sipp({
      scenario: 'register-auth-403.xml', remote, local: '127.0.0.1', port: await freePort(), transport: 'udp',
      extra: ['-s', 'bob', '-au', 'bob', '-ap', 'wrong', '-auth_uri', 'example.com'],
    }).done;
    expect(bad.code, bad.errors + bad.output.slice(-1000)).toBe(0);
    expect(find(bad.received, /^SIP\/2\.0 403/)).toHaveLength(1);

    const invite = await sipp({
      scenario: 'uac-407.xml', remote, local: '127.0.0.1', port: await freePort(), transport: 'udp',
      keys: { user: 'alice', domain: 'example.com', contact_host: '127.0.0.1' },
    }).done;
    expect(invite.code, invite.errors + invite.output.slice(-1000)).toBe(0);
    // A proxied request is challenged by the proxy (RFC 3261 §22.3): 407 with Proxy-Authenticate.
    const [proxyChallenge] = find(invite.received, /^SIP\/2\.0 407/);
    expect(headerValues(proxyChallenge!, 'Proxy-Authenticate')).toHaveLength(2);
    expect(headerValues(proxyChallenge!, 'WWW-Authenticate')).toEqual([]);

    // Only alice is bound; the fail2ban line names bob's wrong password.
    const bindings = (await adminGet(proxy.admin!, '/bindings')).json as Array<{ aor: string }>;
    expect(bindings.map((r) => r.aor)).toEqual(['sip:alice@example.com']);
    expect(proxy.output()).toMatch(/sipway auth-failed source=127\.0\.0\.1 port=\d+ reason=bad-password method=REGISTER user=\\"bob\\"/);
    const metrics = (await adminGet(proxy.admin!, '/metrics')).text;
    expect(sample(metrics, 'sipway_auth_challenges_total', { status: '407', stale: 'false' })).toBe(1);
    expect(sample(metrics, 'sipway_auth_failures_total', { reason: 'bad-password', status: '403' })).toBe(1);
    expect(await proxy.stop()).toBe(0);
  });
});

describe('an authenticated call through the proxy', () => {
  it('the callee registers with credentials; the caller answers the 407; the INVITE reaches the UAS without the credentials, its 486 the caller', async () => {
    const proxy = await startProxy(
      ['--leg', 'udp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--log-level', 'warn', '--auth-user', 'alice:wonder', '--auth-user', 'bob:hunter2', '--auth-algorithms', 'MD5'],
      1,
    );
    const pp = proxy.legs[0]!.port;
    const uasPort = await freePort('127.0.0.3');
    const uas = sipp({ scenario: 'uas-busy.xml', local: '127.0.0.3', port: uasPort, transport: 'udp', timeoutS: 20, keys: { user: 'bob', contact_host: '127.0.0.3' } });
    const reg = await sipp({
      scenario: 'register-auth-uas.xml', remote: `127.0.0.1:${pp}`, local: '127.0.0.3', port: await freePort('127.0.0.3'), transport: 'udp',
      keys: { user: 'bob', domain: 'example.com', contact_host: '127.0.0.3', contact_port: uasPort },
      extra: ['-au', 'bob', '-ap', 'hunter2', '-auth_uri', 'example.com'],
    }).done;
    expect(reg.code, reg.errors + reg.output.slice(-1000)).toBe(0);
    const uac = await sipp({
      scenario: 'uac-invite-auth.xml', remote: `127.0.0.1:${pp}`, local: '127.0.0.1', port: await freePort(), transport: 'udp',
      keys: { user: 'bob', domain: 'example.com', contact_host: '127.0.0.1' },
      extra: ['-au', 'alice', '-ap', 'wonder', '-auth_uri', 'bob@example.com'],
    }).done;
    const callee = await uas.done;
    expect(uac.code, uac.errors + uac.output.slice(-1500)).toBe(0);
    expect(callee.code, callee.errors).toBe(0);
    expect(find(uac.received, /^SIP\/2\.0 407/)).toHaveLength(1);
    expect(find(uac.received, /^SIP\/2\.0 486/)).toHaveLength(1);
    const invites = find(callee.received, /^INVITE /);
    // Only the authenticated INVITE went on, to the registered contact (CSeq 2).
    expect(invites).toHaveLength(1);
    expect(startLine(invites[0]!)).toBe(`INVITE sip:bob@127.0.0.3:${uasPort};transport=UDP SIP/2.0`);
    expect(headerValues(invites[0]!, 'CSeq')).toEqual(['2 INVITE']);
    // The proxy consumed its own credentials (RFC 3261 §22.3): the callee does not see them.
    expect(headerValues(invites[0]!, 'Proxy-Authorization')).toEqual([]);
    expect(await proxy.stop()).toBe(0);
  });
});

describe('--admin host:port', () => {
  it('/health 200, /metrics with sipway_ counters after a REGISTER, /bindings with the binding', async () => {
    const proxy = await startProxy(['--leg', 'udp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--admin', '127.0.0.1:0', '--log-level', 'warn'], 1);
    const health = await adminGet(proxy.admin!, '/health');
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ status: 'ok' });

    const port = await freePort();
    const reg = await sipp({
      scenario: 'register.xml', remote: `127.0.0.1:${proxy.legs[0]!.port}`, local: '127.0.0.1', port: await freePort(), transport: 'udp',
      keys: { user: 'dave', domain: 'example.com', contact_host: '127.0.0.1', contact_port: port },
    }).done;
    expect(reg.code, reg.errors).toBe(0);

    const metrics = (await adminGet(proxy.admin!, '/metrics')).text;
    expect(sample(metrics, 'sipway_registrar_registers_total', { status: '200' })).toBe(1);
    expect(sample(metrics, 'sipway_registrar_bindings')).toBe(1);
    expect(sample(metrics, 'sipway_location_store_duration_seconds_count', { operation: 'save', outcome: 'ok' })).toBe(1);
    const leg = `udp:127.0.0.1:${proxy.legs[0]!.port}`;
    expect(sample(metrics, 'sipway_sip_messages_received_total', { leg, kind: 'request', method: 'REGISTER' })).toBe(1);
    expect(sample(metrics, 'sipway_sip_messages_sent_total', { leg, kind: 'response', method: '2xx' })).toBe(1);

    const bindings = (await adminGet(proxy.admin!, '/bindings')).json as Array<{ aor: string; bindings: Array<{ contact: string }> }>;
    expect(bindings.map((r) => r.aor)).toEqual(['sip:dave@example.com']);
    expect(bindings[0]!.bindings[0]!.contact).toBe(`sip:dave@127.0.0.1:${port};transport=UDP`);
    expect((await adminGet(proxy.admin!, '/nope')).status).toBe(404);
    expect(await proxy.stop()).toBe(0);
  });
});

describe('--rate-limit N/S', () => {
  it('answers the request over the limit with 503 and Retry-After, logs the block and counts it', async () => {
    const proxy = await startProxy(
      ['--leg', 'udp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--rate-limit', '3/60', '--admin', '127.0.0.1:0', '--log-level', 'warn'],
      1,
    );
    const client = await udpClient();
    try {
      for (let i = 0; i < 3; i++) expect(statusOf(await client.request(proxy.legs[0]!, { user: 'erin' }))).toBe(200);
      const limited = await client.request(proxy.legs[0]!, { user: 'erin' });
      expect(statusOf(limited)).toBe(503);
      expect(Number(header(limited, 'Retry-After')[0])).toBeGreaterThan(0);
    } finally {
      client.close();
    }
    expect(proxy.output()).toMatch(/sipway blocked source=127\.0\.0\.1 port=\d+ reason=rate-limit method=REGISTER/);
    const metrics = (await adminGet(proxy.admin!, '/metrics')).text;
    expect(sample(metrics, 'sipway_admission_blocked_total', { reason: 'rate-limit' })).toBe(1);
    expect(sample(metrics, 'sipway_registrar_registers_total', { status: '200' })).toBe(3);
    expect(await proxy.stop()).toBe(0);
  });
});
