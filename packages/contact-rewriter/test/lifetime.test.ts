// Issue 9 item 7: SIV tokens carry their issue time inside the encrypted, MACed data and stop
// decoding `tokenLifetime` seconds later, so a captured token cannot be replayed for ever. The
// clock is a fake (`now` option); the keys and legs are real.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CONTACT_REJECT_CHANNEL,
  ContactRewriter,
  ContactRewriterError,
  DEFAULT_TOKEN_LIFETIME,
  base32Decode,
  base32Encode,
  type ContactRejectMessage,
  type RewriterLeg,
} from '../src/index.js';

const KEY = 'hex:' + '5a'.repeat(32);
const OLD_KEY = 'hex:' + 'a5'.repeat(32);
const legs: RewriterLeg[] = [
  { key: 'inside', contact: 'sip:10.0.0.1' },
  { key: 'outside', contact: 'sip:203.0.113.1' },
];
const [inside, outside] = legs as [RewriterLeg, RewriterLeg];
const T0 = Date.UTC(2026, 11, 4, 12, 0, 0);
const HOUR = 3600_000;
const DAY = 24 * HOUR;

const seen: ContactRejectMessage[] = [];
const onReject = (m: unknown): void => {
  seen.push(m as ContactRejectMessage);
};

function clock(start = T0): { now: () => number; set(ms: number): void } {
  let t = start;
  return { now: () => t, set: (ms) => (t = ms) };
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return ContactRewriterError.isInstance(error) ? error.code : `other: ${String(error)}`;
  }
  return undefined;
}

