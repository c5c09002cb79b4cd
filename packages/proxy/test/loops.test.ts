import { afterEach, describe, expect, it } from 'vitest';
import { loopHash, rfcBranch } from '../src/index.js';
import { harness, invite } from './helpers.js';
import type { Harness } from './helpers.js';
import { parseMessage } from '@sipway/sip-message';
import type { SipRequest } from '@sipway/sip-message';

// Loop detection (RFC 3261 §16.3 step 4, §16.6 step 8; RFC 5393): 482 for a request that
// passed this proxy before unchanged, and for targets that are the proxy itself (Net::SIP
// loops those until Max-Forwards runs out, reference §1.8 / §10.3).
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function setup(options = {}) {
  h = await harness([{ address: '127.0.0.1', port: 15070 }], { openRelay: true, ...options });
  const uac = await h.peer('127.0.0.1', 16000);
  const other = await h.peer('127.0.0.5', 17001);
  return { h, uac, other, leg: h.legs[0]! };
}

describe('loop detection', () => {
  it('482 when the request comes back unchanged through another element', async () => {
    const { h, uac, other, leg } = await setup();
    await uac.send(invite('sip:carol@example.org', '127.0.0.1:16000', ['Route: <sip:127.0.0.5:17001;lr>']), leg);
    const first = await other.waitFor(0);
    if (!first.isRequest) throw new Error('expected a request');
    // The other element (a misconfigured proxy) sends it straight back with our Route again.
    const looped = first.buffer.toString('latin1', first.start, first.end).replace('INVITE sip:carol@example.org SIP/2.0\r\n', 'INVITE sip:carol@example.org SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.5:17001;branch=z9hG4bKfwd1\r\nRoute: <sip:127.0.0.1:15070;lr>, <sip:127.0.0.5:17001;lr>\r\n');
    await other.send(looped.replace(/^Route: <sip:127.0.0.5:17001;lr>\r\n/m, ''), leg);
    expect(await h.settled(2)).toMatchObject({ ok: false, status: 482, code: 'loop-detected' });
    const answer = await other.waitFor(1);
    expect(!answer.isRequest && answer.status).toBe(482);
  });

  it('a spiral (same request, new Request-URI) is forwarded', async () => {
    const { h, uac, other, leg } = await setup();
    await uac.send(invite('sip:carol@example.org', '127.0.0.1:16000', ['Route: <sip:127.0.0.5:17001;lr>']), leg);
    const first = await other.waitFor(0);
    const text = first.buffer.toString('latin1', first.start, first.end);
    // The other element retargets to carol's device and routes it through us again.
    const spiral = text
      .replace('INVITE sip:carol@example.org SIP/2.0\r\n', 'INVITE sip:carol@127.0.0.5:17001 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.5:17001;branch=z9hG4bKfwd2\r\nRoute: <sip:127.0.0.1:15070;lr>\r\n')
      .replace(/^Route: <sip:127.0.0.5:17001;lr>\r\n/m, '');
    await other.send(spiral, leg);
    expect(await h.settled(2)).toMatchObject({ ok: true });
    const second = await other.waitFor(1);
    expect(second.isRequest && second.uri).toBe('sip:carol@127.0.0.5:17001');
  });

  it('482 for a request whose target is the proxy itself (self-loop), without forwarding', async () => {
    const { h, uac, leg } = await setup();
    await uac.send(invite('sip:nobody@127.0.0.1:15070', '127.0.0.1:16000'), leg);
    expect(await h.settled(1)).toMatchObject({ ok: false, status: 482 });
    expect(h.net.packets.filter((p) => p.to.port === 15070 && p.from.port === 15070)).toHaveLength(0);
  });

  it('an OPTIONS keep-alive addressed to the proxy is answered 200', async () => {
    const { h, uac, leg } = await setup();
    await uac.send(invite('sip:127.0.0.1:15070', '127.0.0.1:16000', [], { method: 'OPTIONS' }), leg);
    expect(await h.settled(1)).toMatchObject({ status: 200, code: 'answered-options' });
    const got = await uac.waitFor(0);
    expect(!got.isRequest && got.status).toBe(200);
  });

  it('a stale or forged Contact token addressed to us is a loop, not 69 trips through ourselves', async () => {
    const { h, uac, leg } = await setup();
    await uac.send(invite('sip:sAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA@127.0.0.1:15070', '127.0.0.1:16000'), leg);
    expect(await h.settled(1)).toMatchObject({ ok: false, status: 482 });
  });

  it("Net::SIP's formula: an exact repeat carrying our branch is a loop", async () => {
    const { h, uac, other, leg } = await setup({ branchFormula: 'netsip' });
    await uac.send(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000'), leg);
    const first = await other.waitFor(0);
    // Net::SIP only catches exact repeats: the client's Via on top again and ours already in
    // the list (an element that moved our Via down and sent the request back).
    const text = first.buffer.toString('latin1', first.start, first.end);
    const ours = first.getHeaders('via')[0]!;
    const back = text.replace(`Via: ${ours}\r\n`, '').replace('Max-Forwards: 69', `Max-Forwards: 69\r\nVia: ${ours}`);
    await other.send(back, leg);
    expect(await h.settled(2)).toMatchObject({ ok: false, status: 482, code: 'loop-detected' });
  });
});

describe('the loop part of the branch', () => {
  const base = 'z9hG4bK00000000000000000000000000000000';
  const req = (uri: string, via: string) =>
    parseMessage(`INVITE ${uri} SIP/2.0\r\nVia: ${via}\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`) as SipRequest;

  it('ignores the Via (it changes every hop) and covers the Request-URI', () => {
    const a = req('sip:b@x', 'SIP/2.0/UDP h1;branch=z9hG4bK1');
    const b = req('sip:b@x', 'SIP/2.0/UDP h2;branch=z9hG4bK2');
    const c = req('sip:b@y', 'SIP/2.0/UDP h1;branch=z9hG4bK1');
    expect(loopHash(a, a.uri)).toBe(loopHash(b, b.uri));
    expect(loopHash(c, c.uri)).not.toBe(loopHash(a, a.uri));
    const branch = rfcBranch(base, a, loopHash(a, a.uri));
    expect(branch).toMatch(/^z9hG4bK0{32}[0-9a-f]{32}$/);
    expect(branch.endsWith(loopHash(a, a.uri))).toBe(true);
  });
});
