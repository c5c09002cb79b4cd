import { afterEach, describe, expect, it } from 'vitest';
import { harness, invite } from './helpers.js';
import type { Harness } from './helpers.js';

// RFC 3261 §16.3 step 3 and §16.6 step 3; Net::SIP's table (reference §3.3) behind netSipMaxForwards.
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function forward(mf: string | null, options = {}, method = 'INVITE') {
  h = await harness([{ address: '127.0.0.1', port: 5060 }], { openRelay: true, ...options });
  const uac = await h.peer('127.0.0.1', 16000);
  const uas = await h.peer('127.0.0.5', 17001);
  await uac.send(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000', [], { mf, method }), h.legs[0]!);
  const outcome = await h.settled(1);
  return { outcome, uac, uas };
}

describe('Max-Forwards (RFC 3261)', () => {
  it('decrements the value by one', async () => {
    const { outcome, uas } = await forward('10');
    expect(outcome.ok).toBe(true);
    expect(uas.inbox[0]?.getHeader('max-forwards')).toBe('9');
  });

  it('forwards a request with Max-Forwards 1 as 0', async () => {
    const { uas } = await forward('1');
    expect(uas.inbox[0]?.getHeader('max-forwards')).toBe('0');
  });

  it('adds Max-Forwards: 70 when absent', async () => {
    const { uas } = await forward(null);
    expect(uas.inbox[0]?.getHeaders('max-forwards')).toEqual(['70']);
  });

  it('caps absurd values as Net::SIP does (200 → 69)', async () => {
    const { uas } = await forward('200');
    expect(uas.inbox[0]?.getHeader('max-forwards')).toBe('69');
  });

  it('honours a lower maxForwardsCap', async () => {
    const { uas } = await forward('60', { maxForwardsCap: 20 });
    expect(uas.inbox[0]?.getHeader('max-forwards')).toBe('19');
  });

  it('answers 483 at 0 with the request Vias and a To tag, and forwards nothing', async () => {
    const { outcome, uac, uas } = await forward('0');
    expect(outcome).toMatchObject({ ok: false, status: 483, code: 'too-many-hops' });
    const answer = await uac.waitFor(0);
    expect(answer.isRequest).toBe(false);
    if (answer.isRequest) return;
    expect(answer.status).toBe(483);
    expect(answer.getHeader('via')).toContain('branch=z9hG4bKuac1');
    expect(answer.to?.tag).toMatch(/^[0-9a-f]{16}$/);
    expect(uas.inbox).toHaveLength(0);
  });

  it('answers an OPTIONS with Max-Forwards 0 itself (200, RFC 3261 §16.3 step 3)', async () => {
    const { outcome, uac, uas } = await forward('0', {}, 'OPTIONS');
    expect(outcome).toMatchObject({ ok: false, status: 200, code: 'answered-options' });
    const answer = await uac.waitFor(0);
    expect(!answer.isRequest && answer.status).toBe(200);
    expect(uas.inbox).toHaveLength(0);
  });

  it('answers 483 to an OPTIONS with Max-Forwards 0 when answerOptions is off', async () => {
    const { outcome } = await forward('0', { answerOptions: false }, 'OPTIONS');
    expect(outcome).toMatchObject({ status: 483 });
  });

  it('refuses Max-Forwards above 255 as a malformed header (400)', async () => {
    const { outcome } = await forward('256');
    expect(outcome).toMatchObject({ ok: false, status: 400, code: 'invalid-message' });
  });
});

describe('Max-Forwards, Net::SIP table (netSipMaxForwards)', () => {
  const table: Array<[string | null, string | null]> = [
    ['0', '69'],
    [null, '69'],
    ['1', null],
    ['2', '1'],
    ['70', '69'],
    ['200', '69'],
  ];
  for (const [given, sent] of table) {
    it(`${given ?? 'absent'} → ${sent ?? 'refused'}`, async () => {
      const { outcome, uas } = await forward(given, { netSipMaxForwards: true });
      if (sent === null) {
        expect(outcome).toMatchObject({ ok: false, status: 483 });
        expect(uas.inbox).toHaveLength(0);
      } else {
        expect(uas.inbox[0]?.getHeaders('max-forwards')).toEqual([sent]);
      }
    });
  }

  it('with silentDrop, Max-Forwards 1 is dropped without an answer (Net::SIP exactly)', async () => {
    const { outcome, uac, uas } = await forward('1', { netSipMaxForwards: true, silentDrop: true });
    expect(outcome).toMatchObject({ ok: false, status: 483 });
    expect(outcome.ok === false && outcome.response).toBeUndefined();
    await h!.net.settle();
    expect(uac.inbox).toHaveLength(0);
    expect(uas.inbox).toHaveLength(0);
  });
});
