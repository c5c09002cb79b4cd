import { afterEach, describe, expect, it } from 'vitest';
import { harness, msg } from './helpers.js';
import type { Harness } from './helpers.js';

// Served domains and the relay policy: never an open relay unless configured (issue 5).
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function req(uri: string, from: string, extra: string[] = [], toTag = ''): string {
  return msg(
    `INVITE ${uri} SIP/2.0`,
    'Via: SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bKd1',
    'Max-Forwards: 70',
    `From: <${from}>;tag=f1`,
    `To: <${uri}>${toTag}`,
    'Call-ID: dom1',
    'CSeq: 1 INVITE',
    ...extra,
  );
}

async function setup(options = {}) {
  h = await harness([{ address: '127.0.0.1', port: 15070 }], options);
  const uac = await h.peer('127.0.0.1', 16000);
  const far = await h.peer('127.0.0.5', 17001);
  return { h, uac, far, leg: h.legs[0]! };
}

describe('served domains and relaying', () => {
  it('403 for a foreign target from a foreign caller', async () => {
    const { h, uac, far, leg } = await setup({ domains: ['example.com'] });
    await uac.send(req('sip:carol@127.0.0.5:17001', 'sip:mallory@evil.example'), leg);
    expect(await h.settled(1)).toMatchObject({ ok: false, status: 403, code: 'forbidden-relay' });
    const got = await uac.waitFor(0);
    expect(!got.isRequest && got.status).toBe(403);
    expect(far.inbox).toHaveLength(0);
  });

  it('a From of a served domain is no evidence: a foreign target is still 403', async () => {
    const { h, uac, far, leg } = await setup({ domains: ['Example.COM'] });
    await uac.send(req('sip:carol@127.0.0.5:17001', 'sip:alice@example.com'), leg);
    expect(await h.settled(1)).toMatchObject({ ok: false, status: 403, code: 'forbidden-relay' });
    expect(far.inbox).toHaveLength(0);
  });

  it('forwards anything with openRelay', async () => {
    const { far, uac, leg } = await setup({ openRelay: true });
    await uac.send(req('sip:carol@127.0.0.5:17001', 'sip:mallory@evil.example'), leg);
    await far.waitFor(0);
  });

  it("forwards anything with domains ['*'] (Net::SIP --domain '*')", async () => {
    const { far, uac, leg } = await setup({ domains: ['*'] });
    await uac.send(req('sip:carol@127.0.0.5:17001', 'sip:mallory@evil.example'), leg);
    await far.waitFor(0);
  });

  it('an in-dialog request on an unsigned Route naming us is 403 (signed ones: relay-policy.test.ts)', async () => {
    const { h, uac, far, leg } = await setup({ domains: ['example.com'] });
    await uac.send(req('sip:carol@127.0.0.5:17001', 'sip:mallory@evil.example', ['Route: <sip:127.0.0.1:15070;lr>'], ';tag=t2'), leg);
    expect(await h.settled(1)).toMatchObject({ ok: false, status: 403, code: 'forbidden-relay' });
    expect(far.inbox).toHaveLength(0);
  });

  it('a Route to us is not enough outside a dialog (no To tag)', async () => {
    const { h, uac, leg } = await setup({ domains: ['example.com'] });
    await uac.send(req('sip:carol@127.0.0.5:17001', 'sip:mallory@evil.example', ['Route: <sip:127.0.0.1:15070;lr>']), leg);
    expect(await h.settled(1)).toMatchObject({ status: 403 });
  });

  it("a URI naming a leg by host and port counts as served: a foreign caller may reach it", async () => {
    const { h, uac, leg } = await setup({ domains: ['example.com'] });
    await uac.send(req('sip:bob@127.0.0.1:15070', 'sip:mallory@evil.example'), leg);
    // Allowed by policy; no location service, so the target is ourselves: a loop, not a 403.
    expect(await h.settled(1)).toMatchObject({ status: 482 });
  });

  it('a throwing selectLeg hook is an internal-error outcome, not a crash', async () => {
    const { h, uac, leg } = await setup({ openRelay: true, selectLeg: () => { throw new Error('hook bug'); } });
    await uac.send(req('sip:carol@127.0.0.5:17001', 'sip:a@example.com'), leg);
    expect(await h.settled(1)).toMatchObject({ ok: false, status: 500, code: 'internal-error' });
  });

  it('rejects bad options at construction', async () => {
    const { StatelessProxy, ProxyError } = await import('../src/index.js');
    const { Dispatcher } = await import('@sipway/sip-leg');
    const dispatcher = new Dispatcher();
    expect(() => new StatelessProxy({ dispatcher, domains: [''] })).toThrow(/domains/);
    expect(() => new StatelessProxy({ dispatcher, maxForwardsCap: 0 })).toThrow(/maxForwardsCap/);
    expect(() => new StatelessProxy({ dispatcher, nonsense: 1 } as never)).toThrow(/unknown option/);
    let caught: unknown;
    try {
      new StatelessProxy({} as never);
    } catch (error) {
      caught = error;
    }
    expect(ProxyError.isInstance(caught) && caught.code).toBe('PROXY_INVALID_OPTIONS');
  });
});
