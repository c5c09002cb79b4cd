/**
 * The proxy as an attacker meets it: digest password guessing (lock-out per source and per
 * user, the default rate limit) and registration flooding (caps per AOR, per source and in
 * total). A raw SIP client over UDP and TCP, IPv4 and IPv6, computes its own digest answers.
 */
import { createSocket } from 'node:dgram';
import { createConnection } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { digestAuthorization, statusOf, until } from '@sipway/test-peers';
// @sipway/test-peers' until awaits an async condition (the helpers' one takes a synchronous one).
import { cleanup, startProxy } from './helpers.js';
import type { ListeningLeg, ProxyProcess } from './helpers.js';

afterEach(cleanup);
const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

interface Answer {
  status: number;
  reason: string;
  text: string;
}

/** A SIP client bound to `address` that talks to one leg over UDP or TCP, one request at a time or many at once. */
async function client(address: string, leg: ListeningLeg) {
  const v6 = address.includes(':');
  const inbox: string[] = [];
  let port: number;
  let send: (text: string) => void;
  if (leg.transport === 'udp') {
    const socket = createSocket(v6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => socket.bind(0, address, resolve));
    socket.on('message', (d) => inbox.push(d.toString('latin1')));
    port = socket.address().port;
    send = (text) => socket.send(text, leg.port, leg.address);
    closers.push(() => socket.close());
  } else {
    const socket = createConnection({ host: leg.address, port: leg.port, localAddress: address });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    let buffer = '';
    socket.on('data', (d) => {
      buffer += d.toString('latin1');
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) break;
        const length = Number(/\r\nContent-Length: *(\d+)/i.exec(buffer.slice(0, end))?.[1] ?? 0);
        if (buffer.length < end + 4 + length) break;
        inbox.push(buffer.slice(0, end + 4 + length));
        buffer = buffer.slice(end + 4 + length);
      }
    });
    port = socket.localPort!;
    send = (text) => socket.write(text);
    closers.push(() => socket.destroy());
  }
  const host = v6 ? `[${address}]` : address;
  const transport = leg.transport.toUpperCase();
  let n = 0;
  const tag = `t${Math.random().toString(36).slice(2, 10)}`;

  /** Sends a REGISTER for `user` and returns its branch. */
  function register(user: string, options: { authorization?: string; contacts?: number; expires?: number; callId?: string } = {}): string {
    const branch = `z9hG4bK-${tag}-${++n}`;
    const contacts = Array.from({ length: options.contacts ?? 1 }, (_, i) => `Contact: <sip:${user}${i === 0 ? '' : `-${i}`}@${host}:${port};transport=${leg.transport}>`);
    send(
      [
        'REGISTER sip:example.com SIP/2.0',
        `Via: SIP/2.0/${transport} ${host}:${port};branch=${branch};rport`,
        'Max-Forwards: 70',
        `From: <sip:${user}@example.com>;tag=${tag}`,
        `To: <sip:${user}@example.com>`,
        `Call-ID: ${options.callId ?? `${tag}-${user}`}@${host}`,
        `CSeq: ${n} REGISTER`,
        ...contacts,
        `Expires: ${options.expires ?? 120}`,
        ...(options.authorization === undefined ? [] : [options.authorization]),
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
    return branch;
  }

  async function answerTo(branch: string, timeoutMs = 5000): Promise<Answer> {
    // `;branch=X;` exactly: branch -1 must not match the answer to -12.
    const mine = (m: string) => m.includes(`;branch=${branch};`) && statusOf(m) >= 200;
    let text: string | undefined;
    await until(() => (text = inbox.find(mine)) !== undefined, timeoutMs, `answer to ${branch}`);
    inbox.splice(inbox.indexOf(text!), 1);
    return { status: statusOf(text!), reason: /^SIP\/2\.0 \d{3} ([^\r\n]*)/.exec(text!)![1]!, text: text! };
  }

  /** One REGISTER, waiting for its final answer. */
  const request = (user: string, options: Parameters<typeof register>[1] = {}) => answerTo(register(user, options));

  /** One guess: a challenge, then the answer computed with `password`. */
  async function guess(user: string, password: string): Promise<Answer> {
    const challenge = await request(user);
    if (challenge.status !== 401) return challenge;
    const md5 = challenge.text.split('\r\n').find((l) => l.startsWith('WWW-Authenticate:') && l.includes('algorithm=MD5'))!;
    return request(user, { authorization: digestAuthorization(md5, { algorithm: 'MD5', user, password, method: 'REGISTER', uri: 'sip:example.com' }) });
  }

  return { register, answerTo, request, guess, inbox };
}

const lines = (proxy: ProxyProcess, pattern: RegExp): string[] =>
  proxy
    .logs()
    .map((l) => String(l.msg))
    .filter((m) => pattern.test(m));

function countBy(answers: Answer[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) out[`${a.status} ${a.reason}`] = (out[`${a.status} ${a.reason}`] ?? 0) + 1;
  return out;
}

describe('digest brute force against --auth-user', () => {
  it('200 wrong guesses from one address: 10 are checked, 190 refused unchecked; alice still registers from elsewhere; the source may try again after the lock-out', async () => {
    const proxy = await startProxy(
      [
        '--leg', 'udp:127.0.0.1:0', '--leg', 'tcp:127.0.0.1:0', '--leg', 'udp:[::1]:0', '--registrar', '--domain', 'example.com',
        '--auth-user', 'alice:wonderland', '--auth-algorithms', 'SHA-256,MD5', '--log-level', 'warn',
        // The lock-out is the default (10 failures per 60 s lock a source out for 60 s); the rate limit is tested below; here every answer is the authenticator's.
        '--rate-limit', 'off',
      ],
      3,
    );
    const [udp4, tcp4, udp6] = proxy.legs as [ListeningLeg, ListeningLeg, ListeningLeg];
    const attacker = await client('127.0.0.1', udp4);
    const answers: Answer[] = [];
    for (let i = 0; i < 200; i++) answers.push(await attacker.guess('alice', `guess-${i}`));
    // The first ten are checked and wrong (403 Forbidden); the rest never reach a password check.
    expect(answers.slice(0, 10).every((a) => a.status === 403 && a.reason === 'Forbidden')).toBe(true);
    expect(countBy(answers)).toEqual({ '403 Forbidden': 10, '403 Too Many Failed Attempts': 190 });
    expect(lines(proxy, /^sipway auth-failed source=127\.0\.0\.1 .*reason=bad-password/)).toHaveLength(10);
    expect(lines(proxy, /^sipway auth-locked /)).toEqual([
      expect.stringMatching(/^sipway auth-locked source=127\.0\.0\.1 port=\d+ scope=source seconds=60 failures=10 method=REGISTER user="alice"$/),
    ]);
    // Even the right password from the locked source is refused while the lock-out lasts.
    expect(await attacker.guess('alice', 'wonderland')).toMatchObject({ status: 403, reason: 'Too Many Failed Attempts' });

    // alice from another address (TCP) registers, and an IPv6 attacker is counted on its own.
    expect((await (await client('127.0.0.2', tcp4)).guess('alice', 'wonderland')).status).toBe(200);
    const attacker6 = await client('::1', udp6);
    const six: Answer[] = [];
    for (let i = 0; i < 12; i++) six.push(await attacker6.guess('alice', `v6-${i}`));
    expect(countBy(six)).toEqual({ '403 Forbidden': 10, '403 Too Many Failed Attempts': 2 });
    await until(() => lines(proxy, /^sipway auth-locked source=::1 /).length === 1, 5000, 'the IPv6 lock-out line');
    expect(await proxy.stop()).toBe(0);
  });

  it('after the lock-out the source may try again; the next lock-out is twice as long (TCP)', async () => {
    const proxy = await startProxy(
      [
        '--leg', 'tcp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--auth-user', 'alice:wonderland', '--log-level', 'warn',
        '--auth-lockout', 'source-failures=5,source-lockout=2,max-source-lockout=60', '--rate-limit', 'off',
      ],
      1,
    );
    const attacker = await client('127.0.0.1', proxy.legs[0]!);
    for (let i = 0; i < 5; i++) expect(await attacker.guess('alice', `g${i}`)).toMatchObject({ status: 403, reason: 'Forbidden' });
    expect(await attacker.guess('alice', 'wonderland')).toMatchObject({ status: 403, reason: 'Too Many Failed Attempts' });
    await until(async () => (await attacker.guess('alice', 'wonderland')).status === 200, 10_000, 'the end of the lock-out');
    const again: string[] = [];
    for (let i = 0; i < 6; i++) again.push((await attacker.guess('alice', `h${i}`)).reason);
    expect(again, proxy.output().slice(-3000)).toEqual(['Forbidden', 'Forbidden', 'Forbidden', 'Forbidden', 'Forbidden', 'Too Many Failed Attempts']);
    await until(() => lines(proxy, /^sipway auth-locked /).length === 2, 5000, 'the second lock-out line');
    expect(lines(proxy, /^sipway auth-locked /).map((l) => /seconds=(\d+)/.exec(l)?.[1])).toEqual(['2', '4']);
    expect(await proxy.stop()).toBe(0);
  });

  it('with the default rate limit, a burst of 400 requests gets 503 with Retry-After and at most 10 password checks', async () => {
    const proxy = await startProxy(
      ['--leg', 'udp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--auth-user', 'alice:wonderland', '--auth-algorithms', 'MD5', '--log-level', 'warn'],
      1,
    );
    const attacker = await client('127.0.0.1', proxy.legs[0]!);
    // One challenge, then 399 answers on its nonce and the nonces of the 401s that come back, sent without waiting.
    const first = await attacker.request('alice');
    const challenge = first.text.split('\r\n').find((l) => l.startsWith('WWW-Authenticate:'))!;
    const branches: string[] = [];
    const started = Date.now();
    for (let i = 0; i < 399; i++) {
      branches.push(attacker.register('alice', { authorization: digestAuthorization(challenge, { algorithm: 'MD5', user: 'alice', password: `g${i}`, method: 'REGISTER', uri: 'sip:example.com' }) }));
    }
    const answers = await Promise.all(branches.map((b) => attacker.answerTo(b, 15_000)));
    const counts = countBy(answers);
    // 50 per second get through (plus one window at the edges); a loaded machine stretches the burst.
    const seconds = Math.ceil((Date.now() - started) / 1000) + 1;
    expect(399 - (counts['503 Service Unavailable'] ?? 0)).toBeLessThanOrEqual(50 * seconds);
    expect(counts['503 Service Unavailable']).toBeGreaterThan(0);
    expect(answers.find((a) => a.status === 503)!.text).toMatch(/\r\nRetry-After: \d+\r\n/);
    // One guess on the nonce was checked; the rest on it were refused unchecked (stale=TRUE).
    expect(lines(proxy, /^sipway auth-failed /).length).toBeLessThanOrEqual(10);
    expect(counts['403 Forbidden'] ?? 0).toBeLessThanOrEqual(10);
    // A fail2ban line per source per rate-limit window (1 s), not per 503: the sender must not
    // choose how many lines we write (pino writes asynchronously: wait for the first).
    const blocked = () => lines(proxy, /^sipway blocked source=127\.0\.0\.1 port=\d+ reason=rate-limit method=REGISTER$/).length;
    await until(() => blocked() >= 1, 5000, 'a blocked line');
    expect(blocked()).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    expect(await proxy.stop()).toBe(0);
  });
});

describe('forged source addresses', () => {
  it('answers with a nonce issued to another address are not checked nor counted: a forger cannot lock a victim out', async () => {
    const proxy = await startProxy(
      ['--leg', 'udp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--auth-user', 'alice:wonderland', '--auth-algorithms', 'MD5', '--log-level', 'warn', '--rate-limit', 'off'],
      1,
    );
    const leg = proxy.legs[0]!;
    // The forger gets nonces at its own address (127.0.0.3) and sends wrong answers as if from the victim (127.0.0.1).
    const forger = await client('127.0.0.3', leg);
    const victimAddress = await client('127.0.0.1', leg);
    for (let i = 0; i < 20; i++) {
      const challenge = (await forger.request('alice')).text.split('\r\n').find((l) => l.startsWith('WWW-Authenticate:'))!;
      const r = await victimAddress.request('alice', { authorization: digestAuthorization(challenge, { algorithm: 'MD5', user: 'alice', password: `forged${i}`, method: 'REGISTER', uri: 'sip:example.com' }) });
      expect(r.status).toBe(401);
      expect(r.text).toMatch(/stale=TRUE/);
    }
    // The victim's own REGISTER still succeeds; nothing was logged as a failure.
    expect((await victimAddress.guess('alice', 'wonderland')).status).toBe(200);
    expect(lines(proxy, /^sipway auth-(failed|locked) /)).toEqual([]);
    expect(await proxy.stop()).toBe(0);
  });
});

describe('registration flooding', () => {
  it('one source registering 500 AORs is refused after --max-aors-per-source; others still register; the total cap answers 503; too many contacts 403', async () => {
    const proxy = await startProxy(
      [
        '--leg', 'udp:127.0.0.1:0', '--leg', 'tcp:127.0.0.1:0', '--leg', 'udp:[::1]:0', '--registrar', '--domain', 'example.com', '--log-level', 'warn',
        '--max-aors-per-source', '20', '--max-aors', '40', '--max-bindings', '3', '--rate-limit', 'off',
      ],
      3,
    );
    const [udp4, tcp4, udp6] = proxy.legs as [ListeningLeg, ListeningLeg, ListeningLeg];
    const flooder = await client('127.0.0.1', udp4);
    const answers: Answer[] = [];
    for (let i = 0; i < 500; i++) answers.push(await flooder.request(`flood${i}`));
    expect(answers.slice(0, 20).every((a) => a.status === 200)).toBe(true);
    expect(countBy(answers)).toEqual({ '200 OK': 20, '403 Too Many Registrations': 480 });
    // Refreshing what it holds still works.
    expect((await flooder.request('flood0')).status).toBe(200);
    // Sampled: one line per source and cap per 10 s, not 480.
    const limitLines = lines(proxy, /^sipway registrar-limit /);
    expect(limitLines.length).toBeGreaterThanOrEqual(1);
    expect(limitLines.length).toBeLessThanOrEqual(3);
    expect(limitLines[0]).toMatch(/^sipway registrar-limit source=127\.0\.0\.1 limit=aors-per-source refused=1 aor="sip:flood20@example.com"$/);

    // Another source (TCP) registers; an AOR with more contacts than --max-bindings is refused.
    const other = await client('127.0.0.2', tcp4);
    expect((await other.request('carol', { contacts: 3 })).status).toBe(200);
    expect(await other.request('dave', { contacts: 4 })).toMatchObject({ status: 403, reason: 'Too Many Bindings' });
    // carol's three plus a fourth from another phone: refused as a whole, the three stay.
    expect((await other.request('carol', { contacts: 4, callId: 'another-phone' })).status).toBe(403);
    expect((await other.request('carol', { contacts: 3 })).text.match(/\r\nContact: /g)).toHaveLength(3);

    // 21 AORs are held; an IPv6 source fills the store to 40, then the 41st AOR gets 503 with Retry-After.
    const v6 = await client('::1', udp6);
    for (let i = 0; i < 19; i++) expect((await v6.request(`six${i}`)).status).toBe(200);
    const full = await v6.request('six19');
    expect(full.status).toBe(503);
    expect(full.text).toMatch(/\r\nRetry-After: 60\r\n/);
    await until(() => lines(proxy, /^sipway registrar-limit source=::1 limit=aors refused=1 aor="sip:six19@example.com"$/).length === 1, 5000, 'the limit line');
    // Unregistering frees room for a new AOR.
    expect((await v6.request('six0', { expires: 0 })).status).toBe(200);
    expect(await proxy.stop()).toBe(0);
  });
});
