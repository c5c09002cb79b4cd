import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BENCODE_MAX_DEPTH, BencodeSyntaxError, bencodeDecode, bencodeEncode, type BencodeValue } from '../src/index.js';

// The codec of the ng control protocol: exact wire format, round trips for any value, and the
// decoder refuses every malformed or hostile input with a BencodeSyntaxError (never a crash, a
// hang or a huge allocation).

const enc = (v: Parameters<typeof bencodeEncode>[0]): string => bencodeEncode(v).toString('latin1');
const dec = (s: string): BencodeValue => bencodeDecode(Buffer.from(s, 'latin1'));

describe('bencode wire format', () => {
  it('encodes the ng examples of rtpengine byte for byte', () => {
    expect(enc({ command: 'ping' })).toBe('d7:command4:pinge');
    expect(enc({ result: 'pong' })).toBe('d6:result4:ponge');
    expect(enc({ 'rtcp-mux': ['offer', 'require'], ICE: 'force' })).toBe('d3:ICE5:force8:rtcp-muxl5:offer7:requireee');
  });

  it('sorts keys by bytes, skips undefined members, writes integers and byte strings', () => {
    expect(enc({ b: 1, a: undefined, A: -7, c: 0 })).toBe('d1:Ai-7e1:bi1e1:ci0ee');
    expect(enc(Buffer.from([0, 255]))).toBe('2:\u0000\u00ff');
    expect(enc('')).toBe('0:');
    expect(enc([])).toBe('le');
    expect(enc({})).toBe('de');
  });

  it('counts string lengths in UTF-8 bytes', () => {
    expect(bencodeEncode('é€').toString('utf8')).toBe('5:é€');
    expect(bencodeDecode(bencodeEncode({ sdp: 's=é€\r\n' }))).toEqual({ sdp: 's=é€\r\n' });
  });

  it('refuses to encode what bencode has no form for', () => {
    expect(() => bencodeEncode(1.5)).toThrow(TypeError);
    expect(() => bencodeEncode(Number.MAX_SAFE_INTEGER + 1)).toThrow(TypeError);
    expect(() => bencodeEncode(true as unknown as string)).toThrow(TypeError);
    let deep: unknown = 'x';
    for (let i = 0; i <= BENCODE_MAX_DEPTH + 1; i++) deep = [deep];
    expect(() => bencodeEncode(deep as string)).toThrow(TypeError);
  });

  it('decodes unsorted dictionaries as rtpengine sends them, into null-prototype objects', () => {
    const v = dec('d6:result2:ok3:sdp5:v=0\r\n7:warning3:hmme') as Record<string, unknown>;
    expect(v).toEqual({ result: 'ok', sdp: 'v=0\r\n', warning: 'hmm' });
    const proto = dec('d9:__proto__d1:ai1eee') as Record<string, unknown>;
    expect(Object.getPrototypeOf(proto)).toBeNull();
    expect(Object.keys(proto)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['a']).toBeUndefined();
  });

  it('decodes within a slice of a datagram (after the cookie)', () => {
    const datagram = Buffer.from('abc_1 d6:result4:ponge', 'latin1');
    expect(bencodeDecode(datagram, 6)).toEqual({ result: 'pong' });
  });
});

describe('bencode decoder refuses malformed input', () => {
  const bad: Array<[string, string]> = [
    ['', 'unexpected end'],
    ['i12', 'unterminated number'],
    ['ie', 'empty number'],
    ['i-e', 'empty number'],
    ['i03e', 'leading zero'],
    ['i-0e', 'negative zero'],
    ['i1x2e', 'not a digit'],
    ['i1234567890123456e', 'number too long'],
    ['5:abc', 'overruns'],
    ['99999999999999:a', 'overruns'],
    ['999999999999999999:a', 'number too long'],
    ['-1:a', 'unexpected byte'],
    ['01:a', 'leading zero'],
    ['3abc', 'not a digit'],
    ['l1:a', 'unterminated list'],
    ['d1:a', 'unexpected end'],
    ['d1:ai1e', 'unterminated dictionary'],
    ['di1ei2ee', 'dictionary key is not a string'],
    ['d1:ai1e1:ai2ee', 'repeated key'],
    ['i1ei2e', 'trailing bytes'],
    ['x', 'unexpected byte'],
  ];
  for (const [input, why] of bad) {
    it(`${JSON.stringify(input)}: ${why}`, () => {
      expect(() => dec(input)).toThrow(BencodeSyntaxError);
      expect(() => dec(input)).toThrow(why);
    });
  }

  it('bounds nesting (a datagram of 64 KiB of "l" does not overflow the stack)', () => {
    expect(() => dec('l'.repeat(65_000))).toThrow('nesting too deep');
    expect(() => dec('d1:a'.repeat(BENCODE_MAX_DEPTH + 1))).toThrow('nesting too deep');
    const ok = 'l'.repeat(BENCODE_MAX_DEPTH) + 'e'.repeat(BENCODE_MAX_DEPTH);
    expect(() => dec(ok)).not.toThrow();
  });
});

const valueArb: fc.Arbitrary<BencodeValue> = fc.letrec<{ value: BencodeValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }).filter((n) => Math.abs(n) < 1e15),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 12 }), tie('value'), { maxKeys: 5 }),
  ),
})).value;

describe('bencode properties', () => {
  it('decode(encode(v)) equals v for any value', () => {
    fc.assert(
      fc.property(valueArb, (v) => {
        expect(bencodeDecode(bencodeEncode(v))).toEqual(v);
      }),
      { numRuns: 500 },
    );
  });

  it('encoding is canonical: encode(decode(bytes)) gives the same bytes for sorted input', () => {
    fc.assert(
      fc.property(valueArb, (v) => {
        const bytes = bencodeEncode(v);
        expect(bencodeEncode(bencodeDecode(bytes)).equals(bytes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('any byte string either decodes or throws BencodeSyntaxError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          bencodeDecode(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(BencodeSyntaxError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a truncated or extended encoding never decodes to the original', () => {
    fc.assert(
      fc.property(valueArb, fc.nat(), (v, cut) => {
        const bytes = bencodeEncode(v);
        const at = cut % bytes.length;
        expect(() => bencodeDecode(bytes.subarray(0, at))).toThrow(BencodeSyntaxError);
        expect(() => bencodeDecode(Buffer.concat([bytes, Buffer.from('e')]))).toThrow(BencodeSyntaxError);
      }),
      { numRuns: 300 },
    );
  });
});
