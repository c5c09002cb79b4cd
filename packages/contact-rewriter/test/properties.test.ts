import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ContactRewriter, legListIdentity, type ContactCodecName, type RewriterLeg } from '../src/index.js';

// Property tests for both codecs: round trip for any contact and leg pair; any change to the
// token, a different leg list, or the wrong direction is rejected.

const KEY = 'hex:' + '5a'.repeat(32);
const CODECS: ContactCodecName[] = ['siv', 'rc4-md5'];
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

const contactArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 120 }),
  fc
    .tuple(
      fc.option(fc.stringMatching(/^[A-Za-z0-9._+%-]{1,20}$/), { nil: undefined }),
      fc.oneof(fc.ipV4(), fc.ipV6().map((ip) => `[${ip}]`), fc.domain()),
      fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
      fc.array(fc.stringMatching(/^[a-z]{1,8}(=[A-Za-z0-9.]{1,8})?$/), { maxLength: 3 }),
    )
    .map(([user, host, port, params]) =>
      `${user === undefined ? '' : `${user}@`}${host}${port === undefined ? '' : `:${port}`}${params.map((p) => `;${p}`).join('')}`,
    ),
);

/** n legs with distinct keys and distinct contacts. */
const legsArb = fc
  .uniqueArray(fc.string({ minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 6 })
  .map((keys) => keys.map((key, i): RewriterLeg => ({ key, contact: `sip:10.9.0.${i + 1}` })));

const caseArb = legsArb.chain((legs) =>
  fc.record({
    legs: fc.constant(legs),
    i: fc.nat(legs.length - 1),
    o: fc.nat(legs.length - 1),
    contact: contactArb,
  }),
);

for (const codec of CODECS) {
  describe(`${codec} codec properties`, () => {
    it('decode(encode(x)) = x for any contact and leg pair', () => {
      fc.assert(
        fc.property(caseArb, ({ legs, i, o, contact }) => {
          const rw = new ContactRewriter({ legs, key: KEY, codec });
          const token = rw.encode(contact, legs[i]!, legs[o]!);
          expect(token).toMatch(codec === 'siv' ? /^s[A-Z2-7]+$/ : /^b[A-Z2-7]+$/);
          expect(rw.decode(token, legs[o]!)).toMatchObject({ contact, leg: legs[i] });
          expect(rw.decode(token, legs[o]!, legs[i]!)).toMatchObject({ contact, leg: legs[i] });
        }),
        { numRuns: 300 },
      );
    });

    it('rejects any change to a token', () => {
      const editArb = fc.oneof(
        fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), by: fc.nat(31) }),
        fc.record({ kind: fc.constant('replaceAny' as const), at: fc.nat(), by: fc.string({ minLength: 1, maxLength: 1 }) }),
        fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), by: fc.constant(0) }),
        fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), by: fc.nat(31) }),
        fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), by: fc.constant(0) }),
      );
      fc.assert(
        fc.property(caseArb, editArb, ({ legs, i, o, contact }, edit) => {
          const rw = new ContactRewriter({ legs, key: KEY, codec, accept: codec === 'siv' ? ['siv', 'rc4-md5'] : ['rc4-md5', 'siv'] });
          const token = rw.encode(contact, legs[i]!, legs[o]!);
          const at = edit.at % token.length;
          let changed: string;
          switch (edit.kind) {
            case 'replace': {
              let c = ALPHABET[edit.by as number]!;
              if (c === token[at]) c = ALPHABET[((edit.by as number) + 1) % 32]!;
              changed = token.slice(0, at) + c + token.slice(at + 1);
              break;
            }
            case 'replaceAny':
              changed = token.slice(0, at) + (edit.by as string) + token.slice(at + 1);
              break;
            case 'delete':
              changed = token.slice(0, at) + token.slice(at + 1);
              break;
            case 'insert':
              changed = token.slice(0, at) + ALPHABET[edit.by as number]! + token.slice(at);
              break;
            case 'truncate':
              changed = token.slice(0, at);
              break;
          }
          fc.pre(changed !== token);
          expect(rw.decode(changed, legs[o]!)).toBeUndefined();
          expect(rw.decode(changed, legs[o]!, legs[i]!)).toBeUndefined();
        }),
        { numRuns: 500 },
      );
    });

    it('rejects a token under any other leg list', () => {
      const mutationArb = fc.record({
        kind: fc.constantFrom('add', 'remove', 'swap', 'rename'),
        a: fc.nat(),
        b: fc.nat(),
        name: fc.string({ minLength: 1, maxLength: 30 }),
      });
      fc.assert(
        fc.property(caseArb, mutationArb, ({ legs, i, o, contact }, m) => {
          const token = new ContactRewriter({ legs, key: KEY, codec }).encode(contact, legs[i]!, legs[o]!);
          const other = [...legs];
          const a = m.a % other.length;
          const b = m.b % other.length;
          if (m.kind === 'add') other.splice(a, 0, { key: m.name, contact: 'sip:10.9.9.9' });
          else if (m.kind === 'remove' && other.length > 1) other.splice(a === o ? (a + 1) % other.length : a, 1);
          else if (m.kind === 'swap') [other[a], other[b]] = [other[b]!, other[a]!];
          else other[a] = { ...other[a]!, key: m.name };
          fc.pre(legListIdentity(other.map((l) => l.key as string)) !== legListIdentity(legs.map((l) => l.key as string)));
          const back = other.includes(legs[o]!) ? legs[o]! : other[0]!;
          expect(new ContactRewriter({ legs: other, key: KEY, codec }).decode(token, back)).toBeUndefined();
        }),
        { numRuns: 300 },
      );
    });

    it('rejects the wrong direction: another incoming leg, or another original leg to check', () => {
      fc.assert(
        fc.property(
          caseArb.filter((c) => c.legs.length > 1),
          fc.nat(),
          ({ legs, i, o, contact }, k) => {
            const rw = new ContactRewriter({ legs, key: KEY, codec });
            const token = rw.encode(contact, legs[i]!, legs[o]!);
            const wrongIn = (o + 1 + (k % (legs.length - 1))) % legs.length;
            const wrongOrig = (i + 1 + (k % (legs.length - 1))) % legs.length;
            expect(rw.decode(token, legs[wrongIn]!)).toBeUndefined();
            expect(rw.decode(token, legs[o]!, legs[wrongOrig]!)).toBeUndefined();
          },
        ),
        { numRuns: 300 },
      );
    });
  });
}
