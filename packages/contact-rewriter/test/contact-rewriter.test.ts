import { describe, expect, it } from 'vitest';
import { pinoCapture } from '@sipway/test-peers';
import {
  base32Encode,
  CONTACT_KEY_ENV,
  ContactRewriter,
  ContactRewriterError,
  createContactRewriter,
  LegSlot,
  netSipLegKey,
  rc4Md5Crypt,
  sivCrypt,
  type ContactCrypt,
  type RewriteContactCallback,
  type RewriterLeg,
} from '../src/index.js';

const KEY1 = 'hex:' + '11'.repeat(32);
const KEY2 = 'base64:' + Buffer.alloc(32, 0x22).toString('base64');
// RFC 3261 §25.1: user = 1*( unreserved / escaped / user-unreserved )
const SIP_USER = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+$/;

function legs(): RewriterLeg[] {
  return [
    { key: netSipLegKey({ proto: 'udp', addr: '192.0.2.10', port: 5060 }), contact: 'sip:192.0.2.10' },
    { key: netSipLegKey({ proto: 'tcp', addr: '192.0.2.10', port: 5060 }), contact: 'sip:192.0.2.10' },
    { key: netSipLegKey({ proto: 'udp', addr: '198.51.100.20', port: 5060 }), contact: 'sip:198.51.100.20' },
    { key: netSipLegKey({ proto: 'tls', addr: '2001:db8::10', port: 5061 }), contact: 'sips:[2001:db8::10]' },
  ];
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return ContactRewriterError.isInstance(error) ? error.code : `other: ${String(error)}`;
  }
  return undefined;
}

