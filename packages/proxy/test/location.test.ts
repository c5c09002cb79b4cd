import { afterEach, describe, expect, it } from 'vitest';
import { SipResolver } from '@sipway/sip-leg';
import { bestBinding, canonicalAor } from '../src/index.js';
import type { Binding, LocationService } from '../src/index.js';
import { harness, msg } from './helpers.js';
import type { Harness } from './helpers.js';
import { parseUri } from '@sipway/sip-message';
import type { SipUri } from '@sipway/sip-message';

// Location lookup (RFC 3261 §16.5, §10.3 canonical AOR, RFC 3327 Path): best binding = highest
// q then newest; 404 for an unknown AOR of a served domain, 480 for a known one without bindings.
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

class MapLocation implements LocationService {
  asked: string[] = [];
  constructor(
    private readonly bindings: Record<string, Binding[]>,
    private readonly known: string[] = [],
  ) {}
  async lookup(aor: string): Promise<Binding[]> {
    this.asked.push(aor);
    return this.bindings[aor] ?? [];
  }
  knows(aor: string): boolean {
    return this.known.includes(aor);
  }
}

function call(uri: string, extra: string[] = []): string {
  return msg(
    `INVITE ${uri} SIP/2.0`,
    'Via: SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bKl1',
    'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=a',
    `To: <${uri}>`,
    'Call-ID: loc1',
    'CSeq: 1 INVITE',
    ...extra,
  );
}

async function setup(location: LocationService, options = {}) {
  h = await harness([{ address: '127.0.0.1', port: 15070 }], { domains: ['example.com'], location, ...options });
  const uac = await h.peer('127.0.0.1', 16000);
  const bob1 = await h.peer('127.0.0.5', 17001);
  const bob2 = await h.peer('127.0.0.6', 17002);
  return { h, uac, bob1, bob2, leg: h.legs[0]! };
}

describe('location lookup', () => {
  it('routes to the binding with the highest q, the Request-URI becomes its contact', async () => {
    const loc = new MapLocation({
      'sip:bob@example.com': [
        { contact: 'sip:bob@127.0.0.5:17001', q: 0.5, updated: 200 },
        { contact: '<sip:bob@127.0.0.6:17002;ob>', q: 0.9, updated: 100 },
      ],
    });
    const { uac, bob2, leg } = await setup(loc);
    await uac.send(call('sip:bob@Example.COM:5060;user=phone'), leg);
    const got = await bob2.waitFor(0);
    expect(got.isRequest && got.uri).toBe('sip:bob@127.0.0.6:17002;ob');
    expect(loc.asked).toEqual(['sip:bob@example.com']);
  });

  it('equal q: the newest binding wins', async () => {
    const loc = new MapLocation({
      'sip:bob@example.com': [
        { contact: 'sip:bob@127.0.0.6:17002', updated: 100 },
        { contact: 'sip:bob@127.0.0.5:17001', updated: 300 },
      ],
    });
    const { uac, bob1, leg } = await setup(loc);
    await uac.send(call('sip:bob@example.com'), leg);
    await bob1.waitFor(0);
  });

  it('404 for an unknown user of a served domain', async () => {
    const { h, uac, leg } = await setup(new MapLocation({}));
    await uac.send(call('sip:nobody@example.com'), leg);
    expect(await h.settled(1)).toMatchObject({ ok: false, status: 404, code: 'not-found' });
    const got = await uac.waitFor(0);
    expect(!got.isRequest && got.status).toBe(404);
  });

  it('503 when the location service fails', async () => {
    const failing: LocationService = { lookup: () => Promise.reject(new Error('store down')) };
    const { h, uac, leg } = await setup(failing);
    await uac.send(call('sip:bob@example.com'), leg);
    expect(await h.settled(1)).toMatchObject({ ok: false, status: 503, code: 'location-failed' });
    const got = await uac.waitFor(0);
    expect(!got.isRequest && got.status).toBe(503);
  });

  it('480 for a known user without bindings', async () => {
    const { h, uac, leg } = await setup(new MapLocation({}, ['sip:carol@example.com']));
    await uac.send(call('sip:carol@example.com'), leg);
    expect(await h.settled(1)).toMatchObject({ ok: false, status: 480, code: 'temporarily-unavailable' });
  });

  it('users at the proxy address are looked up too (Net::SIP t/14: sip:uas@PROXY)', async () => {
    const loc = new MapLocation({ 'sip:uas@127.0.0.1': [{ contact: 'sip:uas@127.0.0.5:17001' }] });
    const { uac, bob1, leg } = await setup(loc);
    await uac.send(call('sip:uas@127.0.0.1:15070'), leg);
    const got = await bob1.waitFor(0);
    expect(got.isRequest && got.uri).toBe('sip:uas@127.0.0.5:17001');
  });

  it('Path of the binding becomes the Route set (RFC 3327)', async () => {
    const loc = new MapLocation({ 'sip:bob@example.com': [{ contact: 'sip:bob@10.1.1.1:5060', path: ['<sip:127.0.0.6:17002;lr>'] }] });
    const { uac, bob2, leg } = await setup(loc);
    await uac.send(call('sip:bob@example.com'), leg);
    const got = await bob2.waitFor(0);
    expect(got.isRequest && got.uri).toBe('sip:bob@10.1.1.1:5060');
    expect(got.getHeaders('route')).toEqual(['<sip:127.0.0.6:17002;lr>']);
  });

  it('in-dialog requests (To tag) are not looked up', async () => {
    const loc = new MapLocation({});
    const { h, uac, leg } = await setup(loc, { resolver: new SipResolver({ domain2proxy: { 'example.com': '127.0.0.5:17001' } }) });
    await uac.send(call('sip:bob@example.com').replace('To: <sip:bob@example.com>', 'To: <sip:bob@example.com>;tag=x'), leg);
    expect(await h.settled(1)).toMatchObject({ ok: true });
    expect(loc.asked).toEqual([]);
  });

  it('the non-2xx ACK of an INVITE reaches the same binding with the same branch', async () => {
    const loc = new MapLocation({ 'sip:bob@example.com': [{ contact: 'sip:bob@127.0.0.5:17001' }] });
    const { uac, bob1, leg } = await setup(loc);
    await uac.send(call('sip:bob@example.com'), leg);
    const inv = await bob1.waitFor(0);
    const ack = call('sip:bob@example.com')
      .replace('INVITE sip:bob@example.com', 'ACK sip:bob@example.com')
      .replace('CSeq: 1 INVITE', 'CSeq: 1 ACK')
      .replace('To: <sip:bob@example.com>', 'To: <sip:bob@example.com>;tag=486');
    await uac.send(ack, leg);
    const got = await bob1.waitFor(1);
    expect(got.isRequest && got.method).toBe('ACK');
    expect(got.isRequest && got.uri).toBe('sip:bob@127.0.0.5:17001');
    expect(got.topVia?.branch).toBe(inv.topVia?.branch);
  });

  it("wildcard domain: a miss falls through to the resolver instead of 404", async () => {
    const loc = new MapLocation({});
    const resolver = new SipResolver({ domain2proxy: { 'example.net': '127.0.0.5:17001' } });
    const { h, uac, bob1, leg } = await setup(loc, { domains: ['*'], resolver });
    await uac.send(call('sip:dave@example.net'), leg);
    await bob1.waitFor(0);
    expect(loc.asked).toEqual(['sip:dave@example.net']);
    expect((await h.settled(1)).ok).toBe(true);
  });
});

