import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '@sipway/test-peers';
import { Dispatcher } from '@sipway/sip-leg';
import { parseMessage, type SipResponse } from '@sipway/sip-message';
import { DigestAuthenticator, Lockout, type AuthLockedEvent } from '../src/index.js';
import { challengeParams, credentials, requestText, setup, type DigestArgs, type RequestArgs } from './helpers.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A server whose user database counts how often a password is looked at. */
async function server(options: Parameters<typeof setup>[0] = {}) {
  let checks = 0;
  const passwords: Record<string, string> = { alice: 'wonderland', bob: 'builder' };
  const s = await setup({
    users: {},
    lookup: (user) => {
      checks++;
      return passwords[user];
    },
    ...options,
  });
  cleanup.push(() => s.close());
  const clients = new Map<string, (args: RequestArgs) => Promise<SipResponse>>();
  /** A client at another address of the in-memory network. */
  async function from(address: string) {
    const known = clients.get(address);
    if (known !== undefined) return known;
    const leg = s.net.createLeg({ address, port: 5070 });
    const responses: SipResponse[] = [];
    leg.onReceive = (m) => {
      if (!m.isRequest) responses.push(m);
    };
    await leg.start();
    cleanup.push(() => leg.close());
    const send = async (args: RequestArgs): Promise<SipResponse> => {
      const message = parseMessage(requestText({ sentBy: `${address}:5070`, ...args }));
      const branch = message.topVia?.branch;
      const sent = await leg.send(message, { transport: 'udp', address: '10.0.0.1', port: 5060, family: 4 });
      if (!sent.ok) throw new Error(sent.reason);
      await s.net.settle();
      await until(() => responses.some((r) => r.topVia?.branch === branch));
      return responses.find((r) => r.topVia?.branch === branch) as SipResponse;
    };
    clients.set(address, send);
    return send;
  }
  /** One guess: a fresh challenge, then an answer with `password`. */
  async function guess(address: string, password: string, user = 'alice'): Promise<SipResponse> {
    const send = await from(address);
    const challenge = await send({ to: `sip:${user}@example.com` });
    const nonce = challengeParams(challenge.getHeaders('WWW-Authenticate')[1]!)['nonce']!;
    return send({ to: `sip:${user}@example.com`, cseq: 2, headers: [['Authorization', credentials(answer(nonce, { user, password }))]] });
  }
  return { ...s, from, guess, checks: () => checks };
}

const answer = (nonce: string, over: Partial<DigestArgs> = {}): DigestArgs => ({
  alg: 'MD5',
  user: 'alice',
  password: 'wonderland',
  method: 'REGISTER',
  uri: 'sip:example.com',
  nonce,
  nc: 1,
  ...over,
});

