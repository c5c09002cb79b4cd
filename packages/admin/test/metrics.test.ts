import { describe, expect, it } from 'vitest';
import { until } from '@sipway/test-peers';
import { Registry } from 'prom-client';
import { countBindings, createMetrics } from '../src/index.js';
import type { SipwayMetrics } from '../src/index.js';
import { parseMessage } from '@sipway/sip-message';
import { authorization, requestText, sample, sipSetup } from './helpers.js';

const SERVER = 'udp:10.0.0.1:5060';
const CLIENT = 'udp:10.0.0.2:5060';

async function withMetrics<T>(run: (metrics: SipwayMetrics) => Promise<T>, options: Parameters<typeof createMetrics>[0] = {}): Promise<T> {
  const metrics = createMetrics(options);
  try {
    return await run(metrics);
  } finally {
    metrics.dispose();
  }
}

describe('createMetrics: leg and registrar events', () => {
  it('counts messages per leg and method (responses as status class), responses by class and REGISTER outcomes', async () => {
    await withMetrics(async (metrics) => {
      const sip = await sipSetup();
      try {
        const ok = await sip.request(requestText({ contact: '<sip:alice@10.0.0.2:5060>', expires: 60 }));
        expect(ok.status).toBe(200);
        const tooBrief = await sip.request(requestText({ contact: '<sip:alice@10.0.0.2:5060>', expires: 1 }));
        expect(tooBrief.status).toBe(423);
        const text = await metrics.text();
        expect(sample(text, 'sipway_sip_messages_received_total', { leg: SERVER, kind: 'request', method: 'REGISTER' })).toBe(2);
        expect(sample(text, 'sipway_sip_messages_sent_total', { leg: SERVER, kind: 'response', method: '2xx' })).toBe(1);
        expect(sample(text, 'sipway_sip_messages_sent_total', { leg: SERVER, kind: 'response', method: '4xx' })).toBe(1);
        expect(sample(text, 'sipway_sip_messages_sent_total', { leg: CLIENT, kind: 'request', method: 'REGISTER' })).toBe(2);
        expect(sample(text, 'sipway_sip_messages_received_total', { leg: CLIENT, kind: 'response', method: '2xx' })).toBe(1);
        expect(sample(text, 'sipway_sip_responses_total', { direction: 'sent', class: '2xx' })).toBe(1);
        expect(sample(text, 'sipway_sip_responses_total', { direction: 'received', class: '4xx' })).toBe(1);
        expect(sample(text, 'sipway_registrar_registers_total', { status: '200', class: '2xx' })).toBe(1);
        expect(sample(text, 'sipway_registrar_registers_total', { status: '423', class: '4xx' })).toBe(1);
      } finally {
        await sip.close();
      }
    });
  });

  it('maps unregistered method names to "other" so a peer cannot invent series', async () => {
    await withMetrics(async (metrics) => {
      const sip = await sipSetup({ proxy: true });
      try {
        for (const method of ['XFOO', 'XBAR', 'XBAZ']) {
          await sip.request(requestText({ method, uri: 'sip:bob@example.com', to: 'sip:bob@example.com' }));
        }
        const text = await metrics.text();
        expect(sample(text, 'sipway_sip_messages_received_total', { leg: SERVER, kind: 'request', method: 'other' })).toBe(3);
        expect(text).not.toMatch(/XFOO|XBAR|XBAZ/);
      } finally {
        await sip.close();
      }
    });
  });

  it('serves the current bindings through the gauge, NaN and an error count when they cannot be counted', async () => {
    let fail = false;
    const sip = await sipSetup();
    try {
      await withMetrics(
        async (metrics) => {
          metrics.setBindingsCounter(async () => {
            if (fail) throw new Error('store down');
            return countBindings(sip.registrar);
          });
          expect(sample(await metrics.text(), 'sipway_registrar_bindings')).toBe(0);
          await sip.request(requestText({ contact: '<sip:alice@10.0.0.2:5060>', expires: 60 }));
          await sip.request(requestText({ to: 'sip:bob@example.com', contact: '<sip:bob@10.0.0.2:5062>, <sip:bob@10.0.0.2:5063>', expires: 60 }));
          expect(sample(await metrics.text(), 'sipway_registrar_bindings')).toBe(3);
          fail = true;
          const text = await metrics.text();
          expect(sample(text, 'sipway_registrar_bindings')).toBeNaN();
          expect(sample(text, 'sipway_registrar_bindings_errors_total')).toBe(1);
        },
        { registry: new Registry() },
      );
    } finally {
      await sip.close();
    }
  });

  it('does not let a hanging bindings counter hold a scrape', async () => {
    await withMetrics(
      async (metrics) => {
        metrics.setBindingsCounter(() => new Promise<number>(() => undefined));
        const text = await metrics.text();
        expect(sample(text, 'sipway_registrar_bindings')).toBeNaN();
        expect(sample(text, 'sipway_registrar_bindings_errors_total')).toBe(1);
      },
      { bindingsTimeoutMs: 50 },
    );
  });
});

