import { afterEach, describe, expect, it } from 'vitest';
import type { ReceiveInfo } from '@sipway/sip-leg';
import type { SipMessage } from '@sipway/sip-message';
import type { Binding, LocationService, ProxyOutcome } from '../src/index.js';
import { harness } from './helpers.js';
import type { Harness, LegSpec } from './helpers.js';

// The relay policy and signed Record-Routes (issue 9 items 1 and 6), and the Record-Route
// scheme on TLS legs (item 3), on the in-memory network.
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function request(method: string, uri: string, o: { via?: string; from?: string; to?: string; callId?: string; cseq?: number; extra?: string[]; body?: string } = {}): string {
  const body = o.body ?? '';
  return `${[
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${o.via ?? '127.0.0.1:16000;branch=z9hG4bKr1'}`,
    'Max-Forwards: 70',
    `From: ${o.from ?? '<sip:alice@example.com>;tag=f1'}`,
    `To: ${o.to ?? '<sip:bob@example.com>'}`,
    `Call-ID: ${o.callId ?? 'relay1'}`,
    `CSeq: ${o.cseq ?? 1} ${method}`,
    'Contact: <sip:alice@127.0.0.1:16000>',
    ...(o.extra ?? []),
    `Content-Length: ${Buffer.byteLength(body)}`,
  ].join('\r\n')}\r\n\r\n${body}`;
}

function location(bindings: Record<string, string>): LocationService & { lookups: string[] } {
  const lookups: string[] = [];
  return {
    lookups,
    lookup(aor: string): Binding[] {
      lookups.push(aor);
      const contact = bindings[aor];
      return contact === undefined ? [] : [{ contact }];
    },
  };
}

async function setup(options: Parameters<typeof harness>[1] = {}, legs: LegSpec[] = [{ address: '127.0.0.1', port: 15070 }]) {
  h = await harness(legs, options);
  return h;
}

/** Make the receiver mark requests as authenticated (what DigestAuthenticator does ahead in the chain). */
function authenticateAll(h: Harness, user: string): void {
  h.dispatcher.setReceiver({
    receive(message: SipMessage, info: ReceiveInfo) {
      if (message.isRequest && message.method !== 'ACK' && message.method !== 'CANCEL') info.authenticatedUser = user;
      return h.proxy.route(message, info).then((o: ProxyOutcome) => {
        h.outcomes.push(o);
        return true;
      });
    },
  });
}

describe('signed Record-Route', () => {
  it('a call to a registered user: in-dialog ACK and BYE (both directions) pass on our signed Route; tampered, unsigned or copied signatures are 403', async () => {
    const loc = location({ 'sip:bob@example.com': 'sip:bob@127.0.0.5:17001' });
    const h = await setup({ domains: ['example.com'], location: loc });
    const leg = h.legs[0]!;
    const uac = await h.peer('127.0.0.1', 16000);
    const bob = await h.peer('127.0.0.5', 17001);

    await uac.send(request('INVITE', 'sip:bob@example.com', { from: '<sip:mallory@evil.example>;tag=f1' }), leg);
    const invite = await bob.waitFor(0);
    const rr = invite.getHeader('record-route')!;
    expect(rr).toMatch(/^<sip:127\.0\.0\.1:15070;lr;rrsig=[A-Za-z0-9_-]{16}>$/);
    const route = `Route: ${rr}`;

    // The caller's ACK (From tag f1) and BYE.
    await uac.send(request('ACK', 'sip:bob@127.0.0.5:17001', { from: '<sip:mallory@evil.example>;tag=f1', to: '<sip:bob@example.com>;tag=t2', extra: [route], via: '127.0.0.1:16000;branch=z9hG4bKa1' }), leg);
    expect((await bob.waitFor(1)).isRequest).toBe(true);
    // The callee's BYE: its tag in From, the caller's in To.
    await bob.send(request('BYE', 'sip:alice@127.0.0.1:16000', { via: '127.0.0.5:17001;branch=z9hG4bKb1', from: '<sip:bob@example.com>;tag=t2', to: '<sip:mallory@evil.example>;tag=f1', extra: [route] }), leg);
    const bye = await uac.waitFor(0);
    expect(bye.isRequest && bye.method).toBe('BYE');

    const before = bob.inbox.length;
    const forged = [
      rr.replace(/rrsig=(.)/, (_m, c: string) => `rrsig=${c === 'A' ? 'B' : 'A'}`),
      '<sip:127.0.0.1:15070;lr>',
      '<sip:127.0.0.1:15070;lr;rrsig=>',
    ];
    let n = h.outcomes.length;
    for (const r of forged) {
      await uac.send(request('MESSAGE', 'sip:bob@127.0.0.5:17001', { to: '<sip:bob@example.com>;tag=t2', extra: [`Route: ${r}`], body: 'SET x y' }), leg);
      expect(await h.settled(++n)).toMatchObject({ ok: false, status: 403, code: 'forbidden-relay' });
    }
    // A genuine signature of another dialog (other Call-ID) proves nothing for this one.
    await uac.send(request('ACK', 'sip:bob@127.0.0.5:17001', { callId: 'other', to: '<sip:bob@example.com>;tag=t2', extra: [route], body: 'SET x y' }), leg);
    expect(await h.settled(++n)).toMatchObject({ ok: false, code: 'forbidden-relay' });
    // Outside a dialog (no To tag) the signature is no evidence either.
    await uac.send(request('OPTIONS', 'sip:bob@127.0.0.5:17001', { extra: [route] }), leg);
    expect(await h.settled(++n)).toMatchObject({ ok: false, status: 403, code: 'forbidden-relay' });
    expect(bob.inbox).toHaveLength(before);
  });

  it('a proxy with another recordRouteKey does not accept the signature; the same key (a cluster) does', async () => {
    const loc = location({ 'sip:bob@example.com': 'sip:bob@127.0.0.5:17001' });
    const key = 'hex:' + 'ab'.repeat(32);
    let hh = await setup({ domains: ['example.com'], location: loc, recordRouteKey: key });
    const uac = await hh.peer('127.0.0.1', 16000);
    const bob = await hh.peer('127.0.0.5', 17001);
    await uac.send(request('INVITE', 'sip:bob@example.com'), hh.legs[0]!);
    const rr = (await bob.waitFor(0)).getHeader('record-route')!;
    await hh.close();
    for (const [k, forwarded] of [['hex:' + 'cd'.repeat(32), false], [key, true]] as const) {
      hh = await setup({ domains: ['example.com'], location: loc, recordRouteKey: k });
      const uac2 = await hh.peer('127.0.0.1', 16000);
      const bob2 = await hh.peer('127.0.0.5', 17001);
      await uac2.send(request('ACK', 'sip:bob@127.0.0.5:17001', { to: '<sip:bob@example.com>;tag=t2', extra: [`Route: ${rr}`] }), hh.legs[0]!);
      expect((await hh.settled(1)).ok).toBe(forwarded);
      expect(bob2.inbox).toHaveLength(forwarded ? 1 : 0);
      await hh.close();
    }
    h = undefined;
  });
});

describe('targets that are ours by host, port and transport (RFC 3261 §16.4, §19.1.4)', () => {
  it('an ACK to a callee on our address but another port is forwarded, never looked up (item 1)', async () => {
    const loc = location({ 'sip:bob@example.com': 'sip:bob@127.0.0.1:17002' });
    const h = await setup({ domains: ['example.com'], location: loc });
    const leg = h.legs[0]!;
    const uac = await h.peer('127.0.0.1', 16000);
    const bob = await h.peer('127.0.0.1', 17002);
    await uac.send(request('INVITE', 'sip:bob@example.com'), leg);
    const rr = (await bob.waitFor(0)).getHeader('record-route')!;
    loc.lookups.length = 0;
    for (const method of ['ACK', 'BYE']) {
      await uac.send(request(method, 'sip:bob@127.0.0.1:17002', { to: '<sip:bob@example.com>;tag=t2', extra: [`Route: ${rr}`], via: `127.0.0.1:16000;branch=z9hG4bK${method}` }), leg);
    }
    await bob.waitFor(2);
    expect(bob.inbox.slice(1).map((m) => m.isRequest && m.method)).toEqual(['ACK', 'BYE']);
    expect(loc.lookups).toEqual([]);
  });

  it('a request to our own address and port with a user part is looked up (served) and 404 without a binding', async () => {
    const h = await setup({ domains: ['example.com'], location: location({}) });
    const uac = await h.peer('127.0.0.1', 16000);
    await uac.send(request('INVITE', 'sip:bob@127.0.0.1:15070', { from: '<sip:m@evil.example>;tag=1' }), h.legs[0]!);
    expect(await h.settled(1)).toMatchObject({ status: 404 });
    // Same host, a port where no leg listens: not ours, so not served, and no evidence: 403.
    await uac.send(request('INVITE', 'sip:bob@127.0.0.1:15071', { from: '<sip:m@evil.example>;tag=1', via: '127.0.0.1:16000;branch=z9hG4bKx2' }), h.legs[0]!);
    expect(await h.settled(2)).toMatchObject({ status: 403, code: 'forbidden-relay' });
    // Our port, another transport: not ours either.
    await uac.send(request('INVITE', 'sip:bob@127.0.0.1:15070;transport=tcp', { from: '<sip:m@evil.example>;tag=1', via: '127.0.0.1:16000;branch=z9hG4bKx3' }), h.legs[0]!);
    expect(await h.settled(3)).toMatchObject({ status: 403, code: 'forbidden-relay' });
  });

  it("with domains ['*'] an ACK whose Request-URI has no binding goes on, never a 404 (item 1 b)", async () => {
    const loc = location({});
    const h = await setup({ domains: ['*'], location: loc });
    const uac = await h.peer('127.0.0.1', 16000);
    const far = await h.peer('127.0.0.5', 17001);
    await uac.send(request('ACK', 'sip:bob@127.0.0.5:17001', { to: '<sip:bob@example.com>;tag=t2' }), h.legs[0]!);
    expect((await far.waitFor(0)).isRequest).toBe(true);
    expect(loc.lookups).toEqual(['sip:bob@127.0.0.5']);
    // A BYE (To tag, not an ACK) is not looked up at all.
    await uac.send(request('BYE', 'sip:bob@127.0.0.5:17001', { to: '<sip:bob@example.com>;tag=t2', via: '127.0.0.1:16000;branch=z9hG4bKbye' }), h.legs[0]!);
    await far.waitFor(1);
    expect(loc.lookups).toHaveLength(1);
  });

  it('an ACK for a served user without a binding is not answered and not looked up in DNS as 404', async () => {
    const h = await setup({ domains: ['example.com'], location: location({}), resolver: { resolve: async () => ({ ok: true, destinations: [{ transport: 'udp', address: '127.0.0.5', port: 17001, family: 4 }] }) } as never });
    const uac = await h.peer('127.0.0.1', 16000);
    const far = await h.peer('127.0.0.5', 17001);
    await uac.send(request('ACK', 'sip:bob@example.com', { to: '<sip:bob@example.com>;tag=t2' }), h.legs[0]!);
    const o = await h.settled(1);
    expect(o.ok ? 'forwarded' : o.code).not.toBe('not-found');
    expect(uac.inbox).toHaveLength(0);
    expect(far.inbox).toHaveLength(1);
  });

  it('a maddr in a served-domain Request-URI sends elsewhere: not served, 403', async () => {
    const h = await setup({ domains: ['example.com'] });
    const uac = await h.peer('127.0.0.1', 16000);
    await uac.send(request('MESSAGE', 'sip:x@example.com:6379;maddr=127.0.0.5', { body: 'SET x y' }), h.legs[0]!);
    expect(await h.settled(1)).toMatchObject({ status: 403, code: 'forbidden-relay' });
  });
});

describe('trusted senders', () => {
  it('an authenticated INVITE may go to a foreign target; its CANCEL and non-2xx ACK follow, others do not', async () => {
    const h = await setup({ domains: ['example.com'] });
    authenticateAll(h, 'alice');
    const uac = await h.peer('127.0.0.1', 16000);
    const far = await h.peer('127.0.0.5', 17001);
    const leg = h.legs[0]!;
    await uac.send(request('INVITE', 'sip:carol@127.0.0.5:17001', { callId: 'a1' }), leg);
    await far.waitFor(0);
    await uac.send(request('CANCEL', 'sip:carol@127.0.0.5:17001', { callId: 'a1' }), leg);
    expect((await far.waitFor(1)).isRequest).toBe(true);
    await uac.send(request('ACK', 'sip:carol@127.0.0.5:17001', { callId: 'a1', to: '<sip:bob@example.com>;tag=t9' }), leg);
    await far.waitFor(2);
    // Same transaction, another Request-URI: no evidence.
    await uac.send(request('CANCEL', 'sip:carol@127.0.0.5:6379', { callId: 'a1', body: 'SET x y' }), leg);
    expect(await h.settled(4)).toMatchObject({ status: 403, code: 'forbidden-relay' });
    // A CANCEL of a transaction never relayed.
    await uac.send(request('CANCEL', 'sip:carol@127.0.0.5:17001', { callId: 'a2' }), leg);
    expect(await h.settled(5)).toMatchObject({ status: 403, code: 'forbidden-relay' });
    expect(far.inbox).toHaveLength(3);
  });

  it('relayAllow: an allow-listed source (IPv4 block) may relay anything, another source may not', async () => {
    const h = await setup({ domains: ['example.com'], relayAllow: ['127.0.0.0/30'] });
    const ok = await h.peer('127.0.0.2', 16000);
    const other = await h.peer('127.0.0.9', 16000);
    const far = await h.peer('127.0.0.5', 17001);
    await ok.send(request('ACK', 'sip:carol@127.0.0.5:17001', { via: '127.0.0.2:16000;branch=z9hG4bKk1', to: '<sip:c@x>;tag=1' }), h.legs[0]!);
    await far.waitFor(0);
    await other.send(request('ACK', 'sip:carol@127.0.0.5:17001', { via: '127.0.0.9:16000;branch=z9hG4bKk2', to: '<sip:c@x>;tag=1' }), h.legs[0]!);
    expect(await h.settled(2)).toMatchObject({ ok: false, code: 'forbidden-relay' });
    expect(far.inbox).toHaveLength(1);
  });

  it('relayAllow over IPv6', async () => {
    const h = await setup({ domains: ['example.com'], relayAllow: ['::1/128'] }, [{ address: '::1', port: 15070 }]);
    const uac = await h.peer('::1', 16000);
    const far = await h.peer('::1', 17001);
    await uac.send(request('MESSAGE', 'sip:carol@[::1]:17001', { via: '[::1]:16000;branch=z9hG4bKv6' }), h.legs[0]!);
    await far.waitFor(0);
  });
});

describe('destinations', () => {
  const PUBLIC_LEG: LegSpec[] = [{ address: '192.0.2.1', port: 5060 }];

  it('an open relay on a public address refuses loopback, link-local, private and its own address (403)', async () => {
    const h = await setup({ openRelay: true }, PUBLIC_LEG);
    const uac = await h.peer('198.51.100.7', 5060);
    const targets = ['sip:x@127.0.0.1:6379', 'sip:x@[::1]:6379', 'sip:x@169.254.169.254', 'sip:x@10.0.0.1', 'sip:x@[fd00::1]', 'sip:x@192.0.2.1:6379', 'sip:x@example.com;maddr=127.0.0.1'];
    for (let i = 0; i < targets.length; i++) {
      await uac.send(request('MESSAGE', targets[i]!, { via: `198.51.100.7:5060;branch=z9hG4bKd${i}`, body: 'SET x y' }), h.legs[0]!);
      expect(await h.settled(i + 1), targets[i]).toMatchObject({ ok: false, status: 403, code: 'forbidden-destination' });
    }
  });

  it('DNS results go through the same policy', async () => {
    const resolver = { resolve: async () => ({ ok: true, destinations: [{ transport: 'udp', address: '127.0.0.1', port: 6379, family: 4 }] }) };
    const h = await setup({ openRelay: true, resolver: resolver as never }, PUBLIC_LEG);
    const uac = await h.peer('198.51.100.7', 5060);
    await uac.send(request('MESSAGE', 'sip:x@rebind.example.net', { via: '198.51.100.7:5060;branch=z9hG4bKdns' }), h.legs[0]!);
    expect(await h.settled(1)).toMatchObject({ status: 403, code: 'forbidden-destination' });
  });

  it('a binding naming a loopback address opens it, for the INVITE and for in-dialog requests to that user', async () => {
    const loc = location({ 'sip:bob@example.com': 'sip:bob@127.0.0.5:17001' });
    const h = await setup({ domains: ['example.com'], location: loc }, PUBLIC_LEG);
    const uac = await h.peer('198.51.100.7', 5060);
    const bob = await h.peer('127.0.0.5', 17001);
    await uac.send(request('INVITE', 'sip:bob@example.com', { via: '198.51.100.7:5060;branch=z9hG4bKi1' }), h.legs[0]!);
    const rr = (await bob.waitFor(0)).getHeader('record-route')!;
    await uac.send(request('BYE', 'sip:bob@127.0.0.5:17001', { via: '198.51.100.7:5060;branch=z9hG4bKi2', to: '<sip:bob@example.com>;tag=t2', extra: [`Route: ${rr}`] }), h.legs[0]!);
    await bob.waitFor(1);
    // The same dialog, steered to another loopback address no binding names: refused.
    await uac.send(request('BYE', 'sip:bob@127.0.0.1:6379', { via: '198.51.100.7:5060;branch=z9hG4bKi3', to: '<sip:bob@example.com>;tag=t2', extra: [`Route: ${rr}`] }), h.legs[0]!);
    expect(await h.settled(3)).toMatchObject({ status: 403, code: 'forbidden-destination' });
  });

  it('a Contact token minted for a loopback Contact does not bypass the policy', async () => {
    // Two legs: the token is minted on the way out and restored on the way back.
    const h = await setup({ openRelay: true }, [{ address: '192.0.2.1', port: 5060 }, { address: '198.51.100.1', port: 5060 }]);
    const attacker = await h.peer('198.51.100.7', 5060);
    const far = await h.peer('192.0.2.9', 5060);
    await attacker.send(
      request('MESSAGE', 'sip:x@192.0.2.9:5060', { via: '198.51.100.7:5060;branch=z9hG4bKt1', extra: [] }).replace('Contact: <sip:alice@127.0.0.1:16000>', 'Contact: <sip:redis@127.0.0.1:6379>'),
      h.legs[1]!,
    );
    const got = await far.waitFor(0);
    const token = /<(sip:[^>]+)>/.exec(got.getHeader('contact')!)![1]!;
    await far.send(request('MESSAGE', token, { via: '192.0.2.9:5060;branch=z9hG4bKt2', body: 'SET x y' }), h.legs[0]!);
    expect(await h.settled(2)).toMatchObject({ status: 403, code: 'forbidden-destination' });
  });
});

describe('Record-Route and Contact scheme on a TLS leg (RFC 3261 §16.6 step 4, RFC 5630)', () => {
  const LEGS: LegSpec[] = [
    { address: '127.0.0.1', port: 15060 },
    { address: '127.0.0.1', port: 15061, transport: 'tls' },
  ];

  it('a sip: request leaving over TLS gets sip:…;transport=tls in Record-Route and Contact; a sips: one gets sips:', async () => {
    const h = await setup({ relayAllow: ['127.0.0.1/32'] }, LEGS);
    const uac = await h.peer('127.0.0.1', 16000);
    const far = await h.peer('127.0.0.5', 17001, 'tls');
    await uac.send(request('INVITE', 'sip:bob@127.0.0.5:17001;transport=tls'), h.legs[0]!);
    const a = await far.waitFor(0);
    const rrs = a.getHeaders('record-route');
    expect(rrs[0]).toMatch(/^<sip:127\.0\.0\.1:15061;transport=tls;lr;rrsig=/);
    expect(rrs[1]).toMatch(/^<sip:127\.0\.0\.1:15060;lr;rrsig=/);
    expect(a.getHeader('contact')).toMatch(/^<sip:s[A-Z2-7]+@127\.0\.0\.1:15061;transport=tls>$/);

    await uac.send(
      request('INVITE', 'sips:bob@127.0.0.5:17001', { via: '127.0.0.1:16000;branch=z9hG4bKs2', callId: 's2' }).replace('Contact: <sip:alice', 'Contact: <sips:alice'),
      h.legs[0]!,
    );
    const b = await far.waitFor(1);
    expect(b.getHeaders('record-route')[0]).toMatch(/^<sips:127\.0\.0\.1:15061;transport=tls;lr;rrsig=/);
    expect(b.getHeader('contact')).toMatch(/^<sips:s[A-Z2-7]+@127\.0\.0\.1:15061;transport=tls>$/);
    // Both forms name the TLS leg when they come back as Route.
    for (const rr of [rrs[0]!, b.getHeaders('record-route')[0]!]) {
      await far.send(request('BYE', 'sip:alice@127.0.0.1:16000', { via: '127.0.0.5:17001;branch=z9hG4bKtb', from: '<sip:bob@x>;tag=t2', to: '<sip:a@x>;tag=f1', callId: rr.startsWith('<sips') ? 's2' : 'relay1', extra: [`Route: ${rr}`] }), h.legs[1]!);
    }
    await uac.waitFor(1);
  });
});
