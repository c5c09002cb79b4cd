import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, digestAuthorization, headerValues, startRegistrar, statusOf, udpClient, until } from './helpers.js';

afterEach(cleanup);

const reason = (m: string) => /^SIP\/2\.0 \d{3} ([^\r\n]*)/.exec(m)?.[1];

describe('sipway-registrar abuse limits', () => {
  it('--max-aors-per-source and --max-bindings: 403 after the cap, one sampled registrar-limit line', async () => {
    const reg = await startRegistrar(['--leg', 'udp:127.0.0.1:0', '--domain', 'example.com', '--max-aors-per-source', '3', '--max-bindings', '2', '--log-level', 'warn']);
    const leg = reg.legs[0]!;
    const client = await udpClient();
    try {
      for (const user of ['u1', 'u2', 'u3']) expect(statusOf(await client.request(leg, { user, expires: 120 }))).toBe(200);
      for (const user of ['u4', 'u5', 'u6']) {
        const refused = await client.request(leg, { user, expires: 120 });
        expect([statusOf(refused), reason(refused)]).toEqual([403, 'Too Many Registrations']);
      }
      const many = await client.request(leg, { user: 'u1', expires: 120, contact: '<sip:a@127.0.0.1:1>, <sip:b@127.0.0.1:2>, <sip:c@127.0.0.1:3>' });
      expect([statusOf(many), reason(many)]).toEqual([403, 'Too Many Bindings']);
      await until(() => /sipway registrar-limit source=127\.0\.0\.1 limit=bindings-per-aor/.test(reg.output()), 5000, 'the bindings line');
      expect(reg.output().match(/sipway registrar-limit source=127\.0\.0\.1 limit=aors-per-source refused=1 aor=\\"sip:u4@example.com\\"/g)).toHaveLength(1);
    } finally {
      client.close();
    }
    expect(await reg.stop()).toBe(0);
  });

  it('--auth-lockout source-failures=3: the fourth answer is refused unchecked and one auth-locked line is written', async () => {
    const reg = await startRegistrar([
      '--leg', 'udp:127.0.0.1:0', '--domain', 'example.com', '--auth-user', 'alice:pw', '--auth-algorithms', 'MD5', '--auth-lockout', 'source-failures=3', '--log-level', 'warn',
    ]);
    const leg = reg.legs[0]!;
    const client = await udpClient();
    const guess = async (password: string, cseq: number) => {
      const challenge = headerValues(await client.request(leg, { user: 'alice', expires: 120, callId: `g${cseq}`, cseq }), 'WWW-Authenticate')[0]!;
      const authorization = digestAuthorization(challenge, { algorithm: 'MD5', user: 'alice', password, method: 'REGISTER', uri: 'sip:example.com' });
      return client.request(leg, { user: 'alice', expires: 120, callId: `g${cseq}`, cseq: cseq + 1, headers: [authorization] });
    };
    try {
      for (let i = 0; i < 3; i++) expect(reason(await guess(`wrong${i}`, 10 * i))).toBe('Forbidden');
      const locked = await guess('pw', 100);
      expect([statusOf(locked), reason(locked)]).toEqual([403, 'Too Many Failed Attempts']);
      await until(() => /sipway auth-locked source=127\.0\.0\.1 port=\d+ scope=source seconds=60 failures=3 method=REGISTER/.test(reg.output()), 5000, 'the auth-locked line');
      expect(reg.output().match(/sipway auth-failed /g)).toHaveLength(3);
    } finally {
      client.close();
    }
    expect(await reg.stop()).toBe(0);
  });
});
