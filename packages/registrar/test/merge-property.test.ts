// Property tests (fast-check) of the RFC 3261 §10.3 step 7 merge: for any current bindings and any
// REGISTER, the outcome is what the RFC says binding by binding — stale requests change nothing,
// mentioned contacts are added/refreshed/removed, unmentioned ones stay, no contact appears twice.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sipUriEquals } from '@sipway/sip-message';
import { applyRegister } from '../src/index.js';
import type { Binding, RegisterPolicy } from '../src/index.js';

const NOW = Date.UTC(2030, 0, 1);
const policy: RegisterPolicy = { minExpires: 30, maxExpires: 300, defaultExpires: 300, maxBindings: 1000, supported: new Set() };
// Contact i can be written in several equal forms (§19.1.4: host case-insensitive).
const contact = (i: number, upper: boolean): string => `sip:u${i}@${upper ? 'HOST' : 'host'}${i}.example`;

const currentArb = fc.uniqueArray(
  fc.record({ i: fc.integer({ min: 0, max: 5 }), callId: fc.constantFrom('a', 'b'), cseq: fc.integer({ min: 1, max: 5 }), life: fc.integer({ min: 1, max: 300 }) }),
  { selector: (b) => b.i, maxLength: 6 },
);
const updateArb = fc.uniqueArray(
  fc.record({ i: fc.integer({ min: 0, max: 7 }), upper: fc.boolean(), expires: fc.oneof(fc.constant(0), fc.integer({ min: 30, max: 300 })) }),
  { selector: (u) => u.i, minLength: 1, maxLength: 5 },
);

describe('applyRegister merge properties', () => {
  it('matches RFC 3261 §10.3 step 7 binding by binding', () => {
    fc.assert(
      fc.property(currentArb, updateArb, fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 1, max: 6 }), (cur, ups, callId, cseq) => {
        const current: Binding[] = cur.map((b) => ({ contact: contact(b.i, false), expires: NOW + b.life * 1000, callId: b.callId, cseq: b.cseq, updated: NOW - 1000 }));
        const intent = { kind: 'update' as const, aor: 'sip:x@example.com', callId, cseq, updates: ups.map((u) => ({ contact: contact(u.i, u.upper), expires: u.expires })) };
        const out = applyRegister(intent, current, { now: NOW, policy });
        const existing = (i: number) => current.find((b) => sipUriEquals(b.contact, contact(i, false)));
        const stale = ups.some((u) => {
          const b = existing(u.i);
          return b !== undefined && b.callId === callId && b.cseq > cseq;
        });
        if (stale) {
          expect(out).toMatchObject({ kind: 'reply', status: 500 });
          return;
        }
        expect(out.kind).toBe('save');
        if (out.kind !== 'save') return;
        const after = out.bindings;
        // No contact twice.
        for (let a = 0; a < after.length; a++) for (let b = a + 1; b < after.length; b++) expect(sipUriEquals(after[a]!.contact, after[b]!.contact)).toBe(false);
        const found = (i: number) => after.find((b) => sipUriEquals(b.contact, contact(i, false)));
        for (const u of ups) {
          const before = existing(u.i);
          if (before !== undefined && before.callId === callId && before.cseq === cseq) {
            expect(found(u.i)).toEqual(before); // retransmission: untouched
          } else if (u.expires === 0) {
            expect(found(u.i)).toBeUndefined();
          } else {
            expect(found(u.i)).toMatchObject({ expires: NOW + u.expires * 1000, callId, cseq, updated: NOW });
          }
        }
        // Bindings the request does not mention are kept as they were.
        for (const b of current) {
          if (ups.some((u) => sipUriEquals(b.contact, contact(u.i, false)))) continue;
          expect(after).toContainEqual(b);
        }
        expect(after.length).toBeLessThanOrEqual(current.length + ups.length);
      }),
      { numRuns: 500 },
    );
  });

  it('Contact: * removes exactly the bindings it may (any other Call-ID, or a higher CSeq) or nothing', () => {
    fc.assert(
      fc.property(currentArb, fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 1, max: 6 }), (cur, callId, cseq) => {
        const current: Binding[] = cur.map((b) => ({ contact: contact(b.i, false), expires: NOW + b.life * 1000, callId: b.callId, cseq: b.cseq, updated: NOW }));
        const out = applyRegister({ kind: 'remove-all', aor: 'sip:x@example.com', callId, cseq }, current, { now: NOW, policy });
        if (current.some((b) => b.callId === callId && b.cseq > cseq)) {
          expect(out).toMatchObject({ kind: 'reply', status: 500 });
        } else {
          expect(out).toEqual({ kind: 'save', bindings: current.filter((b) => b.callId === callId && b.cseq === cseq) });
        }
      }),
      { numRuns: 300 },
    );
  });
});