describe('DigestAuthenticator lock-out: per source', () => {
  it('locks a source out after 10 wrong passwords: 403 without a password check, one auth-locked line, other sources unaffected', async () => {
    const s = await server();
    for (let i = 0; i < 10; i++) expect((await s.guess('10.0.0.66', `guess${i}`)).status).toBe(403);
    expect(s.checks()).toBe(10);
    expect(s.lines.filter((l) => l.includes('auth-locked'))).toEqual([
      'sipway auth-locked source=10.0.0.66 port=5070 scope=source seconds=60 failures=10 method=REGISTER user="alice"',
    ]);
    // Locked: even the right password is refused, and the user database is not asked.
    for (const password of ['guess10', 'wonderland']) {
      const r = await s.guess('10.0.0.66', password);
      expect(r.status).toBe(403);
      expect(r.reason).toBe('Too Many Failed Attempts');
    }
    expect(s.checks()).toBe(10);
    // The user from elsewhere still gets in.
    expect((await s.guess('10.0.0.7', 'wonderland')).status).toBe(200);
    // After the window the source may try again; the next lock-out is twice as long.
    s.advance(61);
    expect((await s.guess('10.0.0.66', 'wonderland')).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await s.guess('10.0.0.66', `again${i}`)).status).toBe(403);
    expect(s.lines.at(-2)).toMatch(/^sipway auth-locked source=10\.0\.0\.66 port=5070 scope=source seconds=120 failures=10 /);
    s.advance(61);
    expect((await s.guess('10.0.0.66', 'wonderland')).status).toBe(403);
    s.advance(60);
    expect((await s.guess('10.0.0.66', 'wonderland')).status).toBe(200);
  });

  it('counts wrong answers on an expired nonce (no free stale=TRUE oracle), not on made-up ones, and publishes sipway:auth:locked', async () => {
    const s = await server();
    const events: AuthLockedEvent[] = [];
    const listener = (e: unknown) => events.push(e as AuthLockedEvent);
    subscribe('sipway:auth:locked', listener);
    cleanup.push(async () => {
      unsubscribe('sipway:auth:locked', listener);
    });
    const send = await s.from('10.0.0.66');
    const nonces: string[] = [];
    for (let i = 0; i < 10; i++) nonces.push(challengeParams((await send({})).getHeaders('WWW-Authenticate')[1]!)['nonce']!);
    s.advance(301);
    // Made-up nonces are answered stale=TRUE unchecked and not counted.
    for (let i = 0; i < 20; i++) {
      const r = await send({ cseq: 100 + i, headers: [['Authorization', credentials(answer(`${'A'.repeat(42)}${i % 10}`, { password: `m${i}` }))]] });
      expect(challengeParams(r.getHeaders('WWW-Authenticate')[0]!)['stale']).toBe('TRUE');
    }
    for (let i = 0; i < 10; i++) {
      const r = await send({ cseq: 2 + i, headers: [['Authorization', credentials(answer(nonces[i]!, { password: `g${i}` }))]] });
      expect(r.status).toBe(401);
      expect(challengeParams(r.getHeaders('WWW-Authenticate')[0]!)['stale']).toBeUndefined();
    }
    expect(s.lines.filter((l) => l.startsWith('sipway auth-failed source=10.0.0.66 port=5070 reason=bad-password'))).toHaveLength(10);
    expect(events).toMatchObject([{ kind: 'auth-locked', scope: 'source', source: '10.0.0.66', seconds: 60, failures: 10, user: 'alice', realm: 'example.com' }]);
    const late = challengeParams((await send({ cseq: 39 })).getHeaders('WWW-Authenticate')[1]!)['nonce']!;
    const r = await send({ cseq: 40, headers: [['Authorization', credentials(answer(late))]] });
    expect(r.status).toBe(403);
  });

  it('stops checking a request full of guesses once the source is locked', async () => {
    const s = await server();
    const send = await s.from('10.0.0.66');
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < 50; i++) {
      const nonce = challengeParams((await send({ cseq: 1 })).getHeaders('WWW-Authenticate')[1]!)['nonce']!;
      headers.push(['Authorization', credentials(answer(nonce, { password: `p${i}` }))]);
    }
    const before = s.checks();
    const r = await send({ cseq: 2, headers });
    expect(r.status).toBe(403);
    expect(s.checks() - before).toBe(10);
  });

  it('never counts an allow-listed source, and lockout: false turns counting off', async () => {
    const allowed = await server({ lockout: { allow: ['10.0.0.0/24'] } });
    for (let i = 0; i < 12; i++) expect((await allowed.guess('10.0.0.66', `g${i}`)).status).toBe(403);
    expect((await allowed.guess('10.0.0.66', 'wonderland')).status).toBe(200);
    const off = await server({ lockout: false });
    for (let i = 0; i < 12; i++) expect((await off.guess('10.0.0.66', `g${i}`)).status).toBe(403);
    expect((await off.guess('10.0.0.66', 'wonderland')).status).toBe(200);
    expect(off.lines.some((l) => l.includes('auth-locked'))).toBe(false);
  });
});

describe('DigestAuthenticator lock-out: per user', () => {
  it('30 failures for one user from many sources lock that user for sources that never authenticated as it, for 30 s', async () => {
    const s = await server();
    // alice's phone has authenticated from 10.0.9.1 before the attack.
    expect((await s.guess('10.0.9.1', 'wonderland')).status).toBe(200);
    for (let i = 0; i < 30; i++) expect((await s.guess(`10.0.1.${i + 1}`, `g${i}`)).status).toBe(403);
    expect(s.lines.filter((l) => l.includes('scope=user'))).toEqual([
      'sipway auth-locked source=10.0.1.30 port=5070 scope=user seconds=30 failures=30 method=REGISTER user="alice"',
    ]);
    const checks = s.checks();
    // A new source is refused without a check, even with the right password…
    const r = await s.guess('10.0.2.1', 'wonderland');
    expect(r.status).toBe(403);
    expect(s.checks()).toBe(checks);
    // …while the phone that authenticated before still gets in, and bob is not concerned.
    expect((await s.guess('10.0.9.1', 'wonderland')).status).toBe(200);
    expect((await s.guess('10.0.2.1', 'builder', 'bob')).status).toBe(200);
    s.advance(31);
    expect((await s.guess('10.0.2.1', 'wonderland')).status).toBe(200);
  });
});

describe('Lockout options', () => {
  it('refuses unknown keys, non-integers and a maximum below the first lock-out', () => {
    expect(() => new Lockout({ sourceFailures: 0 })).toThrow(/sourceFailures must be a positive integer/);
    expect(() => new Lockout({ window: 1.5 })).toThrow(/window must be a positive integer/);
    expect(() => new Lockout({ sourceLockout: 600, maxSourceLockout: 60 })).toThrow(/maxSourceLockout must be at least sourceLockout/);
    expect(() => new Lockout({ allow: ['nope'] })).toThrow(/not an IP address/);
    expect(() => new Lockout({ bogus: 1 } as never)).toThrow(/unknown option "bogus"/);
    const dispatcher = new Dispatcher({ legs: [] });
    expect(() => new DigestAuthenticator({ dispatcher, realm: 'r', users: { a: 'b' }, lockout: { userFailures: -1 } })).toThrow(/userFailures/);
  });

  it('forgets the least recently touched entries beyond maxEntries', () => {
    const l = new Lockout({ sourceFailures: 2, maxEntries: 2 });
    l.fail('192.0.2.1', 'u', '', 0);
    l.fail('192.0.2.2', 'u', '', 0);
    l.fail('192.0.2.3', 'u', '', 0);
    expect(l.fail('192.0.2.1', 'v', '', 1)).toEqual([]);
    expect(l.fail('::ffff:192.0.2.3', 'w', '', 1)).toEqual([{ scope: 'source', seconds: 60, failures: 2 }]);
    expect(l.refuse('192.0.2.3', 'x', 'n', 2)).toEqual({ scope: 'source', seconds: 60 });
  });
});

