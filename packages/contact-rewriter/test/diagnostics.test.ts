import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CONTACT_REJECT_CHANNEL,
  ContactRewriter,
  LegSlot,
  rc4Md5Crypt,
  sivCrypt,
  type ContactRejectMessage,
  type RewriterLeg,
} from '../src/index.js';

const legs: RewriterLeg[] = [
  { key: 'in', contact: 'sip:10.0.0.1' },
  { key: 'out', contact: 'sip:203.0.113.1' },
  { key: 'third', contact: 'sip:198.51.100.1' },
];
const seen: ContactRejectMessage[] = [];
const onMessage = (message: unknown): void => {
  seen.push(message as ContactRejectMessage);
};

describe(`diagnostics channel ${CONTACT_REJECT_CHANNEL}`, () => {
  afterEach(() => {
    unsubscribe(CONTACT_REJECT_CHANNEL, onMessage);
    seen.length = 0;
  });

  it('reports why a token of ours was refused, and stays quiet for plain user parts', () => {
    subscribe(CONTACT_REJECT_CHANNEL, onMessage);
    const rw = new ContactRewriter({ legs, key: 'hex:' + '07'.repeat(16) });
    const token = rw.encode('amy@10.0.0.9', legs[0]!, legs[1]!);
    const altered = token.slice(0, 5) + (token[5] === 'A' ? 'B' : 'A') + token.slice(6);
    const outsider = new ContactRewriter({ legs, key: 'hex:' + '07'.repeat(16) }).encode('amy@10.0.0.9', { key: 'x' }, legs[1]!);

    expect(rw.decode('alice', legs[1]!)).toBeUndefined();
    expect(rw.decode('s' + token.slice(1).toLowerCase(), legs[1]!)).toBeUndefined();
    expect(rw.decode(altered, legs[1]!)).toBeUndefined();
    expect(rw.decode(token, legs[2]!)).toBeUndefined();
    expect(rw.decode(token, legs[1]!, legs[2]!)).toBeUndefined();
    expect(rw.decode(outsider, legs[1]!)).toBeUndefined();
    expect(seen.map((m) => m.reason)).toEqual(['syntax', 'mac', 'direction', 'wrong-leg', 'unknown-leg']);
    expect(seen[2]).toEqual({ token, reason: 'direction', legIn: legs[2] });
  });

  it('decode() also takes a LegSlot, as rewrite() does', () => {
    const rw = new ContactRewriter({ legs, key: 'hex:' + '07'.repeat(16) });
    const token = rw.encode('bea@10.0.0.8', legs[0]!, legs[1]!);
    const slot = new LegSlot<RewriterLeg>();
    expect(rw.decode(token, legs[1]!, slot)).toMatchObject({ contact: 'bea@10.0.0.8', leg: legs[0] });
    expect(slot.leg).toBe(legs[0]);
  });

  it('lets add2mac be a string, counted as its UTF-8 bytes', () => {
    for (const crypt of [sivCrypt({ key: new Uint8Array(16) }), rc4Md5Crypt({ key: Buffer.from('k'), macKey: Buffer.from('m'), seed: Buffer.from('SEED') })]) {
      const out = crypt.encrypt(Buffer.from('data'), 'l\u00e9g|list');
      expect(Buffer.from(out).toString('hex')).toBe(Buffer.from(crypt.encrypt(Buffer.from('data'), Buffer.from('l\u00e9g|list'))).toString('hex'));
      expect(crypt.decrypt(out, Buffer.from('l\u00e9g|list'))).toEqual(new Uint8Array(Buffer.from('data')));
      expect(crypt.decrypt(out, 'leg|list')).toBeUndefined();
    }
  });
});