describe('canonicalAor and bestBinding', () => {
  it('drops port, parameters and headers; keeps the scheme and the user case', () => {
    expect(canonicalAor(parseUri('sip:Bob@EXAMPLE.com:5061;transport=tcp?x=y') as SipUri)).toBe('sip:Bob@example.com');
    expect(canonicalAor(parseUri('sips:bob@example.com') as SipUri)).toBe('sips:bob@example.com');
    expect(canonicalAor(parseUri('sip:bob@[2001:DB8::1]:5060') as SipUri)).toBe('sip:bob@[2001:db8::1]');
  });
  it('absent q counts as 1', () => {
    expect(bestBinding([{ contact: 'a', q: 0.9 }, { contact: 'b' }])?.contact).toBe('b');
    expect(bestBinding([])).toBeUndefined();
  });
});

describe('location lookup: WebSocket clients (RFC 7118 §5)', () => {
  it('reaches an `.invalid` contact through the address its REGISTER came from', async () => {
    const loc = new MapLocation({
      'sip:webrtc@example.com': [
        { contact: 'sip:k3l7a9@df7jal23ls0d.invalid;transport=ws', updated: 1, source: { transport: 'udp', address: '127.0.0.5', port: 17001 } },
      ],
    });
    const { h, uac, bob1, leg } = await setup(loc);
    await uac.send(call('sip:webrtc@example.com'), leg);
    expect(await h.settled(1)).toMatchObject({ ok: true, destination: { address: '127.0.0.5', port: 17001 } });
    const got = await bob1.waitFor(0);
    expect(got.isRequest && got.uri).toBe('sip:k3l7a9@df7jal23ls0d.invalid;transport=ws');
  });

  it('uses the contact itself when it is reachable, even with a source recorded', async () => {
    const loc = new MapLocation({
      'sip:bob@example.com': [{ contact: 'sip:bob@127.0.0.6:17002', source: { transport: 'udp', address: '127.0.0.5', port: 17001 } }],
    });
    const { h, uac, bob2, leg } = await setup(loc);
    await uac.send(call('sip:bob@example.com'), leg);
    expect(await h.settled(1)).toMatchObject({ ok: true, destination: { address: '127.0.0.6', port: 17002 } });
    await bob2.waitFor(0);
  });
});