describe('createMetrics: proxy and auth events', () => {
  it('counts forwarded requests and forward failures by reason', async () => {
    await withMetrics(async (metrics) => {
      const sip = await sipSetup({ proxy: true });
      try {
        expect((await sip.request(requestText({ contact: '<sip:alice@10.0.0.2:5060>', expires: 60 }))).status).toBe(200);
        const notFound = await sip.request(requestText({ method: 'INVITE', uri: 'sip:nobody@example.com', to: 'sip:nobody@example.com' }));
        expect(notFound.status).toBe(404);
        const hops = await sip.request(requestText({ method: 'MESSAGE', uri: 'sip:alice@example.com', to: 'sip:alice@example.com', maxForwards: 0 }));
        expect(hops.status).toBe(483);
        // Forwarded to alice's contact, which is the client leg itself: it arrives there.
        const before = sip.net.packets.length;
        await sip.client.send(parseMessage(requestText({ method: 'MESSAGE', uri: 'sip:alice@example.com', to: 'sip:alice@example.com' })), {
          transport: 'udp',
          address: '10.0.0.1',
          port: 5060,
          family: 4,
        });
        await until(() => sip.net.packets.length >= before + 2);
        const text = await metrics.text();
        expect(sample(text, 'sipway_proxy_forward_failures_total', { reason: 'not-found', action: 'answered' })).toBe(1);
        expect(sample(text, 'sipway_proxy_forward_failures_total', { reason: 'too-many-hops', action: 'answered' })).toBe(1);
        expect(sample(text, 'sipway_proxy_forwarded_total', { kind: 'request' })).toBe(1);
        expect(sample(text, 'sipway_sip_messages_received_total', { leg: CLIENT, kind: 'request', method: 'MESSAGE' })).toBe(1);
      } finally {
        await sip.close();
      }
    });
  });

  it('counts challenges, refused credentials and accepted ones', async () => {
    await withMetrics(async (metrics) => {
      const sip = await sipSetup({ users: { alice: 'secret' } });
      try {
        const first = await sip.request(requestText({ contact: '<sip:alice@10.0.0.2:5060>', expires: 60, callId: 'auth-1', cseq: 1 }));
        expect(first.status).toBe(401);
        const challenge = first.getHeader('www-authenticate') ?? '';
        const wrong = await sip.request(
          requestText({
            contact: '<sip:alice@10.0.0.2:5060>',
            expires: 60,
            callId: 'auth-1',
            cseq: 2,
            headers: [['Authorization', authorization(challenge, 'alice', 'not-the-password', 'REGISTER', 'sip:example.com')]],
          }),
        );
        expect(wrong.status).toBe(403);
        const again = await sip.request(requestText({ contact: '<sip:alice@10.0.0.2:5060>', expires: 60, callId: 'auth-2', cseq: 1 }));
        const right = await sip.request(
          requestText({
            contact: '<sip:alice@10.0.0.2:5060>',
            expires: 60,
            callId: 'auth-2',
            cseq: 2,
            headers: [['Authorization', authorization(again.getHeader('www-authenticate') ?? '', 'alice', 'secret', 'REGISTER', 'sip:example.com')]],
          }),
        );
        expect(right.status).toBe(200);
        const text = await metrics.text();
        expect(sample(text, 'sipway_auth_challenges_total', { status: '401', stale: 'false' })).toBe(2);
        expect(sample(text, 'sipway_auth_failures_total', { reason: 'bad-password', status: '403' })).toBe(1);
        expect(sample(text, 'sipway_auth_authorized_total', { algorithm: 'MD5' })).toBe(1);
        expect(sample(text, 'sipway_registrar_registers_total', { status: '200' })).toBe(1);
      } finally {
        await sip.close();
      }
    });
  });
});

