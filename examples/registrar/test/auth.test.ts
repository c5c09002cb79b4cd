import { afterEach, describe, expect, it } from 'vitest';
import { adminGet, cleanup, digestAuthorization, headerValues, sample, sipp, startRegistrar, statusOf, udpClient } from './helpers.js';

afterEach(cleanup);

const SECRET = 'registrar-e2e-nonce-secret-0123456789';

describe('sipway-registrar with digest authentication', () => {
  it('lets sipp register with [authentication] (MD5 offered first) and answers a wrong password with 403', async () => {
    const reg = await startRegistrar([
      '--leg', 'udp:127.0.0.1:0', '--domain', 'example.com', '--admin', '127.0.0.1:0',
      '--auth-user', 'alice:s3cret:with:colons', '--auth-user', 'bob:hunter2',
      // sipp 3.6.1 does MD5 only and reads only the first challenge (see the README).
      '--auth-algorithms', 'MD5,SHA-256', '--nonce-secret', SECRET,
    ]);
    const leg = reg.legs[0]!;
    const ok = await sipp({ scenario: 'register-auth.xml', remote: leg, service: 'alice', extra: ['-au', 'alice', '-ap', 's3cret:with:colons', '-auth_uri', 'example.com'] });
    expect(ok.code, ok.output + ok.errors).toBe(0);
    const challenge = ok.received.find((m) => statusOf(m) === 401)!;
    expect(headerValues(challenge, 'WWW-Authenticate').map((c) => /algorithm=([\w-]+)/.exec(c)?.[1])).toEqual(['MD5', 'SHA-256']);

    const bad = await sipp({ scenario: 'register-auth-403.xml', remote: leg, service: 'bob', extra: ['-au', 'bob', '-ap', 'wrong', '-auth_uri', 'example.com'] });
    expect(bad.code, bad.output + bad.errors).toBe(0);

    const bindings = (await adminGet(reg.admin!, '/bindings')).json as Array<{ aor: string }>;
    expect(bindings.map((r) => r.aor)).toEqual(['sip:alice@example.com']);
    const metrics = (await adminGet(reg.admin!, '/metrics')).text;
    expect(sample(metrics, 'sipway_auth_challenges_total', { status: '401', stale: 'false' })).toBe(2);
    expect(sample(metrics, 'sipway_auth_authorized_total', { algorithm: 'MD5' })).toBe(1);
    expect(sample(metrics, 'sipway_auth_failures_total', { reason: 'bad-password', status: '403' })).toBe(1);
    expect(sample(metrics, 'sipway_registrar_registers_total', { status: '200' })).toBe(1);
    // The fail2ban line for the wrong password.
    expect(reg.output()).toMatch(/sipway auth-failed source=127\.0\.0\.1 port=\d+ reason=bad-password method=REGISTER user=\\"bob\\"/);
    expect(await reg.stop()).toBe(0);
  });

  it('offers SHA-256 first by default and accepts a SHA-256 answer; a replayed answer is refused', async () => {
    const reg = await startRegistrar(['--leg', 'udp:127.0.0.1:0', '--domain', 'example.com', '--auth-user', 'carol:pa55', '--nonce-secret', SECRET]);
    const leg = reg.legs[0]!;
    const client = await udpClient();
    try {
      const first = await client.request(leg, { user: 'carol', expires: 120, callId: 'sha-1', cseq: 1 });
      expect(statusOf(first)).toBe(401);
      const challenges = headerValues(first, 'WWW-Authenticate');
      expect(challenges.map((c) => /algorithm=([\w-]+)/.exec(c)?.[1])).toEqual(['SHA-256', 'MD5']);
      const authorization = digestAuthorization(challenges[0]!, { algorithm: 'SHA-256', user: 'carol', password: 'pa55', method: 'REGISTER', uri: 'sip:example.com' });
      const second = await client.request(leg, { user: 'carol', expires: 120, callId: 'sha-1', cseq: 2, headers: [authorization] });
      expect(statusOf(second)).toBe(200);
      // The same nonce count again (a replay of the answer, RFC 7616 §5.12): not accepted.
      const replay = await client.request(leg, { user: 'carol', expires: 120, callId: 'sha-1', cseq: 3, headers: [authorization] });
      expect(statusOf(replay)).toBe(401);
      expect(headerValues(replay, 'WWW-Authenticate').join(',')).toMatch(/stale=TRUE/i);
    } finally {
      client.close();
    }
    expect(await reg.stop()).toBe(0);
  });

  it('rate-limits per source address with 503 and Retry-After, and logs the block', async () => {
    const reg = await startRegistrar(['--leg', 'udp:127.0.0.1:0', '--domain', 'example.com', '--rate-limit', '3/60']);
    const client = await udpClient();
    try {
      for (let i = 0; i < 3; i++) expect(statusOf(await client.request(reg.legs[0]!, { user: 'dave', expires: 120 }))).toBe(200);
      const limited = await client.request(reg.legs[0]!, { user: 'dave', expires: 120 });
      expect(statusOf(limited)).toBe(503);
      expect(Number(headerValues(limited, 'Retry-After')[0])).toBeGreaterThan(0);
      expect(reg.output()).toMatch(/sipway blocked source=127\.0\.0\.1 port=\d+ reason=rate-limit method=REGISTER/);
    } finally {
      client.close();
    }
    expect(await reg.stop()).toBe(0);
  });
});
