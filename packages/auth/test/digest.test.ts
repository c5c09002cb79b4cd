import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { Dispatcher } from '@sipway/sip-leg';
import { DigestAuthenticator, authenticatedUser, type AuthFailedEvent } from '../src/index.js';
import { H, REALM, SECRET, challengeParams, credentials, setup, type DigestArgs } from './helpers.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function server(options: Parameters<typeof setup>[0] = {}) {
  const s = await setup(options);
  cleanup.push(() => s.close());
  return s;
}

const register = (nonce: string, over: Partial<DigestArgs> = {}): DigestArgs => ({
  alg: 'MD5',
  user: 'alice',
  password: 'wonderland',
  method: 'REGISTER',
  uri: 'sip:example.com',
  nonce,
  nc: 1,
  ...over,
});

describe('DigestAuthenticator: the challenge', () => {
  it('answers a REGISTER without credentials with 401 and two WWW-Authenticate, SHA-256 first (RFC 8760)', async () => {
    const s = await server();
    const { response, params } = await s.challenge();
    expect(response.status).toBe(401);
    expect(response.reason).toBe('Unauthorized');
    expect(response.to?.tag).toMatch(/^da[0-9a-f]{14}$/);
    expect(params.map((p) => p['algorithm'])).toEqual(['SHA-256', 'MD5']);
    for (const p of params) {
      expect(p['realm']).toBe(REALM);
      expect(p['qop']).toBe('auth');
      expect(p['stale']).toBeUndefined();
      expect(p['nonce']).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
    expect(response.hasHeader('Proxy-Authenticate')).toBe(false);
    expect(s.passed).toHaveLength(0);
  });

  it('gives each challenge a new nonce', async () => {
    const s = await server();
    const a = await s.challenge();
    const b = await s.challenge();
    expect(a.nonce).not.toBe(b.nonce);
  });

  it('offers only the configured algorithms, in the configured order, and qop only when asked', async () => {
    const s = await server({ algorithms: ['MD5'], qop: false, opaque: 'HumptyDumpty' });
    const { params } = await s.challenge();
    expect(params).toHaveLength(1);
    expect(params[0]?.['algorithm']).toBe('MD5');
    expect(params[0]?.['qop']).toBeUndefined();
    expect(params[0]?.['opaque']).toBe('HumptyDumpty');
  });
});

describe('DigestAuthenticator: answers computed independently with node:crypto', () => {
  for (const alg of ['MD5', 'SHA-256'] as const) {
    it(`accepts ${alg} with qop=auth, removes our Authorization, and lets the chain go on`, async () => {
      const s = await server();
      const { nonce } = await s.challenge();
      const ok = await s.send({ cseq: 2, headers: [['Authorization', credentials(register(nonce, { alg }))]] });
      expect(ok.status).toBe(200);
      expect(s.passed).toHaveLength(1);
      const seen = s.passed[0]!;
      expect(seen.hasHeader('Authorization')).toBe(false);
      expect(authenticatedUser(seen)).toBe('alice');
    });
  }

  it('accepts an RFC 2069 answer (no qop) once, and asks again (stale=TRUE) when the nonce is reused', async () => {
    const s = await server();
    const { nonce } = await s.challenge();
    const args = register(nonce, { nc: undefined, omitAlgorithm: true });
    expect((await s.send({ cseq: 2, headers: [['Authorization', credentials(args)]] })).status).toBe(200);
    const again = await s.send({ cseq: 3, headers: [['Authorization', credentials(args)]] });
    expect(again.status).toBe(401);
    expect(challengeParams(again.getHeader('WWW-Authenticate')!)['stale']).toBe('TRUE');
    expect(s.passed).toHaveLength(1);
  });

  it('refuses answers without qop when allowNoQop is false', async () => {
    const s = await server({ allowNoQop: false });
    const { nonce } = await s.challenge();
    const r = await s.send({ cseq: 2, headers: [['Authorization', credentials(register(nonce, { nc: undefined }))]] });
    expect(r.status).toBe(401);
    expect(s.passed).toHaveLength(0);
  });

  it('accepts SHA-512-256 when configured', async () => {
    const s = await server({ algorithms: ['SHA-512-256'] });
    const { nonce, params } = await s.challenge();
    expect(params[0]?.['algorithm']).toBe('SHA-512-256');
    const ha1 = H('SHA-512-256', `alice:${REALM}:wonderland`);
    const ha2 = H('SHA-512-256', 'REGISTER:sip:example.com');
    const response = H('SHA-512-256', `${ha1}:${nonce}:00000001:cn:auth:${ha2}`);
    const value = `Digest username="alice", realm="${REALM}", nonce="${nonce}", uri="sip:example.com", response="${response}", algorithm=SHA-512-256, qop=auth, nc=00000001, cnonce="cn"`;
    expect((await s.send({ cseq: 2, headers: [['Authorization', value]] })).status).toBe(200);
  });

  it('challenges again for an algorithm it did not offer', async () => {
    const s = await server({ algorithms: ['MD5'] });
    const { nonce } = await s.challenge();
    const r = await s.send({ cseq: 2, headers: [['Authorization', credentials(register(nonce, { alg: 'SHA-256' }))]] });
    expect(r.status).toBe(401);
  });
});

describe('DigestAuthenticator: refusals', () => {
  it('answers 403 to a wrong password after the challenge and logs a stable line', async () => {
    const s = await server();
    const events: AuthFailedEvent[] = [];
    const sub = (e: unknown) => events.push(e as AuthFailedEvent);
    subscribe('sipway:auth:failed', sub);
    cleanup.push(async () => void unsubscribe('sipway:auth:failed', sub));
    const { nonce } = await s.challenge();
    const r = await s.send({ cseq: 2, headers: [['Authorization', credentials(register(nonce, { password: 'guess' }))]] });
    expect(r.status).toBe(403);
    expect(r.hasHeader('WWW-Authenticate')).toBe(false);
    expect(s.passed).toHaveLength(0);
    expect(s.lines).toEqual(['sipway auth-failed source=10.0.0.2 port=5060 reason=bad-password method=REGISTER user="alice"']);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'auth-failed', reason: 'bad-password', user: 'alice', status: 403, realm: REALM });
  });

  it('answers 403 to an unknown user, and quotes the peer-chosen name safely in the log', async () => {
    const s = await server();
    const { nonce } = await s.challenge();
    const r = await s.send({ cseq: 2, headers: [['Authorization', credentials(register(nonce, { user: 'mallory\\" source=1.2.3.4' }))]] });
    expect(r.status).toBe(403);
    expect(s.lines).toEqual(['sipway auth-failed source=10.0.0.2 port=5060 reason=unknown-user method=REGISTER user="mallory\\" source=1.2.3.4"']);
  });

  it('answers a stale nonce with a new challenge carrying stale=TRUE, and the new nonce works', async () => {
    const s = await server({ nonceTtl: 60 });
    const { nonce } = await s.challenge();
    s.advance(61);
    const r = await s.send({ cseq: 2, headers: [['Authorization', credentials(register(nonce))]] });
    expect(r.status).toBe(401);
    const params = r.getHeaders('WWW-Authenticate').map(challengeParams);
    expect(params.map((p) => p['stale'])).toEqual(['TRUE', 'TRUE']);
    const fresh = params[0]?.['nonce'] as string;
    expect(fresh).not.toBe(nonce);
    expect((await s.send({ cseq: 3, headers: [['Authorization', credentials(register(fresh))]] })).status).toBe(200);
  });

  it('does not call a wrong password on an expired nonce stale: plain challenge', async () => {
    const s = await server({ nonceTtl: 60 });
    const { nonce } = await s.challenge();
    s.advance(61);
    const r = await s.send({ cseq: 2, headers: [['Authorization', credentials(register(nonce, { password: 'nope' }))]] });
    expect(r.status).toBe(401);
    expect(challengeParams(r.getHeader('WWW-Authenticate')!)['stale']).toBeUndefined();
  });

  it('refuses a replayed nonce+nc, accepts a higher nc, refuses a lower one', async () => {
    const s = await server();
    const { nonce } = await s.challenge();
    const first = credentials(register(nonce, { nc: 1 }));
    expect((await s.send({ cseq: 2, headers: [['Authorization', first]] })).status).toBe(200);
    const replay = await s.send({ cseq: 3, headers: [['Authorization', first]] });
    expect(replay.status).toBe(401);
    expect(challengeParams(replay.getHeader('WWW-Authenticate')!)['stale']).toBe('TRUE');
    expect(s.lines).toEqual(['sipway auth-failed source=10.0.0.2 port=5060 reason=replay method=REGISTER user="alice"']);
    expect((await s.send({ cseq: 4, headers: [['Authorization', credentials(register(nonce, { nc: 3 }))]] })).status).toBe(200);
    expect((await s.send({ cseq: 5, headers: [['Authorization', credentials(register(nonce, { nc: 2 }))]] })).status).toBe(401);
    expect(s.passed).toHaveLength(2);
  });

  it('does not let a wrong answer spend a nonce count (lockout off)', async () => {
    const s = await server({ lockout: false });
    const { nonce } = await s.challenge();
    expect((await s.send({ cseq: 2, headers: [['Authorization', credentials(register(nonce, { password: 'x' }))]] })).status).toBe(403);
    expect((await s.send({ cseq: 3, headers: [['Authorization', credentials(register(nonce))]] })).status).toBe(200);
  });

  it('burns a nonce after a wrong answer (lockout on): the next answer on it gets stale=TRUE unchecked, a fresh nonce works', async () => {
    const s = await server();
    const { nonce } = await s.challenge();
    expect((await s.send({ cseq: 2, headers: [['Authorization', credentials(register(nonce, { password: 'x' }))]] })).status).toBe(403);
    for (const password of ['wonderland', 'y']) {
      const again = await s.send({ cseq: 3, headers: [['Authorization', credentials(register(nonce, { password }))]] });
      expect(again.status).toBe(401);
      expect(challengeParams(again.getHeader('WWW-Authenticate')!)['stale']).toBe('TRUE');
    }
    const fresh = await s.challenge();
    expect((await s.send({ cseq: 4, headers: [['Authorization', credentials(register(fresh.nonce))]] })).status).toBe(200);
  });

  it('treats a nonce from another secret as stale when the digest is right, and shares nonces across a cluster secret', async () => {
    const s = await server();
    const other = await setup({ nonceSecret: 'another-secret-entirely-0123456789' });
    cleanup.push(() => other.close());
    const { nonce: foreign } = await other.challenge();
    const r = await s.send({ cseq: 2, headers: [['Authorization', credentials(register(foreign))]] });
    expect(r.status).toBe(401);
    expect(challengeParams(r.getHeader('WWW-Authenticate')!)['stale']).toBe('TRUE');
    // A second node with the same secret accepts nonces the first issued.
    const twin = await setup({ nonceSecret: SECRET });
    cleanup.push(() => twin.close());
    const { nonce } = await s.challenge();
    expect((await twin.send({ cseq: 3, headers: [['Authorization', credentials(register(nonce))]] })).status).toBe(200);
  });

  it('answers a nonce that is not ours with stale=TRUE without checking the password (no oracle)', async () => {
    const s = await server();
    const other = await setup({ nonceSecret: 'another-secret-entirely-0123456789' });
    cleanup.push(() => other.close());
    const { nonce: foreign } = await other.challenge();
    for (const password of ['wonderland', 'wrong']) {
      const r = await s.send({ cseq: 2, headers: [['Authorization', credentials(register(foreign, { password }))]] });
      expect(r.status).toBe(401);
      expect(challengeParams(r.getHeader('WWW-Authenticate')!)['stale']).toBe('TRUE');
    }
    expect(s.lines).toEqual([]);
  });

  it('refuses a tampered nonce (bit flipped) with a plain challenge when the digest does not match', async () => {
    const s = await server();
    const { nonce } = await s.challenge();
    const tampered = `${nonce.slice(0, 5)}${nonce[5] === 'A' ? 'B' : 'A'}${nonce.slice(6)}`;
    const r = await s.send({ cseq: 2, headers: [['Authorization', credentials(register(nonce), credentials(register(tampered)).match(/response="([^"]+)"/)![1])]] });
    // The response was computed over the tampered nonce but sent with the real one: wrong digest, fresh nonce → 403.
    expect(r.status).toBe(403);
    const r2 = await s.send({ cseq: 3, headers: [['Authorization', credentials(register(tampered))]] });
    expect(r2.status).toBe(401);
    expect(challengeParams(r2.getHeader('WWW-Authenticate')!)['stale']).toBe('TRUE');
  });

  it('answers 400 when the digest uri is not the Request-URI, or a required parameter is missing', async () => {
    const s = await server();
    const { nonce } = await s.challenge();
    const wrongUri = await s.send({ cseq: 2, headers: [['Authorization', credentials(register(nonce, { uri: 'sip:elsewhere.org' }))]] });
    expect(wrongUri.status).toBe(400);
    const noResponse = await s.send({ cseq: 3, headers: [['Authorization', `Digest username="alice", realm="${REALM}", nonce="${nonce}", uri="sip:example.com"`]] });
    expect(noResponse.status).toBe(400);
    const badNc = await s.send({ cseq: 4, headers: [['Authorization', credentials(register(nonce)).replace('nc=00000001', 'nc=1')]] });
    expect(badNc.status).toBe(400);
  });

  it('accepts a Request-URI that is equal per RFC 3261 §19.1.4 but written differently', async () => {
    const s = await server();
    const { nonce } = await s.challenge({ uri: 'sip:EXAMPLE.com' });
    const r = await s.send({ uri: 'sip:EXAMPLE.com', cseq: 2, headers: [['Authorization', credentials(register(nonce, { uri: 'sip:example.com' }))]] });
    expect(r.status).toBe(200);
  });

  it('requires our opaque back when one is configured', async () => {
    const s = await server({ opaque: 'HumptyDumpty' });
    const { nonce } = await s.challenge();
    expect((await s.send({ cseq: 2, headers: [['Authorization', credentials(register(nonce))]] })).status).toBe(401);
    expect((await s.send({ cseq: 3, headers: [['Authorization', credentials(register(nonce, { opaque: 'HumptyDumpty' }))]] })).status).toBe(200);
  });

  it('answers 403 when authorize() says no, after a right password', async () => {
    const s = await server({ authorize: (user, request) => request.to?.uri.includes(`sip:${user}@`) ?? false });
    const { nonce } = await s.challenge({ to: 'sip:bob@example.com' });
    const r = await s.send({ to: 'sip:bob@example.com', cseq: 2, headers: [['Authorization', credentials(register(nonce))]] });
    expect(r.status).toBe(403);
    expect(s.lines[0]).toContain('reason=forbidden');
  });
});

describe('DigestAuthenticator: RFC 3261 §22 cases', () => {
  it('never accepts Basic credentials (RFC 3261 §22.1 deprecates Basic): challenges instead', async () => {
    const s = await server();
    const r = await s.send({ headers: [['Authorization', `Basic ${Buffer.from('alice:wonderland').toString('base64')}`]] });
    expect(r.status).toBe(401);
    expect(s.passed).toHaveLength(0);
  });

  it('treats a realm that differs only in case as another realm (realm is a case-sensitive quoted string)', async () => {
    const s = await server();
    const { nonce } = await s.challenge();
    const r = await s.send({ cseq: 2, headers: [['Authorization', credentials(register(nonce, { realm: 'EXAMPLE.COM' }))]] });
    expect(r.status).toBe(401);
  });

  it('picks our credentials among several Authorization headers and keeps the others', async () => {
    const s = await server();
    const { nonce } = await s.challenge();
    const other = 'Digest username="alice", realm="other.org", nonce="x", uri="sip:example.com", response="0123456789abcdef0123456789abcdef"';
    const r = await s.send({ cseq: 2, headers: [['Authorization', other], ['Authorization', credentials(register(nonce))]] });
    expect(r.status).toBe(200);
    expect(s.passed[0]?.getHeaders('Authorization')).toEqual([other]);
  });

  it('accepts an upper-case hex response and a lower-case algorithm token', async () => {
    const s = await server();
    const { nonce } = await s.challenge();
    const args = register(nonce, { alg: 'SHA-256' });
    const value = credentials(args).replace(/response="([0-9a-f]+)"/, (_m, hex: string) => `response="${hex.toUpperCase()}"`).replace('algorithm=SHA-256', 'algorithm=sha-256');
    expect((await s.send({ cseq: 2, headers: [['Authorization', value]] })).status).toBe(200);
  });

  it('reproduces Net::SIP t/08: realm, opaque, user2a1 and a user2pass callback, and noauth@ contacts skipping the chain', async () => {
    const realm = 'REALM.example.com';
    const asked: string[] = [];
    const s = await server({
      realm,
      opaque: 'HumptyDumpty',
      users: undefined,
      ha1: { '007': H('MD5', `007:${realm}:secret`) },
      lookup: (user, r) => {
        asked.push(r);
        return user === 'wolf' ? 'lobo' : undefined;
      },
      filter: (request) => !request.getHeaders('Contact').some((c) => c.includes('noauth@')),
    });
    for (const [user, password] of [['wolf', 'lobo'], ['007', 'secret']] as const) {
      const c = await s.challenge();
      expect(c.response.status).toBe(401);
      expect(c.params[0]?.['realm']).toBe(realm);
      const value = credentials(register(c.nonce, { user, password, realm, opaque: 'HumptyDumpty' }));
      expect((await s.send({ cseq: 2, headers: [['Authorization', value]] })).status).toBe(200);
    }
    expect(asked).toEqual([realm]);
    expect((await s.send({ cseq: 3, headers: [['Contact', '<sip:noauth@10.0.0.2>']] })).status).toBe(200);
    expect(s.passed.map((m) => authenticatedUser(m))).toEqual(['wolf', '007', undefined]);
  });

  it('puts stale=TRUE into Proxy-Authenticate too (proxy role)', async () => {
    const s = await server({ role: 'proxy', nonceTtl: 10 });
    const { nonce } = await s.challenge({ method: 'INVITE', uri: 'sip:bob@example.com' });
    s.advance(11);
    const creds = credentials({ ...register(nonce), method: 'INVITE', uri: 'sip:bob@example.com' });
    const r = await s.send({ method: 'INVITE', uri: 'sip:bob@example.com', cseq: 2, headers: [['Proxy-Authorization', creds]] });
    expect(r.status).toBe(407);
    expect(r.getHeaders('Proxy-Authenticate').map((v) => challengeParams(v)['stale'])).toEqual(['TRUE', 'TRUE']);
  });
});

describe('DigestAuthenticator: users', () => {
  it('takes precomputed HA1 (a string is MD5, Net::SIP user2a1) and per-algorithm HA1', async () => {
    const s = await server({
      users: {},
      ha1: { '007': H('MD5', `007:${REALM}:secret`), bob: { 'SHA-256': H('SHA-256', `bob:${REALM}:builder`) } },
    });
    let c = await s.challenge();
    expect((await s.send({ cseq: 2, headers: [['Authorization', credentials(register(c.nonce, { user: '007', password: 'secret' }))]] })).status).toBe(200);
    c = await s.challenge();
    const bob = register(c.nonce, { user: 'bob', password: 'builder', alg: 'SHA-256' });
    expect((await s.send({ cseq: 3, headers: [['Authorization', credentials(bob)]] })).status).toBe(200);
    // No MD5 HA1 for bob: an MD5 answer cannot be checked and counts as wrong.
    c = await s.challenge();
    expect((await s.send({ cseq: 4, headers: [['Authorization', credentials(register(c.nonce, { user: 'bob', password: 'builder' }))]] })).status).toBe(403);
  });

  it('asks an async lookup with the realm, and answers 503 with Retry-After when it fails', async () => {
    const asked: string[] = [];
    let fail = false;
    const s = await server({
      users: undefined,
      lookup: async (user, realm) => {
        asked.push(`${user}@${realm}`);
        if (fail) throw new Error('database down');
        return user === 'wolf' ? { password: 'lobo' } : undefined;
      },
    });
    const { nonce } = await s.challenge();
    expect((await s.send({ cseq: 2, headers: [['Authorization', credentials(register(nonce, { user: 'wolf', password: 'lobo' }))]] })).status).toBe(200);
    expect(asked).toEqual([`wolf@${REALM}`]);
    fail = true;
    const r = await s.send({ cseq: 3, headers: [['Authorization', credentials(register(nonce, { user: 'wolf', password: 'lobo', nc: 2 }))]] });
    expect(r.status).toBe(503);
    expect(r.getHeader('Retry-After')).toBe('5');
  });
});

describe('DigestAuthenticator: what is not challenged', () => {
  it('lets requests the filter rejects pass without a challenge (Net::SIP t/08 noauth@)', async () => {
    const s = await server({ filter: (request) => !request.getHeaders('Contact').some((c) => c.includes('noauth@')) });
    const r = await s.send({ headers: [['Contact', '<sip:noauth@10.0.0.2>']] });
    expect(r.status).toBe(200);
    expect((await s.send({ cseq: 2 })).status).toBe(401);
  });

  it('only authenticates the configured methods', async () => {
    const s = await server({ methods: ['REGISTER'] });
    expect((await s.send({ method: 'OPTIONS', uri: 'sip:example.com' })).status).toBe(200);
    expect((await s.send({ method: 'REGISTER', cseq: 2 })).status).toBe(401);
  });

  it('never challenges ACK or CANCEL (RFC 3261 §22.1): they go on down the chain', async () => {
    const s = await server();
    await s.sendOnly(requestText2('CANCEL'));
    await s.sendOnly(requestText2('ACK', 'callee-tag'));
    expect(s.passed.map((m) => m.method)).toEqual(['CANCEL', 'ACK']);
    expect(s.responses.filter((r) => r.status === 401 || r.status === 407)).toHaveLength(0);
  });

  it('swallows the ACK of its own 401 (the To tag is ours)', async () => {
    const s = await server();
    const { response } = await s.challenge({ method: 'INVITE', uri: 'sip:bob@example.com', cseq: 7, callId: 'inv-1' });
    await s.sendOnly(requestText2('ACK', response.to?.tag, { cseq: 7, callId: 'inv-1' }));
    expect(s.passed).toHaveLength(0);
  });
});

describe('DigestAuthenticator: proxy role', () => {
  it('answers 407 with Proxy-Authenticate, takes Proxy-Authorization, removes only our realm', async () => {
    const s = await server({ role: 'proxy' });
    const invite = { method: 'INVITE', uri: 'sip:bob@example.com' };
    const { response, nonce } = await s.challenge({ ...invite, callId: 'p1' });
    expect(response.status).toBe(407);
    expect(response.reason).toBe('Proxy Authentication Required');
    expect(response.getHeaders('Proxy-Authenticate').map((v) => challengeParams(v)['algorithm'])).toEqual(['SHA-256', 'MD5']);
    expect(response.hasHeader('WWW-Authenticate')).toBe(false);
    const other = 'Digest username="alice", realm="downstream.org", nonce="n", uri="sip:bob@example.com", response="00000000000000000000000000000000"';
    const mine = credentials({ ...register(nonce), method: 'INVITE', uri: 'sip:bob@example.com' });
    const r = await s.send({ ...invite, callId: 'p1', cseq: 2, headers: [['Proxy-Authorization', other], ['Proxy-Authorization', mine]] });
    expect(r.status).toBe(200);
    const seen = s.passed[0]!;
    expect(seen.getHeaders('Proxy-Authorization')).toEqual([other]);
  });

  it('still uses 401/Authorization for REGISTER', async () => {
    const s = await server({ role: 'proxy' });
    const { response, nonce } = await s.challenge();
    expect(response.status).toBe(401);
    expect((await s.send({ cseq: 2, headers: [['Authorization', credentials(register(nonce))]] })).status).toBe(200);
  });

  it('ignores Authorization for a proxied request (the credentials belong to the UAS)', async () => {
    const s = await server({ role: 'proxy' });
    const { nonce } = await s.challenge({ method: 'MESSAGE', uri: 'sip:bob@example.com' });
    const creds = credentials({ ...register(nonce), method: 'MESSAGE', uri: 'sip:bob@example.com' });
    expect((await s.send({ method: 'MESSAGE', uri: 'sip:bob@example.com', cseq: 2, headers: [['Authorization', creds]] })).status).toBe(407);
  });
});

describe('DigestAuthenticator: options', () => {
  const dispatcher = new Dispatcher();
  it('refuses unknown keys, missing users, bad algorithms, a short secret, a bad HA1', () => {
    const base = { dispatcher, realm: REALM, users: { a: 'b' }, nonceSecret: SECRET };
    const bad: Array<Record<string, unknown>> = [
      { ...base, relm: 'x' },
      { dispatcher, realm: REALM, nonceSecret: SECRET },
      { ...base, realm: '' },
      { ...base, algorithms: [] },
      { ...base, algorithms: ['MD5', 'MD5'] },
      { ...base, algorithms: ['SHA-1'] },
      { ...base, nonceSecret: 'short' },
      { ...base, nonceTtl: 0 },
      { ...base, role: 'uas' },
      { ...base, ha1: { a: 'xyz' } },
    ];
    for (const options of bad) {
      let error: unknown;
      try {
        new DigestAuthenticator(options as never);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(Object.keys(options))).toBeInstanceOf(Error);
      expect((error as { code?: string }).code).toBe('AUTH_INVALID_OPTIONS');
    }
  });

  it('reports where the nonce secret came from: option, SIPWAY_NONCE_SECRET, or a warned random fallback', () => {
    const warnings: string[] = [];
    const logger = { warn: (_f: Record<string, unknown>, m: string) => warnings.push(m) };
    expect(new DigestAuthenticator({ dispatcher, realm: REALM, users: {}, nonceSecret: SECRET, logger }).nonceSecretSource).toBe('option');
    const saved = process.env['SIPWAY_NONCE_SECRET'];
    try {
      process.env['SIPWAY_NONCE_SECRET'] = SECRET;
      expect(new DigestAuthenticator({ dispatcher, realm: REALM, users: {}, logger }).nonceSecretSource).toBe('env');
      delete process.env['SIPWAY_NONCE_SECRET'];
      expect(new DigestAuthenticator({ dispatcher, realm: REALM, users: {}, logger }).nonceSecretSource).toBe('random');
    } finally {
      if (saved === undefined) delete process.env['SIPWAY_NONCE_SECRET'];
      else process.env['SIPWAY_NONCE_SECRET'] = saved;
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('random');
  });
});

function requestText2(method: 'ACK' | 'CANCEL', toTag?: string, o: { cseq?: number; callId?: string } = {}): string {
  return [
    `${method} sip:bob@example.com SIP/2.0`,
    `Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-${method}-${Math.random().toString(16).slice(2)}`,
    'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=from1',
    `To: <sip:bob@example.com>${toTag === undefined ? '' : `;tag=${toTag}`}`,
    `Call-ID: ${o.callId ?? 'ack-cancel@10.0.0.2'}`,
    `CSeq: ${o.cseq ?? 1} ${method}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}