describe('time-limited SIV tokens', () => {
  afterEach(() => {
    unsubscribe(CONTACT_REJECT_CHANNEL, onReject);
    seen.length = 0;
  });

  it('defaults to 7 days and gives the issue time (rounded down to an eighth of the lifetime) with the contact', () => {
    expect(DEFAULT_TOKEN_LIFETIME).toBe(604_800);
    const c = clock();
    const rw = new ContactRewriter({ legs, key: KEY, now: c.now });
    expect(rw.tokenLifetime).toBe(604_800);
    const token = rw.encode('alice@10.0.0.7:5070', inside, outside);
    const got = rw.decode(token, outside);
    const eighth = (604_800 / 8) * 1000;
    expect(got).toEqual({ contact: 'alice@10.0.0.7:5070', leg: inside, issuedAt: Math.floor(T0 / eighth) * eighth });
    expect(T0 - got!.issuedAt!).toBeLessThan(eighth);
  });

  it('decodes until the lifetime is over, then refuses with reason expired', () => {
    subscribe(CONTACT_REJECT_CHANNEL, onReject);
    const c = clock();
    const rw = new ContactRewriter({ legs, key: KEY, now: c.now, tokenLifetime: 3600 });
    const token = rw.encode('bob@10.0.0.8', inside, outside);
    const issuedAt = rw.decode(token, outside)!.issuedAt!;
    // At least 7/8 of the lifetime after it was made, and up to the whole lifetime after its issue time.
    c.set(T0 + (7 / 8) * HOUR);
    expect(rw.decode(token, outside)?.contact).toBe('bob@10.0.0.8');
    c.set(issuedAt + HOUR);
    expect(rw.decode(token, outside)?.contact).toBe('bob@10.0.0.8');
    expect(seen).toEqual([]);
    c.set(issuedAt + HOUR + 1000);
    expect(rw.decode(token, outside)).toBeUndefined();
    expect(rw.rewrite(token, outside)).toBeUndefined();
    expect(seen.map((m) => m.reason)).toEqual(['expired', 'expired']);
    expect(seen[0]).toMatchObject({ token, legIn: outside });
    // Another node with the same key and legs, the same verdict.
    const other = new ContactRewriter({ legs, key: KEY, now: c.now, tokenLifetime: 3600 });
    expect(other.decode(token, outside)).toBeUndefined();
    // A fresh encode of the same contact is a new token that decodes.
    const fresh = rw.encode('bob@10.0.0.8', inside, outside);
    expect(fresh).not.toBe(token);
    expect(rw.decode(fresh, outside)?.contact).toBe('bob@10.0.0.8');
  });

  it('keeps one token per contact within an eighth of the lifetime (a REGISTER refresh keeps its Contact)', () => {
    const c = clock(Math.floor(T0 / (3 * HOUR)) * 3 * HOUR);
    const rw = new ContactRewriter({ legs, key: KEY, now: c.now, tokenLifetime: 24 * 3600 });
    const t1 = rw.encode('carol@10.0.0.9', inside, outside);
    c.set(c.now() + 3 * HOUR - 1000);
    expect(rw.encode('carol@10.0.0.9', inside, outside)).toBe(t1);
    c.set(c.now() + 1000);
    const t2 = rw.encode('carol@10.0.0.9', inside, outside);
    expect(t2).not.toBe(t1);
    expect(rw.decode(t1, outside)?.contact).toBe('carol@10.0.0.9');
    expect(rw.decode(t2, outside)!.issuedAt! - rw.decode(t1, outside)!.issuedAt!).toBe(3 * HOUR);
  });

  it('cannot be extended: any change to the bytes, the time included, breaks the MAC', () => {
    subscribe(CONTACT_REJECT_CHANNEL, onReject);
    const c = clock();
    const rw = new ContactRewriter({ legs, key: KEY, now: c.now, tokenLifetime: 3600 });
    const token = rw.encode('dan@10.0.0.10', inside, outside);
    const bytes = base32Decode(token.slice(1))!;
    // The issue time sits encrypted behind the 8-byte tag: flip each bit of the first 8 bytes after it.
    for (let bit = 0; bit < 64; bit++) {
      const forged = Uint8Array.from(bytes);
      forged[8 + (bit >> 3)]! ^= 1 << (bit & 7);
      expect(rw.decode('s' + base32Encode(forged), outside)).toBeUndefined();
    }
    expect(new Set(seen.map((m) => m.reason))).toEqual(new Set(['mac']));
  });

  it('refuses a token issued more than 5 minutes in the future (a node with a wrong clock)', () => {
    subscribe(CONTACT_REJECT_CHANNEL, onReject);
    const ahead = new ContactRewriter({ legs, key: KEY, now: () => T0 + 2 * HOUR, tokenLifetime: 600 });
    const slightly = new ContactRewriter({ legs, key: KEY, now: () => T0 + 4 * 60_000, tokenLifetime: 600 });
    const rw = new ContactRewriter({ legs, key: KEY, now: () => T0, tokenLifetime: 600 });
    expect(rw.decode(slightly.encode('eve@10.0.0.11', inside, outside), outside)?.contact).toBe('eve@10.0.0.11');
    expect(rw.decode(ahead.encode('eve@10.0.0.11', inside, outside), outside)).toBeUndefined();
    expect(seen.map((m) => m.reason)).toEqual(['future']);
  });

  it('decodes timed tokens made with a previous key while it is listed', () => {
    const c = clock();
    const before = new ContactRewriter({ legs, key: OLD_KEY, now: c.now });
    const token = before.encode('fay@10.0.0.12', inside, outside);
    const after = new ContactRewriter({ legs, key: KEY, previousKeys: [OLD_KEY], now: c.now });
    expect(after.decode(token, outside)?.contact).toBe('fay@10.0.0.12');
    c.set(T0 + 8 * DAY);
    expect(after.decode(token, outside)).toBeUndefined();
  });
});