describe('parseLockoutOptions', () => {
  it('reads off/on, key=value text and YAML-like mappings, and refuses what the authenticator would', async () => {
    const { parseLockoutOptions } = await import('../src/index.js');
    expect(parseLockoutOptions('off')).toBe(false);
    expect(parseLockoutOptions(false)).toBe(false);
    expect(parseLockoutOptions('on')).toEqual({});
    expect(parseLockoutOptions('source-failures=5, source-lockout=300,allow=10.0.0.0/8;::1')).toEqual({ sourceFailures: 5, sourceLockout: 300, allow: ['10.0.0.0/8', '::1'] });
    expect(parseLockoutOptions({ 'user-failures': 50, allow: '192.0.2.7' })).toEqual({ userFailures: 50, allow: ['192.0.2.7'] });
    expect(() => parseLockoutOptions('sourcefailures=5')).toThrow(/unknown key "sourcefailures"/);
    expect(() => parseLockoutOptions('window=0')).toThrow(/window must be a positive integer/);
    expect(() => parseLockoutOptions('window')).toThrow(/expected key=value/);
    expect(() => parseLockoutOptions('user-lockout=600')).toThrow(/maxUserLockout must be at least userLockout/);
    expect(() => parseLockoutOptions('allow=example.com')).toThrow(/not an IP address/);
  });
});

describe('what the defaults allow (simulated hour, one attempt every 100 ms)', () => {
  /** Checked guesses in `hours`, attempting every 100 ms; `sourceOf(i)` picks the address of attempt i. */
  function checkedGuesses(hours: number, sourceOf: (i: number) => string): number[] {
    const l = new Lockout();
    const perHour: number[] = [];
    let checked = 0;
    for (let i = 0; i < hours * 36_000; i++) {
      const now = i * 100;
      const source = sourceOf(i);
      if (l.refuse(source, 'alice\0example.com', `n${i}`, now) === undefined) {
        checked++;
        l.fail(source, 'alice\0example.com', `n${i}`, now);
      }
      if ((i + 1) % 36_000 === 0) {
        perHour.push(checked);
        checked = 0;
      }
    }
    return perHour;
  }

  it('one address: 60 password checks in the first hour, then 10 per hour', () => {
    expect(checkedGuesses(3, () => '203.0.113.7')).toEqual([60, 10, 10]);
  });

  it('a botnet with a fresh address per attempt: 450 checks of one user in the first hour, then 360 per hour', () => {
    const perHour = checkedGuesses(3, (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    expect(perHour).toEqual([450, 360, 360]);
  });
});

describe('sourceKey', () => {
  it('keeps IPv4, folds IPv4-mapped IPv6, and reduces IPv6 to its /64 (or the prefix asked for)', async () => {
    const { sourceKey } = await import('../src/index.js');
    expect(sourceKey('192.0.2.7')).toBe('192.0.2.7');
    expect(sourceKey('::FFFF:192.0.2.7')).toBe('192.0.2.7');
    expect(sourceKey('2001:DB8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2:0:0:0:0/64');
    expect(sourceKey('2001:db8:1:2::1')).toBe(sourceKey('2001:db8:1:2:ffff::9'));
    expect(sourceKey('2001:db8:1:3::1')).not.toBe(sourceKey('2001:db8:1:2::1'));
    expect(sourceKey('[fe80::1%eth0]')).toBe('fe80:0:0:0:0:0:0:0/64');
    expect(sourceKey('2001:db8::ffff:1', 56)).toBe('2001:db8:0:0:0:0:0:0/56');
    expect(sourceKey('2001:db8:1:2ff::1', 56)).toBe('2001:db8:1:200:0:0:0:0/56');
    expect(sourceKey('2001:db8::1', 128)).toBe('2001:db8::1');
    expect(sourceKey('64:ff9b::192.0.2.1', 112)).toBe('64:ff9b:0:0:0:0:c000:0/112');
  });

  it('locks a whole IPv6 /64 out: a guesser rotating addresses in it gains nothing', () => {
    const l = new Lockout();
    for (let i = 0; i < 10; i++) l.fail(`2001:db8:1:2::${(i + 1).toString(16)}`, 'u', `n${i}`, 0);
    expect(l.refuse('2001:db8:1:2:dead:beef::1', 'u', 'x', 1)).toEqual({ scope: 'source', seconds: 60 });
    expect(l.refuse('2001:db8:1:3::1', 'u', 'x', 1)).toBeUndefined();
    expect(() => new Lockout({ ipv6Prefix: 129 })).toThrow(/ipv6Prefix/);
  });
});
