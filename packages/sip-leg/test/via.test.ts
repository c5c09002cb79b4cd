import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseVia } from '@sipway/sip-message';
import { readVia, responseTarget, stampVia } from '../src/index.js';

describe('stampVia (RFC 3261 §18.2.1, RFC 3581 §4)', () => {
  const src4 = { address: '198.51.100.7', port: 40001 };
  it.each([
    ['sent-by equals source, no rport: unchanged', 'SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKa', src4, undefined],
    ['sent-by differs: received appended', 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa', src4, 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa;received=198.51.100.7'],
    ['rport without value: filled, received added although host matches', 'SIP/2.0/UDP 198.51.100.7;rport;branch=z9hG4bKa', src4, 'SIP/2.0/UDP 198.51.100.7;rport=40001;branch=z9hG4bKa;received=198.51.100.7'],
    ['rport with a value is left alone', 'SIP/2.0/UDP 198.51.100.7;rport=9;branch=z9hG4bKa', src4, undefined],
    ['a stale received is replaced', 'SIP/2.0/UDP h.example;received=10.9.9.9;branch=z9hG4bKa', src4, 'SIP/2.0/UDP h.example;received=198.51.100.7;branch=z9hG4bKa'],
    ['case of RPORT and spaces around ; do not matter', 'SIP / 2.0 / UDP 10.0.0.1 ; RPORT ; branch=z9hG4bKa', src4, 'SIP / 2.0 / UDP 10.0.0.1;rport=40001;branch=z9hG4bKa;received=198.51.100.7'],
    ['IPv6 in canonical and long form are the same address', 'SIP/2.0/TCP [0:0:0:0:0:0:0:1]:5060;branch=z9hG4bKa', { address: '::1', port: 1 }, undefined],
    ['IPv6 received has no brackets', 'SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKa', { address: '::1', port: 1 }, 'SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKa;received=::1'],
    ['IPv4-mapped source compares as IPv4', 'SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKa', { address: '::ffff:127.0.0.1', port: 1 }, undefined],
    ['rport= with an empty value counts as none: filled', 'SIP/2.0/UDP 198.51.100.7;rport=;branch=z9hG4bKa', src4, 'SIP/2.0/UDP 198.51.100.7;rport=40001;branch=z9hG4bKa;received=198.51.100.7'],
    ['quoted parameter with ; inside survives', 'SIP/2.0/UDP 10.0.0.1;x="a;b";branch=z9hG4bKa', src4, 'SIP/2.0/UDP 10.0.0.1;x="a;b";branch=z9hG4bKa;received=198.51.100.7'],
  ])('%s', (_name, via, source, expected) => {
    expect(stampVia(via, source)).toBe(expected);
    // The leg passes the message's cached parse: the same answer.
    expect(stampVia(via, source, parseVia(via))).toBe(expected);
  });

  it('a malformed Via is not stamped, and readVia says undefined', () => {
    for (const bad of ['', 'SIP/2.0 10.0.0.1', 'SIP/2.0/UDP', 'SIP/2.0/UDP 10.0.0.1:99999;branch=z9hG4bKa']) {
      expect(stampVia(bad, src4), bad).toBeUndefined();
      expect(readVia(bad), bad).toBeUndefined();
    }
  });

  it('is idempotent for the same source', () => {
    const host = fc.oneof(fc.ipV4(), fc.ipV6().map((a) => `[${a}]`), fc.domain());
    fc.assert(
      fc.property(host, fc.option(fc.integer({ min: 1, max: 65535 })), fc.boolean(), fc.ipV4(), fc.integer({ min: 1, max: 65535 }), (h, port, rport, address, srcPort) => {
        const via = `SIP/2.0/UDP ${h}${port === null ? '' : `:${port}`};branch=z9hG4bKp${rport ? ';rport' : ''}`;
        const once = stampVia(via, { address, port: srcPort }) ?? via;
        const twice = stampVia(once, { address, port: srcPort }) ?? once;
        expect(twice).toBe(once);
        const parsed = readVia(once);
        expect(parsed?.params.get('branch')).toBe('z9hG4bKp');
        if (rport) expect(parsed?.params.get('rport')).toBe(String(srcPort));
      }),
      { numRuns: 300 },
    );
  });
});

describe('responseTarget (RFC 3261 §18.2.2, RFC 3581 §4)', () => {
  it.each([
    ['received + rport over UDP', 'SIP/2.0/UDP 10.9.9.9:5099;branch=z9hG4bK1;received=127.0.0.1;rport=16001', { transport: 'udp', address: '127.0.0.1', port: 16001, family: 4 }],
    ['received without rport: sent-by port', 'SIP/2.0/UDP 10.9.9.9:5099;branch=z9hG4bK1;received=127.0.0.1', { transport: 'udp', address: '127.0.0.1', port: 5099, family: 4 }],
    ['received without port: 5060', 'SIP/2.0/UDP host.example;received=192.0.2.4', { transport: 'udp', address: '192.0.2.4', port: 5060, family: 4 }],
    ['TLS default port 5061', 'SIP/2.0/TLS host.example;received=192.0.2.4', { transport: 'tls', address: '192.0.2.4', port: 5061, family: 4 }],
    ['TCP ignores rport (new connections go to sent-by port)', 'SIP/2.0/TCP 192.0.2.4:5070;rport=33333', { transport: 'tcp', address: '192.0.2.4', port: 5070, family: 4 }],
    ['maddr wins', 'SIP/2.0/UDP 192.0.2.4:5070;maddr=192.0.2.99;received=192.0.2.5', { transport: 'udp', address: '192.0.2.99', port: 5070, family: 4 }],
    ['IPv6 sent-by', 'SIP/2.0/UDP [2001:db8::9]:5080;branch=z9hG4bK1', { transport: 'udp', address: '2001:db8::9', port: 5080, family: 6 }],
    ['WSS', 'SIP/2.0/WSS abc.invalid;received=::1', { transport: 'wss', address: '::1', port: 5061, family: 6 }],
  ])('%s', (_name, via, destination) => {
    expect(responseTarget(via)).toMatchObject({ kind: 'address', destination });
  });

  it('names a host that needs resolution', () => {
    expect(responseTarget('SIP/2.0/TCP proxy.example.com:5070;branch=z9hG4bK1')).toEqual({ kind: 'host', transport: 'tcp', host: 'proxy.example.com', port: 5070 });
  });

  it('rejects what it cannot use', () => {
    expect(responseTarget(undefined).kind).toBe('invalid');
    expect(responseTarget('garbage').kind).toBe('invalid');
    expect(responseTarget('SIP/2.0/SCTP 192.0.2.1').kind).toBe('invalid');
    expect(responseTarget('SIP/2.0/UDP 192.0.2.1:99999').kind).toBe('invalid');
  });
});