describe('untimed SIV tokens (made before the time limit, or with tokenLifetime 0)', () => {
  afterEach(() => {
    unsubscribe(CONTACT_REJECT_CHANNEL, onReject);
    seen.length = 0;
  });

  it('tokenLifetime 0 makes the old untimed tokens, which never expire and carry no issue time', () => {
    const c = clock();
    const rw = new ContactRewriter({ legs, key: KEY, now: c.now, tokenLifetime: 0 });
    const token = rw.encode('gus@10.0.0.13', inside, outside);
    c.set(T0 + 10_000 * DAY);
    expect(rw.decode(token, outside)).toEqual({ contact: 'gus@10.0.0.13', leg: inside });
    // Timed tokens of other nodes still decode there, with no age limit.
    const timed = new ContactRewriter({ legs, key: KEY, now: () => T0 }).encode('gus@10.0.0.13', inside, outside);
    expect(rw.decode(timed, outside)).toMatchObject({ contact: 'gus@10.0.0.13', issuedAt: expect.any(Number) });
  });

  it('are refused as expired by a time-limited rewriter, unless acceptUntimedUntil is still ahead', () => {
    subscribe(CONTACT_REJECT_CHANNEL, onReject);
    const c = clock();
    const legacy = new ContactRewriter({ legs, key: KEY, tokenLifetime: 0 }).encode('hal@10.0.0.14', inside, outside);
    const strict = new ContactRewriter({ legs, key: KEY, now: c.now });
    expect(strict.decode(legacy, outside)).toBeUndefined();
    expect(seen.map((m) => m.reason)).toEqual(['expired']);
    const migrating = new ContactRewriter({ legs, key: KEY, now: c.now, acceptUntimedUntil: new Date(T0 + DAY) });
    expect(migrating.decode(legacy, outside)).toEqual({ contact: 'hal@10.0.0.14', leg: inside });
    c.set(T0 + DAY + 1);
    expect(migrating.decode(legacy, outside)).toBeUndefined();
    expect(seen.map((m) => m.reason)).toEqual(['expired', 'expired']);
  });

  it('a timed token and an untimed one never pass for each other (MACed under different labels)', () => {
    const c = clock();
    const timed = new ContactRewriter({ legs, key: KEY, now: c.now, tokenLifetime: 3600 });
    const untimed = new ContactRewriter({ legs, key: KEY, now: c.now, tokenLifetime: 0 });
    const t = timed.encode('ian@10.0.0.15', inside, outside);
    const u = untimed.encode('ian@10.0.0.15', inside, outside);
    expect(t.length - u.length).toBeGreaterThanOrEqual(6);
    expect(timed.decode(t, outside)?.issuedAt).toBeTypeOf('number');
    expect(untimed.decode(u, outside)?.issuedAt).toBeUndefined();
  });
});

describe('Net::SIP codec and options', () => {
  it('leaves rc4-md5 tokens as Net::SIP makes them: no time, never expire', () => {
    const c = clock();
    const rw = new ContactRewriter({ legs, key: KEY, codec: 'rc4-md5', now: c.now });
    const token = rw.encode('jo@10.0.0.16', inside, outside);
    c.set(T0 + 1000 * DAY);
    expect(rw.decode(token, outside)).toEqual({ contact: 'jo@10.0.0.16', leg: inside });
  });

  it('refuses a tokenLifetime it cannot honour', () => {
    expect(code(() => new ContactRewriter({ legs, key: KEY, codec: 'rc4-md5', tokenLifetime: 3600 }))).toBe('CONTACT_OPTION_INVALID');
    for (const bad of [-1, 59, 1.5, Number.NaN, 2 ** 32]) expect(code(() => new ContactRewriter({ legs, key: KEY, tokenLifetime: bad })), String(bad)).toBe('CONTACT_OPTION_INVALID');
    expect(code(() => new ContactRewriter({ legs, key: KEY, acceptUntimedUntil: Number.NaN }))).toBe('CONTACT_OPTION_INVALID');
    // Decoding SIV tokens while making Net::SIP ones: the lifetime applies to the SIV tokens.
    const mixed = new ContactRewriter({ legs, key: KEY, codec: 'rc4-md5', accept: ['rc4-md5', 'siv'], tokenLifetime: 600, now: () => T0 + HOUR });
    const siv = new ContactRewriter({ legs, key: KEY, now: () => T0 });
    expect(mixed.decode(siv.encode('kim@10.0.0.17', inside, outside), outside)).toBeUndefined();
  });
});
