import { afterEach, describe, expect, it } from 'vitest';
import { pinoCapture, until } from '@sipway/test-peers';
import { UdpLeg } from '@sipway/sip-leg/udp';
import { UdpPeer } from './helpers.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('a pino logger passed straight in', () => {
  it('gets the fields of a leg log line, not only the message', async () => {
    const { logger, lines } = pinoCapture();
    const leg = new UdpLeg({ address: '127.0.0.1', port: 0, logger, answerBadRequests: false });
    await leg.start();
    cleanup.push(() => leg.close());
    const peer = new UdpPeer('udp4');
    await peer.bind('127.0.0.1');
    cleanup.push(() => peer.close());
    await peer.send('definitely not SIP at all\r\n\r\n', leg.port, '127.0.0.1');
    await until(() => lines.some((l) => l.msg === 'dropped unparseable messages'), 5000, 'the dropped line');
    const line = lines.find((l) => l.msg === 'dropped unparseable messages')!;
    expect(line.level).toBe(30);
    expect(line.leg).toBe(`udp leg 127.0.0.1:${leg.port}`);
    expect(line.count).toBe(1);
  });
});
