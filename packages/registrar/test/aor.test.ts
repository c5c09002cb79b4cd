import { describe, expect, it } from 'vitest';
import { toAor } from '../src/index.js';

describe('toAor: canonical address-of-record (RFC 3261 §10.3 step 5)', () => {
  it('drops port, parameters, headers and password; lower-cases the host', () => {
    expect(toAor('sip:alice@EXAMPLE.com:5060;transport=tcp?subject=x')).toBe('sip:alice@example.com');
    expect(toAor('sip:alice:secret@example.com')).toBe('sip:alice@example.com');
  });

  it('keeps the user case-sensitive and the scheme (sips is another AOR)', () => {
    expect(toAor('sip:Alice@example.com')).toBe('sip:Alice@example.com');
    expect(toAor('sips:alice@example.com')).toBe('sips:alice@example.com');
  });

  it('normalises escapes: %-encoded unreserved characters are decoded, needed ones kept', () => {
    expect(toAor('sip:%61lice@example.com')).toBe('sip:alice@example.com');
    expect(toAor('sip:a%20b@example.com')).toBe('sip:a%20b@example.com');
  });

  it('keeps IPv6 hosts in brackets, lower-cased; an AOR without user is scheme:host', () => {
    expect(toAor('sip:bob@[2001:DB8::1]:5070')).toBe('sip:bob@[2001:db8::1]');
    expect(toAor('sip:Example.com')).toBe('sip:example.com');
  });

  it('undefined for what cannot be an AOR', () => {
    expect(toAor('tel:+15551234')).toBeUndefined();
    expect(toAor('mailto:a@example.com')).toBeUndefined();
    expect(toAor('not a uri')).toBeUndefined();
    expect(toAor('sip:@example.com')).toBeUndefined();
  });
});
