// RFC 5118 (SIP torture tests for IPv6), every message of §4: IPv6 references in the
// Request-URI, Via (sent-by and received), Contact and bodies parse, keep their bytes and give
// the right host and port; the unbracketed address of ipv6-bad is refused with 400.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  SipParseError,
  isRequest,
  parseMessage,
  parseUri,
  serializeMessage,
  validateMessage,
  type SipMessage,
  type SipUri,
} from '../src/index.js';

interface Entry {
  section: string;
  valid: boolean;
  bytes: number;
  ruriHost?: string;
  ruriPort?: number | null;
  viaHosts?: string[];
  viaPorts?: Array<number | null>;
  received?: string;
  contactHost?: string;
  contentLength?: number;
  rfcContentLength?: number;
  status?: number[];
}

const dir = new URL('./fixtures/rfc5118/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as { messages: Record<string, Entry> };
const load = (name: string): Buffer => readFileSync(new URL(`${name}.dat`, dir));
const entries = Object.entries(manifest.messages);
const valid = entries.filter(([, e]) => e.valid);
const stripBrackets = (s: string | undefined): string | undefined => s?.replace(/^\[(.*)\]$/, '$1');

describe('RFC 5118 fixtures', () => {
  it('has the 12 messages of RFC 5118 §4 with CRLF line ends', () => {
    expect(entries).toHaveLength(12);
    for (const [name, e] of entries) {
      const b = load(name);
      expect(b.length, name).toBe(e.bytes);
      expect(b.toString('latin1').replace(/\r\n/g, ''), name).not.toContain('\n');
      expect(b.includes('\r\n\r\n'), name).toBe(true);
    }
  });
});

describe('RFC 5118 valid messages', () => {
  it.each(valid)('%s parses with the right IPv6 hosts and ports', (name, e) => {
    const m = parseMessage(load(name));
    if (!isRequest(m)) throw new Error(`${name} is a request`);
    const ruri = m.requestUri as SipUri;
    expect(ruri.host).toBe(e.ruriHost);
    expect(ruri.port ?? null).toBe(e.ruriPort);
    if (e.ruriHost?.includes(':')) expect(ruri.hostType).toBe('ipv6');
    expect(m.via.map((v) => v.host)).toEqual(e.viaHosts);
    if (e.viaPorts !== undefined) expect(m.via.map((v) => v.port ?? null)).toEqual(e.viaPorts);
    if (e.received !== undefined) expect(stripBrackets(m.topVia?.received)).toBe(e.received);
    if (e.contactHost !== undefined) expect((parseUri(m.contacts[0]!.uri) as SipUri).host).toBe(e.contactHost);
    if (e.contentLength !== undefined) {
      expect(m.contentLength).toBe(e.contentLength);
      expect(m.body.length).toBe(e.contentLength);
    }
  });

  it.each(valid)('%s is clean for validateMessage', (name) => {
    expect(validateMessage(parseMessage(load(name)))).toEqual([]);
  });

  it.each(valid)('%s serializes unmodified to its own bytes', (name) => {
    const input = load(name);
    const out = serializeMessage(parseMessage(input));
    expect(Buffer.from(out).equals(input)).toBe(true);
    expect(parseMessage(out).headers).toEqual(parseMessage(input).headers);
  });

  it('port-ambiguous and port-unambiguous name different targets', () => {
    const a = (parseMessage(load('port-ambiguous')) as { requestUri: SipUri }).requestUri;
    const b = (parseMessage(load('port-unambiguous')) as { requestUri: SipUri }).requestUri;
    expect([a.host, a.port]).toEqual(['2001:db8::10:5070', undefined]);
    expect([b.host, b.port]).toEqual(['2001:db8::10', 5070]);
  });

  it('mult-ip-in-header: received of an IPv6 sent-by may be IPv4', () => {
    const m = parseMessage(load('mult-ip-in-header'));
    expect(m.via[2]?.received).toBe('192.0.2.200');
    expect(m.via[2]?.transport).toBe('TCP');
  });

  it('the RFC Content-Length of ipv6-in-sdp is larger than its body: as a datagram that is a 400', () => {
    // The RFC's own value (268) counts more octets than the message has (RFC 3261 §18.3).
    const rfc = Buffer.from(load('ipv6-in-sdp').toString('latin1').replace('Content-Length: 251', 'Content-Length: 268'), 'latin1');
    let error: unknown;
    try {
      parseMessage(rfc);
    } catch (e) {
      error = e;
    }
    expect(SipParseError.isInstance(error)).toBe(true);
    expect((error as SipParseError).status).toBe(400);
  });
});

describe('RFC 5118: a proxy forwarding over IPv6', () => {
  it.each(valid)('%s: inserting an IPv6 Via with an IPv6 received keeps the rest and reads back', (name) => {
    const input = load(name);
    const m = parseMessage(input);
    const before = m.via.map((v) => v.raw);
    m.insertHeader('Via', 'SIP/2.0/UDP [2001:db8::53]:5060;branch=z9hG4bKv6proxy;received=[2001:db8::99];rport=5062');
    const again = parseMessage(serializeMessage(m));
    const top = again.topVia!;
    expect([top.host, top.port, top.sentBy, top.branch, top.rport]).toEqual(['2001:db8::53', 5060, '[2001:db8::53]:5060', 'z9hG4bKv6proxy', 5062]);
    expect(stripBrackets(top.received)).toBe('2001:db8::99');
    expect(again.via.slice(1).map((v) => v.raw)).toEqual(before);
    expect(validateMessage(again)).toEqual([]);
  });
});

describe('RFC 5118 invalid message', () => {
  it('ipv6-bad: an unbracketed IPv6 Request-URI is refused with 400', () => {
    let message: SipMessage | undefined;
    try {
      message = parseMessage(load('ipv6-bad'));
    } catch (error) {
      expect(SipParseError.isInstance(error)).toBe(true);
      expect((error as SipParseError).status).toBe(400);
      return;
    }
    const problems = validateMessage(message);
    expect(problems.map((p) => p.status)).toEqual([400]);
  });
});