describe('ContactRewriter: the Net::SIP contract', () => {
  const l = legs();
  const rw = new ContactRewriter({ legs: l, key: KEY1 });

  it('makes SIV tokens by default: prefix s, base32, a valid SIP user part', () => {
    expect(rw.codec).toBe('siv');
    const token = rw.encode('alice@10.0.0.1:5070;transport=udp', l[0]!, l[2]!);
    expect(token).toMatch(/^s[A-Z2-7]+$/);
    expect(token).toMatch(SIP_USER);
    expect(rw.isToken(token)).toBe(true);
    expect(rw.isToken('alice')).toBe(false);
    expect(rw.isToken('b' + token.slice(1))).toBe(false);
  });

  it('gives back the contact and the leg it came in on (Request-URI case)', () => {
    const token = rw.encode('alice@10.0.0.1:5070', l[0]!, l[2]!);
    expect(rw.decode(token, l[2]!)).toMatchObject({ contact: 'alice@10.0.0.1:5070', leg: l[0] });
    const slot = new LegSlot<RewriterLeg>();
    expect(rw.rewrite(token, l[2]!, slot)).toBe('alice@10.0.0.1:5070');
    expect(slot.leg).toBe(l[0]);
  });

  it('checks the leg a Contact goes out on (response case)', () => {
    const token = rw.encode('alice@10.0.0.1:5070', l[0]!, l[2]!);
    expect(rw.decode(token, l[2]!, l[0]!)).toMatchObject({ contact: 'alice@10.0.0.1:5070', leg: l[0] });
    expect(rw.decode(token, l[2]!, l[3]!)).toBeUndefined();
    // l[1] has the same contact as l[0] (Net::SIP TCP legs carry no transport param): accepted.
    expect(rw.decode(token, l[2]!, l[1]!)?.contact).toBe('alice@10.0.0.1:5070');
    // without a leg to check, Net::SIP's rewrite() checks only the incoming direction
    expect(rw.rewrite(token, l[2]!)).toBe('alice@10.0.0.1:5070');
  });

  it('accepts a token only through the leg it went out on, or one with an equal contact', () => {
    const token = rw.encode('bob@10.0.0.2', l[2]!, l[0]!);
    expect(rw.decode(token, l[0]!)?.leg).toBe(l[2]);
    expect(rw.decode(token, l[1]!)?.leg).toBe(l[2]);
    expect(rw.decode(token, l[2]!)).toBeUndefined();
    expect(rw.decode(token, l[3]!)).toBeUndefined();
    const stranger: RewriterLeg = { key: 'stranger', contact: 'sip:203.0.113.1' };
    expect(rw.decode(token, stranger)).toBeUndefined();
    const twin: RewriterLeg = { key: 'twin', contact: 'sip:192.0.2.10:5060' };
    expect(rw.decode(token, twin)?.contact).toBe('bob@10.0.0.2');
  });

  it('encodes when the contact has an @ or force is set, decodes otherwise', () => {
    expect(rw.rewrite('carol@example.com', l[0]!, l[2]!)).toMatch(/^s[A-Z2-7]+$/);
    const noUser = rw.rewrite('10.0.0.5:5060;transport=tcp', l[0]!, l[2]!, true)!;
    expect(noUser).toMatch(/^s[A-Z2-7]+$/);
    expect(rw.rewrite(noUser, l[2]!, new LegSlot())).toBe('10.0.0.5:5060;transport=tcp');
    expect(rw.rewrite('10.0.0.5', l[0]!, l[2]!)).toBeUndefined();
    expect(rw.rewrite('alice', l[0]!, l[2]!)).toBeUndefined();
  });

  it('returns nothing for anything that is not a token', () => {
    const token = rw.encode('dave@10.0.0.3', l[0]!, l[2]!);
    for (const user of ['', 's', 'sA', 'alice', token.toLowerCase(), `${token}=`, `${token} `, `x${token}`,
      token.slice(0, -1), `${token}A`, 'b4HSDAVK3ET6YU3SSQN2PEUY4SSS2CWVEHJ2LCTLWMG4JHKC4J4', 'a@b', `${token}@x`]) {
      expect(rw.decode(user, l[2]!), user).toBeUndefined();
    }
    expect(rw.decode(42 as unknown as string, l[2]!)).toBeUndefined();
  });

  it('keeps URI parameters, IPv6 hosts and non-ASCII users intact', () => {
    for (const contact of ['j\u00fcrgen@[2001:db8::1]:5062;transport=tls;ob', '+4930123456@gw.example;user=phone',
      '%61lice@example.com', '\u{1f4de}@example.com', '']) {
      const token = rw.encode(contact, l[3]!, l[0]!);
      expect(token).toMatch(/^s[A-Z2-7]+$/);
      expect(rw.decode(token, l[0]!)).toMatchObject({ contact, leg: l[3] });
    }
  });

  it('rejects tokens after the leg list changes (added, removed, reordered, renamed)', () => {
    const base = legs();
    const token = new ContactRewriter({ legs: base, key: KEY1 }).encode('erin@10.0.0.4', base[0]!, base[2]!);
    const variants: RewriterLeg[][] = [
      [...base, { key: 'Net::SIP::Leg udp:203.0.113.9:5060', contact: 'sip:203.0.113.9' }],
      base.slice(0, 3),
      [base[1]!, base[0]!, base[2]!, base[3]!],
      base.map((x, i) => (i === 3 ? { ...x, key: 'My::Leg tls:2001:db8::10:5061' } : x)),
    ];
    for (const v of variants) {
      const back = v.find((x) => x.key === base[2]!.key) ?? v[0]!;
      expect(new ContactRewriter({ legs: v, key: KEY1 }).decode(token, back)).toBeUndefined();
    }
    expect(new ContactRewriter({ legs: base, key: KEY1 }).decode(token, base[2]!)?.contact).toBe('erin@10.0.0.4');
  });

  it('follows a legs() function as the leg list changes', () => {
    const list = legs().slice(0, 2);
    const dyn = new ContactRewriter({ legs: () => list, key: KEY1 });
    const token = dyn.encode('frank@10.0.0.6', list[0]!, list[1]!);
    expect(dyn.decode(token, list[1]!)?.contact).toBe('frank@10.0.0.6');
    list.push({ key: 'Net::SIP::Leg udp:203.0.113.2:5060' });
    expect(dyn.decode(token, list[1]!)).toBeUndefined();
    const again = dyn.encode('frank@10.0.0.6', list[0]!, list[1]!);
    expect(dyn.decode(again, list[1]!)?.contact).toBe('frank@10.0.0.6');
  });

  it('marks a leg outside the list as 0xFFFF: such tokens never come back', () => {
    const outsider: RewriterLeg = { key: 'outside', contact: 'sip:203.0.113.3' };
    const out = rw.encode('gina@10.0.0.7', l[0]!, outsider);
    expect(rw.decode(out, l[0]!)).toBeUndefined();
    expect(rw.decode(out, outsider)).toBeUndefined();
    const inn = rw.encode('gina@10.0.0.7', outsider, l[0]!);
    expect(rw.decode(inn, l[0]!)).toBeUndefined();
    expect(rw.decode(inn, l[0]!, l[2]!)).toBeUndefined();
  });

  it('is deterministic with SIV (a REGISTER refresh keeps its Contact), random with RC4/MD5', () => {
    const t1 = rw.encode('hal@10.0.0.8', l[0]!, l[2]!);
    expect(rw.encode('hal@10.0.0.8', l[0]!, l[2]!)).toBe(t1);
    expect(rw.encode('hal@10.0.0.8', l[1]!, l[2]!)).not.toBe(t1);
    const rc = new ContactRewriter({ legs: l, key: KEY1, codec: 'rc4-md5' });
    const r1 = rc.encode('hal@10.0.0.8', l[0]!, l[2]!);
    expect(r1).toMatch(/^b[A-Z2-7]+$/);
    // A timed SIV token carries 4 more bytes (the issue time) than Net::SIP's: 6 or 7 characters.
    expect(t1.length - r1.length).toBe(6);
    expect(new ContactRewriter({ legs: l, key: KEY1, tokenLifetime: 0 }).encode('hal@10.0.0.8', l[0]!, l[2]!).length).toBe(r1.length);
    expect(rc.encode('hal@10.0.0.8', l[0]!, l[2]!)).not.toBe(r1);
    expect(rc.decode(r1, l[2]!)).toMatchObject({ contact: 'hal@10.0.0.8', leg: l[0] });
  });

  it('has bound methods, so rewrite can be passed on as a callback', () => {
    const { encode, decode, rewrite, isToken } = rw;
    const callback: RewriteContactCallback<RewriterLeg> = rewrite;
    const token = callback('zed@10.0.0.10', l[0]!, l[2]!, true)!;
    expect(isToken(token)).toBe(true);
    expect(decode(token, l[2]!)?.contact).toBe('zed@10.0.0.10');
    expect(decode(encode('zed@10.0.0.10', l[0]!, l[2]!), l[2]!)?.leg).toBe(l[0]);
  });

  it('supports longer and shorter tags', () => {
    const long = new ContactRewriter({ legs: l, key: KEY1, tagBits: 128 });
    const short = new ContactRewriter({ legs: l, key: KEY1, tagBits: 32 });
    const a = long.encode('ivy@10.0.0.9', l[0]!, l[2]!);
    const b = short.encode('ivy@10.0.0.9', l[0]!, l[2]!);
    expect(a.length - b.length).toBe(Math.ceil((8 * (12 + 24)) / 5) - Math.ceil((8 * (12 + 12)) / 5));
    expect(long.decode(a, l[2]!)?.contact).toBe('ivy@10.0.0.9');
    expect(short.decode(b, l[2]!)?.contact).toBe('ivy@10.0.0.9');
    expect(long.decode(b, l[2]!)).toBeUndefined();
    expect(code(() => new ContactRewriter({ legs: l, key: KEY1, tagBits: 12 }))).toBe('CONTACT_OPTION_INVALID');
  });
});

