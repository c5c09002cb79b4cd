/**
 * Registered flows (RFC 5626 §4.4, §5.2) on the connection-oriented legs: a pinned connection
 * outlives the idle timeout until its pin lapses, `connectionTo` finds a peer's connection, and
 * the dispatcher tells when a connection closed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '@sipway/test-peers';
import { WebSocket } from 'ws';
import { Dispatcher, reachableOnlyByFlow } from '../src/index.js';
import type { Leg, LegConnection } from '../src/index.js';
import { TcpLeg } from '../src/tcp/index.js';
import { WsLeg } from '../src/ws/index.js';
import { FAMILIES, Inbox, StreamPeer, bracket, request, sleep } from './helpers.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

type Kind = 'tcp' | 'ws';

/** A started leg in a dispatcher, and a client connected to it that said one request. */
async function setup(kind: Kind, address: string, keepRegisteredFlows = true) {
  const inbox = new Inbox();
  const options = { address, port: 0, idleTimeoutMs: 300, keepRegisteredFlows };
  const leg: Leg = kind === 'tcp' ? new TcpLeg(options) : new WsLeg(options);
  const dispatcher = new Dispatcher({ legs: [leg], receiver: { receive: inbox.handler } });
  const closed: LegConnection[] = [];
  dispatcher.onConnectionClose((c) => closed.push(c));
  await dispatcher.start();
  cleanup.push(() => dispatcher.close());
  let isClosed: () => boolean;
  let end: () => void;
  const text = request({ via: `SIP/2.0/${kind.toUpperCase()} x.invalid;branch=z9hG4bKf1` });
  if (kind === 'tcp') {
    const peer = await StreamPeer.connect(address, leg.port);
    cleanup.push(() => peer.destroy());
    peer.write(text);
    isClosed = () => peer.closed;
    end = () => peer.destroy();
  } else {
    const ws = new WebSocket(`ws://${bracket(address)}:${leg.port}/`, 'sip');
    cleanup.push(() => ws.terminate());
    await new Promise<void>((r, j) => {
      ws.once('open', () => r());
      ws.once('error', j);
    });
    ws.send(text);
    isClosed = () => ws.readyState === WebSocket.CLOSED;
    end = () => ws.close();
  }
  const { info } = await inbox.next();
  return { leg, connection: info.connection!, source: info.source, closed, isClosed, end };
}

describe.each(FAMILIES)('registered flows over $name', ({ address }) => {
  for (const kind of ['tcp', 'ws'] as const) {
    it(`${kind}: a pinned connection stays open past the idle timeout until the pin lapses`, async () => {
      const { leg, connection, source, isClosed } = await setup(kind, address);
      expect(leg.connectionTo!(source.address, source.port)).toBe(connection);
      // Pinned well past the check below, so a slow box cannot make it lapse early.
      connection.keepOpenUntil!(Date.now() + 2500);
      await sleep(1000); // more than three idle periods
      expect(isClosed()).toBe(false);
      await until(() => isClosed(), 6000, 'close once the pin lapsed');
      await until(() => leg.connectionTo!(source.address, source.port) === undefined, 3000, 'connection forgotten');
    });

    it(`${kind}: keepRegisteredFlows false ignores pins; the dispatcher reports the close`, async () => {
      const { connection, closed, isClosed } = await setup(kind, address, false);
      connection.keepOpenUntil!(Date.now() + 60_000);
      await until(() => isClosed(), 3000, 'idle close');
      await until(() => closed.length === 1, 3000, 'close reported');
      expect(closed[0]).toBe(connection);
    });

    it(`${kind}: the peer closing is reported too`, async () => {
      const { connection, closed, end } = await setup(kind, address);
      connection.keepOpenUntil!(Date.now() + 60_000);
      end();
      await until(() => closed.length === 1, 3000, 'close reported');
      expect(closed[0]!.id).toBe(connection.id);
    });
  }
});

describe('reachableOnlyByFlow', () => {
  it('holds for WebSocket, .invalid, ob and reg-id/+sip.instance over connections, never for UDP', () => {
    expect(reachableOnlyByFlow('sip:a@192.0.2.1:5060', 'ws')).toBe(true);
    expect(reachableOnlyByFlow('sip:a@x.invalid;transport=tcp', 'tcp')).toBe(true);
    expect(reachableOnlyByFlow('sip:a@192.0.2.1;transport=tcp;ob', 'tls')).toBe(true);
    expect(reachableOnlyByFlow('sip:a@192.0.2.1;transport=tcp', 'tcp', { 'reg-id': '1', '+sip.instance': '"<urn:uuid:1>"' })).toBe(true);
    expect(reachableOnlyByFlow('sip:a@192.0.2.1;transport=tcp', 'tcp', { 'reg-id': '1' })).toBe(false);
    expect(reachableOnlyByFlow('sip:a@192.0.2.1;transport=tcp', 'tcp')).toBe(false);
    expect(reachableOnlyByFlow('sip:a@x.invalid;ob', 'udp')).toBe(false);
  });
});
