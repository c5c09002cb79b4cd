import { afterEach, describe, expect, it } from 'vitest';
import { LegOptionsError, SipLegError } from '@sipway/sip-leg';
import { SipError, SipParseError } from '@sipway/sip-message';
import { PROXY_ERROR_CODES, ProxyError, StatelessProxy } from '../src/index.js';
import { harness, invite, msg } from './helpers.js';
import type { Harness } from './helpers.js';

// Stateless error answers (RFC 3261 §16.3, §16.9, §16.11, §8.2.6): a To tag derived from the
// request, so a retransmission gets the same answer; never an answer to ACK; silentDrop = Net::SIP.
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function setup(options = {}, legs = [{ address: '127.0.0.1', port: 15070 }]) {
  h = await harness(legs, { openRelay: true, ...options });
  const uac = await h.peer('127.0.0.1', 16000);
  return { h, uac, leg: h.legs[0]! };
}

describe('stateless error answers', () => {
  it('400 for a request missing Call-ID, sent back to the client', async () => {
    const { h, uac, leg } = await setup();
    await uac.send(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000').replace('Call-ID: call1@127.0.0.1\r\n', ''), leg);
    expect(await h.settled(1)).toMatchObject({ ok: false, status: 400, code: 'invalid-message' });
    const got = await uac.waitFor(0);
    expect(!got.isRequest && got.status).toBe(400);
  });

  it('400 when the CSeq method differs from the request method', async () => {
    const { h, uac, leg } = await setup();
    await uac.send(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000').replace('CSeq: 1 INVITE', 'CSeq: 1 OPTIONS'), leg);
    expect(await h.settled(1)).toMatchObject({ status: 400 });
  });

  it('416 for a Request-URI scheme the proxy does not understand', async () => {
    const { h, uac, leg } = await setup();
    await uac.send(invite('http://example.com/x', '127.0.0.1:16000'), leg);
    expect(await h.settled(1)).toMatchObject({ ok: false, status: 416, code: 'unsupported-scheme' });
    const got = await uac.waitFor(0);
    expect(!got.isRequest && got.status).toBe(416);
  });

  it('420 listing the unsupported Proxy-Require option tags in Unsupported', async () => {
    const { h, uac, leg } = await setup();
    await uac.send(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000', ['Proxy-Require: foo, bar', 'Proxy-Require: sec-agree']), leg);
    expect(await h.settled(1)).toMatchObject({ status: 420, code: 'bad-extension' });
    const got = await uac.waitFor(0);
    expect(!got.isRequest && got.status).toBe(420);
    expect(got.getHeaders('unsupported')).toEqual(['foo', 'bar', 'sec-agree']);
  });

  it('Proxy-Require with supported tags is forwarded', async () => {
    const { h, uac, leg } = await setup({ supported: ['sec-agree'] });
    const uas = await h.peer('127.0.0.5', 17001);
    await uac.send(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000', ['Proxy-Require: sec-agree']), leg);
    await uas.waitFor(0);
  });

  it('a retransmitted request gets the same answer, To tag included; another request another tag', async () => {
    const { h, uac, leg } = await setup();
    const req = invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000', [], { mf: '0' });
    await uac.send(req, leg);
    await uac.send(req, leg);
    await uac.send(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000', [], { mf: '0', branch: 'z9hG4bKother', cseq: 2 }), leg);
    await h.settled(3);
    const tags = (await Promise.all([uac.waitFor(0), uac.waitFor(1), uac.waitFor(2)])).map((m) => m.to?.tag);
    expect(tags[0]).toBe(tags[1]);
    expect(tags[2]).not.toBe(tags[0]);
  });

  it('never answers an ACK', async () => {
    const { h, uac, leg } = await setup();
    await uac.send(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000', [], { method: 'ACK', mf: '0' }), leg);
    expect(await h.settled(1)).toMatchObject({ ok: false, status: 483 });
    expect(h.outcomes[0]?.ok === false && h.outcomes[0].response).toBeUndefined();
    expect(uac.inbox).toHaveLength(0);
  });

  it('absorbs the ACK of its own error answer instead of forwarding it (RFC 3261 §17.1.1.3)', async () => {
    const { h, uac, leg } = await setup();
    const uas = await h.peer('127.0.0.5', 17001);
    await uac.send(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000', [], { mf: '0' }), leg);
    expect(await h.settled(1)).toMatchObject({ ok: false, status: 483 });
    const answer = await uac.waitFor(0);
    const tag = answer.to?.tag;
    expect(tag).toBeDefined();
    const ack = invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000', [], { method: 'ACK' }).replace('To: <sip:bob@example.com>', `To: <sip:bob@example.com>;tag=${tag}`);
    await uac.send(ack, leg);
    expect(await h.settled(2)).toMatchObject({ ok: false, code: 'own-ack' });
    // An ACK with another To tag (the callee's) is still forwarded.
    await uac.send(ack.replace(`;tag=${tag}`, ';tag=callee1').replace('z9hG4bKuac1', 'z9hG4bKuac2'), leg);
    expect(await h.settled(3)).toMatchObject({ ok: true });
    const got = await uas.waitFor(0);
    expect(got.isRequest && got.method).toBe('ACK');
    expect(got.to?.tag).toBe('callee1');
    expect(uas.inbox).toHaveLength(1);
  });

  it('silentDrop: nothing is answered (Net::SIP), the outcome still says why', async () => {
    const { h, uac, leg } = await setup({ silentDrop: true });
    await uac.send(invite('http://example.com/x', '127.0.0.1:16000'), leg);
    expect(await h.settled(1)).toMatchObject({ ok: false, status: 416 });
    expect(uac.inbox).toHaveLength(0);
  });

  it('503 when the next hop cannot be reached (TCP connect refused), without our Via in the answer', async () => {
    const { h, uac, leg } = await setup({}, [
      { address: '127.0.0.1', port: 15070 },
      { address: '127.0.0.1', port: 15070, transport: 'tcp' } as never,
    ]);
    await uac.send(invite('sip:carol@127.0.0.5:17001;transport=tcp', '127.0.0.1:16000'), leg);
    const settled = await h.settled(1);
    expect(settled).toMatchObject({ ok: false, status: 503, code: 'delivery-failed' });
    // What failed is the detail (for logs); the peer gets the plain phrase.
    expect(!settled.ok && settled.detail).toMatch(/127\.0\.0\.5/);
    const got = await uac.waitFor(0);
    expect(!got.isRequest && got.status).toBe(503);
    expect(!got.isRequest && got.reason).toBe('Service Unavailable');
    expect(got.getHeaders('via')).toEqual(['SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bKuac1;rport=16000;received=127.0.0.1']);
  });

  it('503 when no leg has the transport the target asks for', async () => {
    const { h, uac, leg } = await setup();
    await uac.send(invite('sip:carol@127.0.0.5:17001;transport=tls', '127.0.0.1:16000'), leg);
    expect(await h.settled(1)).toMatchObject({ ok: false, status: 503, code: 'no-route' });
  });

  it('an answer never goes to a broadcast Via maddr', async () => {
    const { h, uac, leg } = await setup();
    await uac.send(
      msg(
        'INVITE sip:carol@127.0.0.5:17001 SIP/2.0',
        'Via: SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bKm;maddr=255.255.255.255',
        'Max-Forwards: 0',
        'From: <sip:a@example.com>;tag=1',
        'To: <sip:b@example.com>',
        'Call-ID: m1',
        'CSeq: 1 INVITE',
      ),
      leg,
    );
    expect(await h.settled(1)).toMatchObject({ ok: false, status: 483 });
    expect(h.net.packets.filter((p) => p.to.address === '255.255.255.255')).toHaveLength(0);
  });
});

describe('one error base', () => {
  it('SipError.isInstance recognises the errors of sip-leg and the proxy; each keeps its own isInstance', () => {
    let thrown: unknown;
    try {
      new StatelessProxy({} as never);
    } catch (error) {
      thrown = error;
    }
    expect(ProxyError.isInstance(thrown)).toBe(true);
    expect(SipError.isInstance(thrown)).toBe(true);
    expect((thrown as ProxyError).code).toBe(PROXY_ERROR_CODES.INVALID_OPTIONS);
    const leg = new LegOptionsError('bad');
    expect(SipError.isInstance(leg)).toBe(true);
    expect(SipLegError.isInstance(leg)).toBe(true);
    expect(leg).toBeInstanceOf(SipError);
    expect(ProxyError.isInstance(leg)).toBe(false);
    expect(SipLegError.isInstance(new SipParseError('x'))).toBe(false);
  });
});