describe('ContactRewriter: keys', () => {
  const l = legs();

  it('lets every node with the same key decode the tokens of the others', () => {
    const la = legs();
    const lb = legs(); // another process: other leg objects, same leg keys
    const nodeA = new ContactRewriter({ legs: la, key: KEY1 });
    const nodeB = new ContactRewriter({ legs: lb, env: { [CONTACT_KEY_ENV]: KEY1.slice(4) } });
    expect(nodeA.keySource).toBe('option');
    expect(nodeB.keySource).toBe('env');
    const token = nodeA.encode('jan@10.0.1.1', la[0]!, la[2]!);
    expect(nodeB.decode(token, lb[2]!)).toMatchObject({ contact: 'jan@10.0.1.1', leg: lb[0] });
    expect(new ContactRewriter({ legs: lb, key: KEY2 }).decode(token, lb[2]!)).toBeUndefined();
  });

  it('falls back to the per-process random key, says so, and tells the logger', () => {
    const warnings: [Record<string, unknown>, string][] = [];
    const logger = { warn: (fields: Record<string, unknown>, message: string) => warnings.push([fields, message]) };
    const a = new ContactRewriter({ legs: l, env: {}, logger });
    const b = new ContactRewriter({ legs: l, env: {} });
    expect(a.randomKey).toBe(true);
    expect(a.keySource).toBe('random');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]![0]).toEqual({ keySource: 'random' });
    expect(warnings[0]![1]).toMatch(/random.*per-process/);
    // one key per process: two rewriters understand each other
    expect(b.decode(a.encode('kim@10.0.1.2', l[0]!, l[2]!), l[2]!)?.contact).toBe('kim@10.0.1.2');
    const configured = new ContactRewriter({ legs: l, key: KEY1, logger });
    expect(configured.randomKey).toBe(false);
    expect(warnings).toHaveLength(1);
  });

  it('writes the random-key warning with its fields to a pino logger passed straight in', () => {
    const { logger, lines } = pinoCapture();
    new ContactRewriter({ legs: l, env: {}, logger });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, keySource: 'random' });
  });

  it('rotates: decodes with the current or a previous key, encodes with the current', () => {
    for (const codec of ['siv', 'rc4-md5'] as const) {
      const before = new ContactRewriter({ legs: l, key: KEY1, codec });
      const during = new ContactRewriter({ legs: l, key: KEY2, previousKeys: [KEY1], codec });
      const after = new ContactRewriter({ legs: l, key: KEY2, codec });
      const old = before.encode('lee@10.0.1.3', l[0]!, l[2]!);
      expect(during.decode(old, l[2]!)?.contact, codec).toBe('lee@10.0.1.3');
      expect(after.decode(old, l[2]!), codec).toBeUndefined();
      const fresh = during.encode('lee@10.0.1.3', l[0]!, l[2]!);
      expect(before.decode(fresh, l[2]!), codec).toBeUndefined();
      expect(after.decode(fresh, l[2]!)?.contact, codec).toBe('lee@10.0.1.3');
    }
  });

  it('rotates through SIPWAY_CONTACT_KEY_PREVIOUS', () => {
    const old = new ContactRewriter({ legs: l, key: KEY1 }).encode('max@10.0.1.4', l[0]!, l[2]!);
    const env = { SIPWAY_CONTACT_KEY: KEY2, SIPWAY_CONTACT_KEY_PREVIOUS: KEY1 };
    expect(new ContactRewriter({ legs: l, env }).decode(old, l[2]!)?.contact).toBe('max@10.0.1.4');
  });

  it('decodes both codecs side by side when asked, only its own by default', () => {
    const legacy = new ContactRewriter({ legs: l, key: KEY1, codec: 'rc4-md5' });
    const both = new ContactRewriter({ legs: l, key: KEY1, accept: ['siv', 'rc4-md5'] });
    const sivOnly = new ContactRewriter({ legs: l, key: KEY1 });
    const b = legacy.encode('ned@10.0.1.5', l[0]!, l[2]!);
    const s = both.encode('ned@10.0.1.5', l[0]!, l[2]!);
    expect(b[0]).toBe('b');
    expect(s[0]).toBe('s');
    expect(both.decode(b, l[2]!)?.contact).toBe('ned@10.0.1.5');
    expect(both.decode(s, l[2]!)?.contact).toBe('ned@10.0.1.5');
    expect(both.isToken(b) && both.isToken(s)).toBe(true);
    expect(sivOnly.decode(b, l[2]!)).toBeUndefined();
    expect(sivOnly.isToken(b)).toBe(false);
    expect(legacy.decode(s, l[2]!)).toBeUndefined();
  });
});