describe('createMetrics: lifecycle', () => {
  it('stops counting and leaves the registry after dispose; dispose is idempotent and the registry reusable', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    const sip = await sipSetup();
    try {
      await sip.request(requestText({ contact: '<sip:alice@10.0.0.2:5060>', expires: 60 }));
      expect(sample(await registry.metrics(), 'sipway_registrar_registers_total', { status: '200' })).toBe(1);
      metrics.dispose();
      metrics.dispose();
      expect(metrics.disposed).toBe(true);
      expect(await registry.metrics()).not.toContain('sipway_');
      const again = createMetrics({ registry });
      try {
        await sip.request(requestText({ contact: '<sip:alice@10.0.0.2:5060>', expires: 60 }));
        const text = await registry.metrics();
        // The new instance starts at zero and saw only the second REGISTER.
        expect(sample(text, 'sipway_registrar_registers_total', { status: '200' })).toBe(1);
        expect(sample(text, 'sipway_sip_messages_received_total', { leg: SERVER, kind: 'request', method: 'REGISTER' })).toBe(1);
      } finally {
        again.dispose();
      }
    } finally {
      metrics.dispose();
      await sip.close();
    }
  });

  it('keeps two instances on separate registries independent', async () => {
    const a = createMetrics();
    const b = createMetrics();
    const sip = await sipSetup();
    try {
      expect(a.registry).not.toBe(b.registry);
      await sip.request(requestText({ contact: '<sip:alice@10.0.0.2:5060>', expires: 60 }));
      a.dispose();
      await sip.request(requestText({ contact: '<sip:alice@10.0.0.2:5060>', expires: 60 }));
      expect(sample(await b.text(), 'sipway_registrar_registers_total', { status: '200' })).toBe(2);
    } finally {
      a.dispose();
      b.dispose();
      await sip.close();
    }
  });

  it('adds process metrics only when asked, and removes them on dispose', async () => {
    await withMetrics(async (metrics) => expect(await metrics.text()).not.toContain('process_cpu'));
    const registry = new Registry();
    await withMetrics(async (metrics) => expect(await metrics.text()).toContain('process_cpu_user_seconds_total'), { defaultMetrics: true, registry });
    expect(await registry.metrics()).toBe('\n');
    // The same registry takes a second instance with process metrics.
    await withMetrics(async (metrics) => expect(await metrics.text()).toContain('nodejs_eventloop_lag_seconds'), { defaultMetrics: true, registry });
  });

  it('refuses bad options', () => {
    expect(() => createMetrics({ bindingsTimeoutMs: 0 })).toThrow(/bindingsTimeoutMs/);
    expect(() => createMetrics({ bindings: 3 as unknown as () => Promise<number> })).toThrow(/bindings/);
  });
});

describe('createMetrics: media relay events', () => {
  it('counts relayed calls, packets, bytes and drops of @sipway/media-relay', async () => {
    const { BuiltinMediaRelay } = await import('@sipway/media-relay');
    const { createSocket } = await import('node:dgram');
    await withMetrics(async (metrics) => {
      const portMin = 44000 + 2 * Math.floor(Math.random() * 5000);
      const relay = new BuiltinMediaRelay({ portMin, portMax: portMin + 19, sweepInterval: 20 });
      const a = createSocket('udp4');
      const b = createSocket('udp4');
      try {
        await new Promise<void>((r) => a.bind(0, '127.0.0.1', () => r()));
        await new Promise<void>((r) => b.bind(0, '127.0.0.1', () => r()));
        const side = (address: string) => ({ leg: `udp:${address}:5060`, address, transport: 'udp' as const, family: 4 as const });
        const sdp = (port: number) => `v=0\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\n`;
        const call = { callId: 'm1', fromTag: 'a', toTag: 'b', cseq: 1 };
        const offered = await relay.offer(sdp(a.address().port), call, side('127.0.0.1'), side('127.0.0.2'));
        const toB = Number(/m=audio (\d+)/.exec(offered)![1]);
        // Before the answer nothing is relayed: a dropped packet.
        b.send(Buffer.alloc(10), toB, '127.0.0.2');
        const end = Date.now() + 3000;
        while (relay.stats().dropped === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
        const answered = await relay.answer(sdp(b.address().port), call, side('127.0.0.2'), side('127.0.0.1'));
        const toA = Number(/m=audio (\d+)/.exec(answered)![1]);
        for (let i = 0; i < 3; i++) a.send(Buffer.alloc(172), toA, '127.0.0.1');
        b.send(Buffer.alloc(172), toB, '127.0.0.2');
        // Traffic is published in batches (each sweep): poll the scrape.
        const scrapeUntil = async (check: (text: string) => boolean) => {
          const end = Date.now() + 3000;
          while (!check(await metrics.text())) {
            if (Date.now() > end) throw new Error('condition not met in time');
            await new Promise((r) => setTimeout(r, 20));
          }
        };
        await scrapeUntil((t) => sample(t, 'sipway_media_packets_total', { relay: 'builtin' }) === 4);
        await scrapeUntil((t) => sample(t, 'sipway_media_dropped_packets_total', { relay: 'builtin' }) === 1);
        let text = await metrics.text();
        expect(sample(text, 'sipway_media_bytes_total', { relay: 'builtin' })).toBe(4 * 172);
        expect(sample(text, 'sipway_media_sessions')).toBe(1);
        expect(sample(text, 'sipway_media_sessions_total', { event: 'open', reason: '' })).toBe(1);
        expect(sample(text, 'sipway_media_sessions_total', { event: 'active', reason: '' })).toBe(1);
        await relay.delete(call, 'bye');
        text = await metrics.text();
        expect(sample(text, 'sipway_media_sessions')).toBe(0);
        expect(sample(text, 'sipway_media_sessions_total', { event: 'close', reason: 'bye' })).toBe(1);
      } finally {
        await relay.close();
        a.close();
        b.close();
      }
    });
  });
});
