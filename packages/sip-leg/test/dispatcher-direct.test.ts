import { afterEach, describe, expect, it } from 'vitest';
import { parseMessage } from '@sipway/sip-message';
import { Dispatcher } from '../src/index.js';
import type { DestinationResolver, Transport } from '../src/index.js';
import { MemoryNetwork } from '../src/testing/index.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

// Records what the dispatcher asks; answers with one memory-network address.
class RecordingResolver implements DestinationResolver {
  readonly calls: Array<{ uri: string; direct: boolean | undefined }> = [];
  async resolve(uri: string, options?: { transports?: Transport[]; direct?: boolean }) {
    this.calls.push({ uri, direct: options?.direct });
    return { ok: true as const, destinations: [{ transport: 'udp' as const, address: '10.0.0.2', port: 5060, family: 4 as const }] };
  }
}

describe('Dispatcher: responses resolve their Via directly (RFC 3263 §5)', () => {
  it('asks the resolver for a response sent-by with direct, and for a request without', async () => {
    const net = new MemoryNetwork();
    const leg = net.createLeg({ address: '10.0.0.1', port: 5060 });
    const peer = net.createLeg({ address: '10.0.0.2', port: 5060 });
    const got: string[] = [];
    peer.onReceive = (m) => got.push(m.isRequest ? m.method : String(m.status));
    const resolver = new RecordingResolver();
    const dispatcher = new Dispatcher({ legs: [leg], resolver });
    await dispatcher.start();
    await peer.start();
    cleanup.push(() => dispatcher.close(), () => peer.close());

    const response = parseMessage(
      'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP uac.example.test:5060;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n',
    );
    expect((await dispatcher.deliver(response)).ok).toBe(true);
    const request = parseMessage(
      'OPTIONS sip:bob@example.test SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK2\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: d\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n',
    );
    expect((await dispatcher.deliver(request)).ok).toBe(true);
    expect(resolver.calls).toEqual([
      { uri: 'sip:uac.example.test:5060;transport=udp', direct: true },
      { uri: 'sip:bob@example.test', direct: undefined },
    ]);
    for (let i = 0; i < 50 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual(['200', 'OPTIONS']);
  });
});
