import { describe, expect, it } from 'vitest';
import {
  CONTACT_KEY_ENV,
  CONTACT_KEY_PREVIOUS_ENV,
  ContactRewriterError,
  deriveRc4Md5Keys,
  parseContactKey,
  processRandomKey,
  resolveContactKeys,
} from '../src/index.js';
import { toHex } from './netsip-fixture.js';

const HEX32 = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const B64 = Buffer.from(HEX32, 'hex').toString('base64');

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return ContactRewriterError.isInstance(error) ? error.code : `other: ${String(error)}`;
  }
  return undefined;
}

describe('parseContactKey', () => {
  it('reads hex, base64 and base64url, with or without a prefix', () => {
    for (const text of [HEX32, HEX32.toUpperCase(), `hex:${HEX32}`, `HEX:${HEX32}`, B64, `base64:${B64}`,
      B64.replace(/=+$/, ''), Buffer.from(HEX32, 'hex').toString('base64url'), `  ${HEX32}\n`]) {
      expect(toHex(parseContactKey(text)), text).toBe(HEX32);
    }
    expect(toHex(parseContactKey(Buffer.from(HEX32, 'hex')))).toBe(HEX32);
  });

  it('takes an even run of hex digits as hex; base64: forces base64', () => {
    const ambiguous = 'deadbeefdeadbeefdeadbeefdeadbeef';
    expect(parseContactKey(ambiguous).length).toBe(16);
    expect(parseContactKey(`base64:${ambiguous}`).length).toBe(24);
  });

  it('rejects short, long, malformed and non-canonical keys with CONTACT_KEY_INVALID', () => {
    for (const bad of ['', '00'.repeat(15), 'hex:abc', `hex:${HEX32}zz`, 'not a key!', 'base64:****', `${B64}x`,
      'QQ=', 'QR==' + 'A'.repeat(20), 'A'.repeat(3000), 'g'.repeat(2000)]) {
      expect(code(() => parseContactKey(bad)), bad).toBe('CONTACT_KEY_INVALID');
    }
    expect(code(() => parseContactKey(new Uint8Array(8)))).toBe('CONTACT_KEY_INVALID');
    expect(code(() => parseContactKey(42 as unknown as string))).toBe('CONTACT_KEY_INVALID');
  });

  it('copies the bytes it was given', () => {
    const input = Buffer.from(HEX32, 'hex');
    const key = parseContactKey(input);
    input[0] = 0xff;
    expect(key[0]).toBe(0);
  });
});

describe('resolveContactKeys', () => {
  it('prefers the option over the environment', () => {
    const keys = resolveContactKeys({ key: HEX32, env: { [CONTACT_KEY_ENV]: B64.replace('A', 'B') } });
    expect(keys.source).toBe('option');
    expect(toHex(keys.current)).toBe(HEX32);
  });

  it('reads SIPWAY_CONTACT_KEY and SIPWAY_CONTACT_KEY_PREVIOUS', () => {
    const prev1 = 'ff'.repeat(16);
    const prev2 = Buffer.alloc(20, 7).toString('base64');
    const keys = resolveContactKeys({ env: { [CONTACT_KEY_ENV]: B64, [CONTACT_KEY_PREVIOUS_ENV]: ` ${prev1}, ${prev2} ` } });
    expect(keys.source).toBe('env');
    expect(toHex(keys.current)).toBe(HEX32);
    expect(keys.previous.map(toHex)).toEqual([prev1, '07'.repeat(20)]);
  });

  it('reads process.env by default', () => {
    const saved = process.env[CONTACT_KEY_ENV];
    process.env[CONTACT_KEY_ENV] = HEX32;
    try {
      expect(resolveContactKeys().source).toBe('env');
    } finally {
      if (saved === undefined) delete process.env[CONTACT_KEY_ENV];
      else process.env[CONTACT_KEY_ENV] = saved;
    }
  });

  it('falls back to one random key per process', () => {
    const a = resolveContactKeys({ env: {} });
    const b = resolveContactKeys({ env: { [CONTACT_KEY_ENV]: '  ' } });
    expect(a.source).toBe('random');
    expect(b.source).toBe('random');
    expect(a.current).toBe(b.current);
    expect(a.current).toBe(processRandomKey());
    expect(a.current.length).toBe(32);
    expect(new Set(a.current).size).toBeGreaterThan(8);
  });

  it('refuses half a configuration: previous keys without a current key', () => {
    expect(code(() => resolveContactKeys({ previousKeys: [HEX32], env: {} }))).toBe('CONTACT_OPTION_INVALID');
    expect(code(() => resolveContactKeys({ env: { [CONTACT_KEY_PREVIOUS_ENV]: HEX32 } }))).toBe('CONTACT_OPTION_INVALID');
    expect(code(() => resolveContactKeys({ env: { [CONTACT_KEY_ENV]: HEX32, [CONTACT_KEY_PREVIOUS_ENV]: 'zz' } }))).toBe(
      'CONTACT_KEY_INVALID',
    );
  });
});

describe('deriveRc4Md5Keys', () => {
  it('derives Net::SIP-sized keys, different per secret', () => {
    const a = deriveRc4Md5Keys(Buffer.from(HEX32, 'hex'));
    const b = deriveRc4Md5Keys(Buffer.from('ff'.repeat(32), 'hex'));
    expect(a.key.length).toBe(21);
    expect(a.macKey.length).toBe(4);
    expect(toHex(a.key)).not.toBe(toHex(b.key));
    expect(toHex(deriveRc4Md5Keys(Buffer.from(HEX32, 'hex')).key)).toBe(toHex(a.key));
  });
});
