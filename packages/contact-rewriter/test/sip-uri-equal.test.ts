import { describe, expect, it } from 'vitest';
import { sipUriEqual } from '../src/index.js';

describe('sipUriEqual (Net::SIP sip_uri_eq)', () => {
  it('treats default ports, host case, brackets and URI parameters as Net::SIP does', () => {
    const equal: [string, string][] = [
      ['sip:192.0.2.10', 'sip:192.0.2.10:5060'],
      ['sips:192.0.2.10', 'sips:192.0.2.10:5061'],
      ['sip:Proxy.Example.COM', 'sip:proxy.example.com'],
      ['<sip:192.0.2.10:5070>', 'sip:192.0.2.10:5070;transport=tcp'],
      ['sip:[2001:DB8::10]:5060', 'sip:[2001:db8::10]'],
      ['192.0.2.10', 'sip:192.0.2.10'],
      ['sip:alice@a.example', 'sip:alice@A.EXAMPLE:5060'],
    ];
    for (const [a, b] of equal) expect(sipUriEqual(a, b), `${a} = ${b}`).toBe(true);
  });

  it('tells different schemes, ports, hosts and users apart (user is case-sensitive)', () => {
    const different: [string, string][] = [
      ['sip:192.0.2.10', 'sips:192.0.2.10'],
      ['sip:192.0.2.10:5061', 'sips:192.0.2.10'],
      ['sip:192.0.2.10', 'sip:192.0.2.11'],
      ['sip:192.0.2.10:5062', 'sip:192.0.2.10'],
      ['sip:alice@a.example', 'sip:Alice@a.example'],
      ['sip:alice@a.example', 'sip:a.example'],
      ['sip:[2001:db8::10]:5062', 'sip:[2001:db8::10]'],
      ['not a uri', 'also not one'],
    ];
    for (const [a, b] of different) expect(sipUriEqual(a, b), `${a} ≠ ${b}`).toBe(false);
    expect(sipUriEqual('not a uri', 'not a uri')).toBe(true);
  });
});
