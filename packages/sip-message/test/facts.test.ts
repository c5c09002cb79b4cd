/** Small SIP facts that live in one place: the stateless To tag, AOR, default port, canonical host. */
import { describe, expect, it } from 'vitest';
import { canonicalAor, canonicalHost, defaultPort, parseMessage, parseUri, statelessToTag, uriDefaultPort } from '../src/index.js';
import type { SipRequest } from '../src/index.js';

function req(method: string, opts: { branch?: string; via?: string; cseq?: number; toTag?: string } = {}): SipRequest {
  const via = opts.via ?? `SIP/2.0/UDP 192.0.2.1:5060;branch=${opts.branch ?? 'z9hG4bK-1'}`;
  return parseMessage(
    [
      `${method} sip:bob@example.com SIP/2.0`,
      `Via: ${via}`,
      'Max-Forwards: 70',
      'From: <sip:alice@example.com>;tag=a1',
      `To: <sip:bob@example.com>${opts.toTag === undefined ? '' : `;tag=${opts.toTag}`}`,
      'Call-ID: c1',
      `CSeq: ${opts.cseq ?? 1} ${method}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  ) as SipRequest;
}

describe('statelessToTag (RFC 3261 §16.11, §8.2.6.2)', () => {
  it('is the same for a retransmission and for the ACK of the answer, another for another transaction', () => {
    const tag = statelessToTag(req('INVITE'));
    expect(tag).toMatch(/^[0-9a-f]{16}$/);
    expect(statelessToTag(req('INVITE'))).toBe(tag);
    expect(statelessToTag(req('ACK', { toTag: tag }))).toBe(tag);
    expect(statelessToTag(req('INVITE', { cseq: 2 }))).not.toBe(tag);
    // The ACK of a client that made a new branch for it still matches.
    expect(statelessToTag(req('ACK', { branch: 'z9hG4bK-2', toTag: tag }))).toBe(tag);
  });

  it('keeps a prefix within 16 characters; a Via that cannot be read does not matter', () => {
    expect(statelessToTag(req('INVITE'), 'da')).toMatch(/^da[0-9a-f]{14}$/);
    expect(statelessToTag(req('INVITE', { via: 'garbage' }))).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('canonicalAor (RFC 3261 §10.3 step 5, §19.1.4)', () => {
  it('keeps a needed escape so the AOR stays a valid URI, and unescapes the unneeded ones', () => {
    expect(canonicalAor('sip:a%20b@Example.COM')).toBe('sip:a%20b@example.com');
    expect(canonicalAor(parseUri('sip:a%20b@example.com'))).toBe(canonicalAor('sip:a%20b@example.com'));
    expect(canonicalAor('sip:%61lice@example.com')).toBe('sip:alice@example.com');
  });

  it('drops password, port, parameters and headers; keeps scheme and user case; brackets IPv6', () => {
    expect(canonicalAor('sip:Bob:pw@EXAMPLE.com:5061;transport=tcp?x=y')).toBe('sip:Bob@example.com');
    expect(canonicalAor('sips:bob@example.com')).toBe('sips:bob@example.com');
    expect(canonicalAor('sip:bob@[2001:DB8::1]:5060')).toBe('sip:bob@[2001:db8::1]');
    expect(canonicalAor('tel:+1234')).toBeUndefined();
    expect(canonicalAor('not a uri')).toBeUndefined();
  });
});

describe('defaultPort and uriDefaultPort (RFC 3261 §19.1.2, RFC 3263 §4.2)', () => {
  it('5061 for sips and the TLS transports, else 5060, any case', () => {
    for (const t of ['udp', 'tcp', 'ws', 'sip', 'UDP']) expect(defaultPort(t)).toBe(5060);
    for (const t of ['tls', 'wss', 'sips', 'TLS']) expect(defaultPort(t)).toBe(5061);
  });
  it('a URI: sips:, or transport=tls/wss, means 5061', () => {
    const port = (text: string): number => uriDefaultPort(parseUri(text) as never);
    expect(port('sip:h')).toBe(5060);
    expect(port('sip:h;transport=tcp')).toBe(5060);
    expect(port('sip:h;transport=TLS')).toBe(5061);
    expect(port('sip:h;transport=wss')).toBe(5061);
    expect(port('sips:h;transport=tcp')).toBe(5061);
  });
});

describe('canonicalHost', () => {
  it('one spelling per IPv6 address, IPv4-mapped as IPv4, names lower-cased', () => {
    expect(canonicalHost('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalHost('[2001:DB8:0::1]')).toBe('2001:db8::1');
    expect(canonicalHost('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(canonicalHost('192.0.2.1')).toBe('192.0.2.1');
    expect(canonicalHost('Proxy.Example.COM')).toBe('proxy.example.com');
  });
});
