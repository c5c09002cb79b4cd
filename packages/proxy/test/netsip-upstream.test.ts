import { afterEach, describe, expect, it } from 'vitest';
import { SipResolver } from '@sipway/sip-leg';
import { harness, msg } from './helpers.js';
import type { Harness } from './helpers.js';

// Scenarios of Net::SIP's own test suite (reference §9) that concern the proxy.
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('Net::SIP t/13_maddr_proxy', () => {
  it('a Route with an opaque host and maddr is sent to the maddr address', async () => {
    // Net::SIP's addresses are private (172.16/12 has no leg here): allowed explicitly.
    h = await harness([{ address: '10.0.105.10', port: 5062 }], { openRelay: true, allowPrivate: true });
    const ua = await h.peer('10.0.105.20', 5060);
    const target = await h.peer('172.25.2.1', 7070);
    await ua.send(
      msg(
        'NOTIFY sip:john@dgged.dhhd.ahhdgd SIP/2.0',
        'Via: SIP/2.0/UDP 10.0.105.20:5060;branch=z9hG4bKn1',
        'Max-Forwards: 70',
        'Route: <sip:10.0.105.10:5062;lr>',
        'Route: <sip:3Zqkv7%0Baqqhyaacc4qsip%3Ajohn%40dgged.dhhd.ahhdgd:7070;maddr=172.25.2.1;lr>',
        'From: <sip:a@example.com>;tag=1',
        'To: <sip:john@dgged.dhhd.ahhdgd>;tag=2',
        'Call-ID: maddr1',
        'CSeq: 1 NOTIFY',
        'Event: x',
      ),
      h.legs[0]!,
    );
    const got = await target.waitFor(0);
    expect(got.isRequest && got.method).toBe('NOTIFY');
    expect(got.getHeaders('route')).toEqual(['<sip:3Zqkv7%0Baqqhyaacc4qsip%3Ajohn%40dgged.dhhd.ahhdgd:7070;maddr=172.25.2.1;lr>']);
  });
});

describe('Net::SIP t/03_forward_stateless', () => {
  // Three legs that each reach one next hop; domain2proxy decides the next hop.
  const cases: Array<[string, string]> = [
    ['me@example.com', '10.0.3.9'],
    ['me@somewhere.example.com', '10.0.3.4'],
    ['me@example.org', '10.0.3.12'],
    ['me@somewhere.example.org', '10.0.3.12'],
    ['me@whatever', '10.0.3.4'],
  ];
  for (const [to, hop] of cases) {
    it(`${to} goes out the leg towards ${hop}`, async () => {
      const resolver = new SipResolver({
        domain2proxy: { 'example.com': '10.0.3.9:28', 'example.org': '10.0.3.12:28', '*.example.org': '10.0.3.12:28', '*': '10.0.3.4:28' },
      });
      h = await harness(
        [
          { address: '10.0.3.1', port: 5060, peers: ['10.0.3.4', '127.0.0.1'] },
          { address: '10.0.3.2', port: 5060, peers: ['10.0.3.9'] },
          { address: '10.0.3.3', port: 5060, peers: ['10.0.3.12'] },
        ],
        { openRelay: true, resolver },
      );
      const uac = await h.peer('127.0.0.1', 282);
      const next = await h.peer(hop, 28);
      await uac.send(
        msg(`INVITE sip:${to} SIP/2.0`, 'Via: SIP/2.0/UDP 127.0.0.1:282;branch=z9hG4bKf1', `To: <sip:${to}>`, 'From: <sip:me@example.com>;tag=1', 'Call-ID: fwd1', 'CSeq: 1 INVITE'),
        h.legs[0]!,
      );
      const got = await next.waitFor(0);
      const expectedLeg = h.legs.find((l) => (l as unknown as { peers: string[] }).peers.includes(hop))!;
      expect(got.topVia?.host).toBe(expectedLeg.address);
    });
  }
});
