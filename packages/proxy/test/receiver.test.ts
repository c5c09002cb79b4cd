import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { PROXY_CHANNELS } from '../src/index.js';
import { harness, invite } from './helpers.js';
import type { Harness } from './helpers.js';

// The Receiver contract and the diagnostics_channel events.
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('receiver and diagnostics', () => {
  it('publishes forward, reply and drop events', async () => {
    h = await harness([{ address: '127.0.0.1', port: 15070 }], { openRelay: true });
    const uac = await h.peer('127.0.0.1', 16000);
    const carol = await h.peer('127.0.0.5', 17001);
    const events: string[] = [];
    const on = {
      forward: (e: unknown) => events.push(`forward ${(e as { destination: { address: string } }).destination.address}`),
      reply: (e: unknown) => events.push(`reply ${(e as { response: { status: number } }).response.status}`),
      drop: (e: unknown) => events.push(`drop ${(e as { code: string }).code}`),
    };
    subscribe(PROXY_CHANNELS.forward, on.forward);
    subscribe(PROXY_CHANNELS.reply, on.reply);
    subscribe(PROXY_CHANNELS.drop, on.drop);
    try {
      await uac.send(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000'), h.legs[0]!);
      await carol.waitFor(0);
      await uac.send(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000', [], { mf: '0', callId: 'x2' }), h.legs[0]!);
      await uac.waitFor(0);
      await uac.send(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000', [], { mf: '0', callId: 'x3', method: 'ACK' }), h.legs[0]!);
      await h.settled(3);
    } finally {
      unsubscribe(PROXY_CHANNELS.forward, on.forward);
      unsubscribe(PROXY_CHANNELS.reply, on.reply);
      unsubscribe(PROXY_CHANNELS.drop, on.drop);
    }
    expect(events).toEqual(['forward 127.0.0.5', 'reply 483', 'drop too-many-hops']);
  });

  it('receive() takes messages until close(), then declines them', async () => {
    h = await harness([{ address: '127.0.0.1', port: 15070 }], { openRelay: true });
    const carol = await h.peer('127.0.0.5', 17001);
    const { parseMessage } = await import('@sipway/sip-message');
    const info = { leg: h.legs[0]!, source: { transport: 'udp' as const, address: '127.0.0.1', port: 16000, family: 4 as const } };
    expect(h.proxy.receive(parseMessage(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000')), info)).toBe(true);
    await carol.waitFor(0);
    h.proxy.close();
    expect(h.proxy.receive(parseMessage(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000')), info)).toBe(false);
    expect(await h.proxy.route(parseMessage(invite('sip:carol@127.0.0.5:17001', '127.0.0.1:16000')), info)).toMatchObject({ ok: false, code: 'closed' });
  });
});