describe('ContactRewriter: pluggable crypt and callback', () => {
  const l = legs();

  it('uses a custom crypt (Net::SIP rewrite_crypt) and needs no key for it', () => {
    const calls: string[] = [];
    const inner = sivCrypt({ key: Buffer.alloc(16, 5) });
    const crypt: ContactCrypt = {
      encrypt: (d, a) => (calls.push('enc'), inner.encrypt(d, a)),
      decrypt: (d, a) => (calls.push('dec'), inner.decrypt(d, a)),
    };
    const rw = new ContactRewriter({ legs: l, crypt, env: {} });
    expect(rw.keySource).toBe('custom');
    expect(rw.randomKey).toBe(false);
    const token = rw.encode('oz@10.0.2.1', l[0]!, l[2]!);
    expect(rw.decode(token, l[2]!)?.contact).toBe('oz@10.0.2.1');
    expect(calls).toEqual(['enc', 'dec']);
  });

  it('drops a decryption that is not UTF-8 or too short for the leg indices', () => {
    const garbage: ContactCrypt = { encrypt: (d) => d, decrypt: (d) => d };
    const rw = new ContactRewriter({ legs: l, crypt: garbage, codec: 'rc4-md5' });
    const valid = rw.encode('pat@10.0.2.2', l[0]!, l[2]!);
    expect(rw.decode(valid, l[2]!)?.contact).toBe('pat@10.0.2.2');
    // identity "crypt": the token is plain base32 of u16 in, u16 out, contact bytes
    expect(rw.decode('b' + base32Encode(Uint8Array.of(0, 0, 0, 2, 0x61, 0x40, 0x62)), l[2]!)?.contact).toBe('a@b');
    expect(rw.decode('b' + base32Encode(Uint8Array.of(0, 0, 0, 2, 0x61, 0xff, 0x62)), l[2]!)).toBeUndefined();
    expect(rw.decode('bAAAA', l[2]!)).toBeUndefined(); // 2 bytes: no room for two indices
  });

  it('hands everything to a custom rewrite callback (Net::SIP rewrite_contact)', () => {
    const seen: unknown[][] = [];
    const rewrite: RewriteContactCallback<RewriterLeg> = (contact, legIn, legOut, force) => {
      seen.push([contact, legIn, legOut, force]);
      if (force || contact.includes('@')) return 'u' + Buffer.from(contact).toString('hex');
      if (!contact.startsWith('u')) return undefined;
      if (legOut instanceof LegSlot) legOut.leg = l[0];
      return Buffer.from(contact.slice(1), 'hex').toString();
    };
    const rw = createContactRewriter({ legs: l, rewrite });
    expect(rw.keySource).toBe('custom');
    const token = rw.encode('quin@10.0.2.3', l[0]!, l[2]!);
    expect(token).toBe('u' + Buffer.from('quin@10.0.2.3').toString('hex'));
    expect(rw.decode(token, l[2]!)).toMatchObject({ contact: 'quin@10.0.2.3', leg: l[0] });
    expect(rw.decode(token, l[2]!, l[0]!)).toMatchObject({ contact: 'quin@10.0.2.3', leg: l[0] });
    expect(rw.decode('nothing', l[2]!)).toBeUndefined();
    expect(seen[0]).toEqual(['quin@10.0.2.3', l[0], l[2], true]);
    expect(seen[1]![2]).toBeInstanceOf(LegSlot);
    expect(seen[2]![2]).toBe(l[0]);
    expect(rw.isToken('u00')).toBe(true);
  });

  it('refuses a custom callback that does not return a \\w+ token when encoding', () => {
    for (const result of [undefined, '', 'a@b', 'has space', 'sip:x']) {
      const rw = new ContactRewriter({ legs: l, rewrite: () => result });
      expect(code(() => rw.encode('r@10.0.2.4', l[0]!, l[2]!)), String(result)).toBe('CONTACT_REWRITE_INVALID');
    }
  });
});

