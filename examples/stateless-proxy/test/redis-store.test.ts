import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, find, startLine, startProxy, unsigned } from './helpers.js';
import { adminGet, callBob, digestAuthorization, header, registerUas, statusOf, udpClient } from './ops-helpers.js';
import { startRedisServer } from '@sipway/test-peers';
import type { RedisServer } from '@sipway/test-peers';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.destroy();
});
afterEach(cleanup);

function proxyArgs(db: number): string[] {
  return ['--leg', 'udp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--store', redis.url(db), '--admin', '127.0.0.1:0', '--log-level', 'warn'];
}

describe('--store redis://… (one location service for several proxies)', () => {
  it('a UAS registered through proxy A is called through proxy B (INVITE/200/ACK/BYE reach it)', async () => {
    const a = await startProxy(proxyArgs(1), 1);
    const b = await startProxy(proxyArgs(1), 1);
    const { uas, uasPort, reg } = await registerUas(a.legs[0]!.port);
    expect(reg.code, reg.errors).toBe(0);
    const uac = await callBob(b.legs[0]!.port);
    const callee = await uas.done;
    expect(uac.code, uac.errors + uac.output.slice(-1000)).toBe(0);
    expect(callee.code, callee.errors).toBe(0);
    const [invite] = find(callee.received, /^INVITE /);
    // B found the contact registered through A (RFC 3261 §16.5) and is the one on the path.
    expect(startLine(invite!)).toBe(`INVITE sip:bob@127.0.0.3:${uasPort};transport=UDP SIP/2.0`);
    expect(header(invite!, 'Record-Route').map(unsigned)).toEqual([`<sip:127.0.0.1:${b.legs[0]!.port};lr>`]);
    expect(find(callee.received, /^ACK /)).toHaveLength(1);
    expect(find(callee.received, /^BYE /)).toHaveLength(1);
    // A never saw the call.
    const bindingsA = (await adminGet(a.admin!, '/bindings')).json as Array<{ aor: string }>;
    expect(bindingsA.map((r) => r.aor)).toEqual(['sip:bob@example.com']);
    expect(await a.stop()).toBe(0);
    expect(await b.stop()).toBe(0);
  });

  it('with one --nonce-secret, a challenge from proxy A is answered at proxy B (SHA-256), a replay is refused at B and at A, and A sees the binding', async () => {
    const auth = ['--auth-user', 'frank:secret-f', '--nonce-secret', 'cluster-nonce-secret-0123456789'];
    const a = await startProxy([...proxyArgs(3), ...auth], 1);
    const b = await startProxy([...proxyArgs(3), ...auth], 1);
    const client = await udpClient();
    try {
      const challenge = await client.request(a.legs[0]!, { user: 'frank', callId: 'cluster-1', cseq: 1 });
      expect(statusOf(challenge)).toBe(401);
      const offered = header(challenge, 'WWW-Authenticate');
      expect(offered.map((c) => /algorithm=([\w-]+)/.exec(c)?.[1])).toEqual(['SHA-256', 'MD5']);
      const answer = digestAuthorization(offered[0]!, { algorithm: 'SHA-256', user: 'frank', password: 'secret-f', method: 'REGISTER', uri: 'sip:example.com' });
      expect(statusOf(await client.request(b.legs[0]!, { user: 'frank', callId: 'cluster-1', cseq: 2, headers: [answer] }))).toBe(200);
      // The same answer once more (a replay of nonce count 1) is refused, by B and by A: the
      // nonce counts live in the shared Redis.
      expect(statusOf(await client.request(b.legs[0]!, { user: 'frank', callId: 'cluster-1', cseq: 3, headers: [answer] }))).toBe(401);
      const replayAtA = await client.request(a.legs[0]!, { user: 'frank', callId: 'cluster-1', cseq: 4, headers: [answer] });
      expect(statusOf(replayAtA)).toBe(401);
      expect(header(replayAtA, 'WWW-Authenticate').join(',')).toMatch(/stale=TRUE/i);
      const seenByA = (await adminGet(a.admin!, '/bindings')).json as Array<{ aor: string }>;
      expect(seenByA.map((r) => r.aor)).toEqual(['sip:frank@example.com']);

      // Redis down: a fresh, correct answer cannot be checked for replay, so it is not accepted
      // (a new challenge), and the proxy lives on.
      const again = await client.request(a.legs[0]!, { user: 'frank', callId: 'cluster-2', cseq: 1 });
      const fresh = digestAuthorization(header(again, 'WWW-Authenticate')[0]!, { algorithm: 'SHA-256', user: 'frank', password: 'secret-f', method: 'REGISTER', uri: 'sip:example.com' });
      await redis.stop('SIGKILL');
      try {
        expect(statusOf(await client.request(a.legs[0]!, { user: 'frank', callId: 'cluster-2', cseq: 2, headers: [fresh] }))).toBe(401);
        expect(a.child.exitCode).toBeNull();
      } finally {
        await redis.start();
      }
    } finally {
      client.close();
    }
    expect(await a.stop()).toBe(0);
    expect(await b.stop()).toBe(0);
  });

  it('answers REGISTER with 503 and Retry-After while Redis is down, and 200 again once it is back', async () => {
    const proxy = await startProxy(proxyArgs(2), 1);
    const leg = proxy.legs[0]!;
    const client = await udpClient();
    try {
      expect(statusOf(await client.request(leg, { user: 'carol' }))).toBe(200);
      await redis.stop('SIGKILL');
      const refused = await client.request(leg, { user: 'carol' });
      expect(statusOf(refused)).toBe(503);
      expect(header(refused, 'Retry-After')).toEqual([expect.stringMatching(/^\d+$/)]);
      expect((await adminGet(proxy.admin!, '/health')).status).toBe(503);
      // A request to a user fails fast too: the lookup error becomes a 503, within the client's 3 s bound.
      const lookup = await client.request(leg, { user: 'carol', method: 'OPTIONS' });
      expect(statusOf(lookup)).toBe(503);

      await redis.start();
      // ioredis reconnects on its own: bounded retries, one REGISTER every 250 ms for at most 15 s.
      let status = 0;
      for (let i = 0; i < 60 && status !== 200; i++) {
        status = statusOf(await client.request(leg, { user: 'carol' }));
        if (status !== 200) await new Promise((r) => setTimeout(r, 250));
      }
      expect(status).toBe(200);
      expect((await adminGet(proxy.admin!, '/health')).status).toBe(200);
      // The process lived through the outage.
      expect(proxy.child.exitCode).toBeNull();
    } finally {
      client.close();
      await redis.start();
    }
    expect(await proxy.stop()).toBe(0);
  });
});
