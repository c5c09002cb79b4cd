import { afterEach, describe, expect, it } from 'vitest';
import { harness, invite, msg, unsigned } from './helpers.js';
import type { Harness } from './helpers.js';

// RFC 3261 §16.4 (Route processing), §16.6 (forwarding), §16.11 (stateless branch); the
// single-leg golden behaviours of Net::SIP (reference §1.6), leg 127.0.0.1:15070.
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function setup(options = {}) {
  h = await harness([{ address: '127.0.0.1', port: 15070 }], { openRelay: true, ...options });
  const uac = await h.peer('127.0.0.1', 16000);
  const carol = await h.peer('127.0.0.5', 17001);
  return { h, uac, carol, leg: h.legs[0]! };
}

describe('single leg, Net::SIP golden behaviours', () => {
  it('INVITE: one Via of the leg on top, one Record-Route, Max-Forwards 69, Contact untouched', async () => {
    const { uac, carol, leg } = await setup();
    await uac.send(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000'), leg);
    const got = await carol.waitFor(0);
    expect(got.isRequest && got.uri).toBe('sip:carol@127.0.0.5:17001');
    const vias = got.getHeaders('via');
    expect(vias).toHaveLength(2);
    expect(vias[0]).toMatch(new RegExp(`^SIP/2.0/UDP 127.0.0.1:15070;branch=${leg.branchBase}[0-9a-f]{32}$`));
    expect(vias[1]).toBe('SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bKuac1;rport=16000;received=127.0.0.1');
    expect(got.getHeaders('record-route').map(unsigned)).toEqual(['<sip:127.0.0.1:15070;lr>']);
    expect(got.getHeader('record-route')).toMatch(/;rrsig=[A-Za-z0-9_-]{16}>$/);
    expect(got.getHeader('max-forwards')).toBe('69');
    expect(got.getHeader('contact')).toBe('<sip:alice@127.0.0.1:16000>');
    // Via and Record-Route are inserted above everything else (RFC 3261 §16.6 steps 4 and 8).
    expect(got.headers[0]?.name).toBe('Via');
    expect(got.headers[1]?.name).toBe('Record-Route');
  });

  it('REGISTER is forwarded to the Request-URI host with a Via but no Record-Route', async () => {
    const { uac, carol, leg } = await setup();
    await uac.send(
      msg(
        'REGISTER sip:127.0.0.5:17001 SIP/2.0',
        'Via: SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bKreg1',
        'Max-Forwards: 70',
        'From: <sip:alice@example.net>;tag=r1',
        'To: <sip:alice@example.net>',
        'Call-ID: reg1',
        'CSeq: 1 REGISTER',
        'Contact: <sip:alice@127.0.0.1:16000>',
      ),
      leg,
    );
    const got = await carol.waitFor(0);
    expect(got.isRequest && got.method).toBe('REGISTER');
    expect(got.getHeaders('via')).toHaveLength(2);
    expect(got.hasHeader('record-route')).toBe(false);
  });

  it('strict route: OPTIONS to the proxy with a Route → last Route becomes the Request-URI (RFC 3261 §16.4)', async () => {
    const { uac, carol, leg } = await setup();
    await uac.send(invite('sip:127.0.0.1:15070', '127.0.0.1:16000', ['Route: <sip:carol@127.0.0.5:17001>'], { method: 'OPTIONS' }), leg);
    const got = await carol.waitFor(0);
    expect(got.isRequest && got.uri).toBe('sip:carol@127.0.0.5:17001');
    expect(got.hasHeader('route')).toBe(false);
  });

  it('strict route is recognised with the default port omitted (Net::SIP bug §10.21 fixed)', async () => {
    h = await harness([{ address: '127.0.0.1', port: 5060 }], { openRelay: true });
    const uac = await h.peer('127.0.0.1', 16000);
    const carol = await h.peer('127.0.0.5', 17001);
    await uac.send(invite('sip:127.0.0.1', '127.0.0.1:16000', ['Route: <sip:carol@127.0.0.5:17001>'], { method: 'OPTIONS' }), h.legs[0]!);
    const got = await carol.waitFor(0);
    expect(got.isRequest && got.uri).toBe('sip:carol@127.0.0.5:17001');
  });

  it('loose route: our Route is removed, the next one is the next hop, the Request-URI stays', async () => {
    const { uac, carol, leg } = await setup();
    await uac.send(
      invite('sip:carol@example.net', '127.0.0.1:16000', ['Route: <sip:127.0.0.1:15070;lr>, <sip:127.0.0.5:17001;lr>'], { method: 'OPTIONS' }),
      leg,
    );
    const got = await carol.waitFor(0);
    expect(got.isRequest && got.uri).toBe('sip:carol@example.net');
    expect(got.getHeaders('route')).toEqual(['<sip:127.0.0.5:17001;lr>']);
  });

  it('our Route is recognised whichever form names the leg: default port, host name, transport=udp', async () => {
    h = await harness([{ address: '127.0.0.1', port: 5060, host: 'proxy.example.com' }], { openRelay: true });
    const uac = await h.peer('127.0.0.1', 16000);
    const carol = await h.peer('127.0.0.5', 17001);
    const routes = ['<sip:127.0.0.1;lr>', '<sip:PROXY.example.com:5060;lr>', '<sip:127.0.0.1:5060;transport=udp;lr>'];
    for (const [i, route] of routes.entries()) {
      await uac.send(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000', [`Route: ${route}`], { callId: `r${i}` }), h.legs[0]!);
      const got = await carol.waitFor(i);
      expect(got.hasHeader('route'), route).toBe(false);
    }
  });

  it('a Route of ours naming another transport is not taken for this leg', async () => {
    const { uac, leg, h } = await setup();
    await uac.send(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000', ['Route: <sip:127.0.0.1:15070;transport=tcp;lr>']), leg);
    // It names a TCP leg we do not have: so it is a foreign next hop, and no leg can reach it over TCP.
    const outcome = await h.settled(1);
    expect(outcome).toMatchObject({ ok: false, status: 503 });
  });

  it('next hop is a strict router (Route without lr): Request-URI goes to the end of the Route set (§16.6 step 7)', async () => {
    const { uac, carol, leg } = await setup();
    await uac.send(invite('sip:bob@example.org', '127.0.0.1:16000', ['Route: <sip:127.0.0.5:17001>, <sip:other.example.org;lr>']), leg);
    const got = await carol.waitFor(0);
    expect(got.isRequest && got.uri).toBe('sip:127.0.0.5:17001');
    expect(got.getHeaders('route')).toEqual(['<sip:other.example.org;lr>', '<sip:bob@example.org>']);
  });
});

describe('single leg options', () => {
  it('forceRewrite: the Contact becomes a token of this leg, and a request to it is restored', async () => {
    const { uac, carol, leg } = await setup({ forceRewrite: true });
    await uac.send(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000'), leg);
    const inv = await carol.waitFor(0);
    const contact = inv.getHeader('contact') ?? '';
    expect(contact).toMatch(/^<sip:s[A-Z2-7]+@127\.0\.0\.1:15070>$/);
    await carol.send(
      [
        `BYE ${contact.slice(1, -1)} SIP/2.0`,
        'Via: SIP/2.0/UDP 127.0.0.5:17001;branch=z9hG4bKc1',
        'From: <sip:bob@example.com>;tag=b',
        'To: <sip:alice@example.com>;tag=111',
        'Call-ID: call1@127.0.0.1',
        'CSeq: 2 BYE',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
      leg,
    );
    const bye = await uac.waitFor(0);
    expect(bye.isRequest && bye.uri).toBe('sip:alice@127.0.0.1:16000');
  });

  it('forbiddenDestination adds addresses never sent to (a /24 directed broadcast)', async () => {
    const { h, uac, leg } = await setup({ forbiddenDestination: (a: string) => a.endsWith('.255') });
    await uac.send(invite('sip:x@127.0.0.255:5060', '127.0.0.1:16000'), leg);
    expect(await h.settled(1)).toMatchObject({ ok: false, status: 403, code: 'forbidden-destination' });
  });

  it('recordRoute: false inserts no Record-Route', async () => {
    const { uac, carol, leg } = await setup({ recordRoute: false });
    await uac.send(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000'), leg);
    expect((await carol.waitFor(0)).hasHeader('record-route')).toBe(false);
  });
});

describe('maddr in the Request-URI (RFC 3261 §16.4)', () => {
  it('a maddr naming us, on our port and transport, is stripped and the request routed on', async () => {
    const location = { lookup: (aor: string) => (aor === 'sip:bob@example.com' ? [{ contact: 'sip:bob@127.0.0.5:17001' }] : []) };
    const { uac, carol, leg } = await setup({ domains: ['example.com'], location, openRelay: false });
    await uac.send(invite('sip:bob@example.com:15070;maddr=127.0.0.1;transport=udp;user=phone', '127.0.0.1:16000'), leg);
    const got = await carol.waitFor(0);
    expect(got.isRequest && got.uri).toBe('sip:bob@127.0.0.5:17001');
    expect(h!.outcomes[0]).toMatchObject({ ok: true });
  });

  it('a maddr naming our address on another port is not us: sent there, Request-URI unchanged', async () => {
    const { h, uac, leg } = await setup();
    await uac.send(invite('sip:bob@example.com:5099;maddr=127.0.0.1', '127.0.0.1:16000'), leg);
    const outcome = await h.settled(1);
    expect(outcome).toMatchObject({ ok: true, destination: { address: '127.0.0.1', port: 5099 } });
    expect(outcome.ok && outcome.message.isRequest && outcome.message.uri).toBe('sip:bob@example.com:5099;maddr=127.0.0.1');
  });
});

describe('stateless branch (RFC 3261 §16.11)', () => {
  async function branchesOf(texts: string[], options = {}) {
    const { uac, carol, leg } = await setup(options);
    for (const [i, t] of texts.entries()) {
      await uac.send(t, leg);
      await carol.waitFor(i);
    }
    return carol.inbox.map((m) => m.topVia?.branch);
  }
  const uri = 'sip:carol@127.0.0.5:17001';
  const from = '127.0.0.1:16000';

  it('a retransmission gets the same branch', async () => {
    const [a, b] = await branchesOf([invite(uri, from), invite(uri, from)]);
    expect(a).toBe(b);
  });

  it('the CANCEL of an INVITE gets the INVITE branch', async () => {
    const [a, b] = await branchesOf([invite(uri, from), invite(uri, from, [], { method: 'CANCEL' })]);
    expect(b).toBe(a);
  });

  it('the ACK of a non-2xx (To tag added) gets the INVITE branch', async () => {
    const ack = invite(uri, from, [], { method: 'ACK' }).replace('To: <sip:bob@example.com>', 'To: <sip:bob@example.com>;tag=987');
    const [a, b] = await branchesOf([invite(uri, from), ack]);
    expect(b).toBe(a);
  });

  it('a new transaction (new client branch, new CSeq) gets another branch', async () => {
    const [a, b, c] = await branchesOf([invite(uri, from), invite(uri, from, [], { branch: 'z9hG4bKuac2' }), invite(uri, from, [], { cseq: 2 })]);
    expect(new Set([a, b, c]).size).toBe(3);
  });

  it("Net::SIP's formula: same properties, 69 characters", async () => {
    const ack = invite(uri, from, [], { method: 'ACK' }).replace('To: <sip:bob@example.com>', 'To: <sip:bob@example.com>;tag=987');
    const [a, b, c, d] = await branchesOf([invite(uri, from), invite(uri, from), invite(uri, from, [], { method: 'CANCEL' }), ack], { branchFormula: 'netsip' });
    expect(a).toHaveLength(69);
    expect(new Set([a, b, c, d]).size).toBe(1);
  });
});