describe('ContactRewriter: legs and options', () => {
  it('reads key and contact through accessors or methods (Net::SIP-like leg objects)', () => {
    class PerlishLeg {
      constructor(readonly proto: string, readonly addr: string, readonly port: number) {}
      key(): string {
        return netSipLegKey(this);
      }
      contact(): string {
        return `sip:${this.addr}:${this.port}`;
      }
    }
    const pl = [new PerlishLeg('udp', '127.0.0.1', 5070), new PerlishLeg('udp', '127.0.0.2', 5070)];
    const rw = new ContactRewriter({ legs: pl, key: KEY1 });
    const token = rw.encode('sam@10.0.3.1', pl[0]!, pl[1]!);
    expect(rw.decode(token, pl[1]!)?.leg).toBe(pl[0]);

    interface MyLeg { id: string; uri: string }
    const ml: MyLeg[] = [{ id: 'inside', uri: 'sip:10.0.0.1' }, { id: 'outside', uri: 'sip:203.0.113.1' }];
    const rw2 = new ContactRewriter<MyLeg>({ legs: ml, key: KEY1, legKey: (x) => x.id, legContact: (x) => x.uri });
    const t2 = rw2.encode('tom@10.0.3.2', ml[0]!, ml[1]!);
    expect(rw2.decode(t2, ml[1]!)).toMatchObject({ contact: 'tom@10.0.3.2', leg: ml[0] });
    expect(rw2.decode(t2, { id: 'outside-twin', uri: 'sip:203.0.113.1:5060' })?.contact).toBe('tom@10.0.3.2');
  });

  it('throws CONTACT_LEG_INVALID for a leg without a key', () => {
    const bad = [{ contact: 'sip:x' }, { contact: 'sip:y' }] as unknown as RewriterLeg[];
    const rw = new ContactRewriter({ legs: bad, key: KEY1 });
    expect(code(() => rw.encode('u@v', bad[0]!, bad[1]!))).toBe('CONTACT_LEG_INVALID');
  });

  it('validates options once, at construction', () => {
    const l = legs();
    const cases: [string, () => unknown][] = [
      ['unknown', () => new ContactRewriter({ legs: l, key: KEY1, forceRewrite: true } as never)],
      ['codec', () => new ContactRewriter({ legs: l, key: KEY1, codec: 'aes' as never })],
      ['accept', () => new ContactRewriter({ legs: l, key: KEY1, accept: ['rc4-md5'] })],
      ['accept2', () => new ContactRewriter({ legs: l, key: KEY1, accept: ['siv', 'x' as never] })],
      ['legs', () => new ContactRewriter({ legs: 'udp' as never, key: KEY1 })],
      ['options', () => new ContactRewriter(null as never)],
      ['rewrite+crypt', () => new ContactRewriter({ legs: l, rewrite: () => 'x', crypt: sivCrypt({ key: Buffer.alloc(16) }) })],
      ['rewrite', () => new ContactRewriter({ legs: l, rewrite: 'x' as never })],
      ['crypt', () => new ContactRewriter({ legs: l, crypt: {} as never })],
      ['previous without key', () => new ContactRewriter({ legs: l, previousKeys: [KEY1], env: {} })],
      ['tagBits without siv', () => new ContactRewriter({ legs: l, key: KEY1, codec: 'rc4-md5', tagBits: 96 })],
      ['logger', () => new ContactRewriter({ legs: l, key: KEY1, logger: console.log as never })],
    ];
    for (const [name, fn] of cases) expect(code(fn), name).toBe('CONTACT_OPTION_INVALID');
    expect(code(() => new ContactRewriter({ legs: l, key: 'short' }))).toBe('CONTACT_KEY_INVALID');
    const error = (() => {
      try {
        new ContactRewriter({ legs: l, key: KEY1, bogus: 1 } as never);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ContactRewriterError);
    expect((error as ContactRewriterError).message).toMatch(/unknown option "bogus"/);
    expect((error as ContactRewriterError).status).toBeUndefined();
    expect(ContactRewriterError.isInstance(new Error('x'))).toBe(false);
    expect((error as Record<symbol, unknown>)[Symbol.for('sipway.error')]).toBe(true);
  });

  it('accepts the RC4/MD5 crypt with Net::SIP raw keys as custom crypt', () => {
    const l = legs();
    const crypt = rc4Md5Crypt({ key: Buffer.from('0123456789abcdefghijk'), macKey: Buffer.from('MACK') });
    const rw = new ContactRewriter({ legs: l, codec: 'rc4-md5', crypt });
    expect(rw.decode(rw.encode('uma@10.0.3.3', l[0]!, l[2]!), l[2]!)?.contact).toBe('uma@10.0.3.3');
  });
});

describe('ContactRewriter caches', () => {
  it('reuses a SIV token and a decryption, but still checks the direction every time', () => {
    // Two legs with different contacts, so coming back through the wrong one is refused.
    const [a, , b] = legs() as [RewriterLeg, RewriterLeg, RewriterLeg];
    const rw = new ContactRewriter({ legs: [a, b], key: KEY1 });
    const t1 = rw.encode('alice@10.0.0.7:5070', a, b);
    expect(rw.encode('alice@10.0.0.7:5070', a, b)).toBe(t1);
    expect(rw.encode('alice@10.0.0.7:5071', a, b)).not.toBe(t1);
    expect(rw.decode(t1, b)).toMatchObject({ contact: 'alice@10.0.0.7:5070', leg: a });
    // Same token again, now through the wrong leg: the cached plaintext must not skip the check.
    expect(rw.decode(t1, a)).toBeUndefined();
    expect(rw.decode(t1, b)?.contact).toBe('alice@10.0.0.7:5070');
  });

  it('keys the caches on the leg list: another list neither reuses nor decodes the token', () => {
    const [a, b, c] = legs() as [RewriterLeg, RewriterLeg, RewriterLeg];
    const list = [a, b];
    const rw = new ContactRewriter({ legs: () => list, key: KEY1 });
    const t1 = rw.encode('bob@192.0.2.1', a, b);
    list.push(c);
    expect(rw.decode(t1, b)).toBeUndefined();
    expect(rw.encode('bob@192.0.2.1', a, b)).not.toBe(t1);
  });

  it('stays bounded under a flood of forged tokens', () => {
    const [a, b] = legs() as [RewriterLeg, RewriterLeg];
    const rw = new ContactRewriter({ legs: [a, b], key: KEY1 });
    const good = rw.encode('carol@198.51.100.3', a, b);
    for (let i = 0; i < 10_000; i++) expect(rw.decode(`s${'A'.repeat(20)}${i.toString(32).toUpperCase().replace(/[0189]/g, 'B')}`, b)).toBeUndefined();
    expect(rw.decode(good, b)?.contact).toBe('carol@198.51.100.3');
  });
});
