// CPU cost of one proxied INVITE: parse, validate, route, edit, serialize and an in-memory send.
// `pnpm --filter @sipway/proxy bench`. In-memory legs: no socket syscalls, so this is the
// proxy's own share of a forwarded message.
import { bench, describe } from 'vitest';
import { Dispatcher } from '@sipway/sip-leg';
import { MemoryNetwork } from '@sipway/sip-leg/testing';
import { parseMessage } from '@sipway/sip-message';
import { StatelessProxy } from '../src/index.js';

const INVITE = Buffer.from(
  [
    'INVITE sip:carol@127.0.0.5:17001 SIP/2.0',
    'Via: SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bKuac1;rport=16000;received=127.0.0.1',
    'Max-Forwards: 70',
    'From: "Alice" <sip:alice@example.com>;tag=111',
    'To: <sip:carol@example.com>',
    'Call-ID: call1@127.0.0.1',
    'CSeq: 1 INVITE',
    'Contact: <sip:alice@127.0.0.1:16000>',
    'Content-Type: application/sdp',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n'),
);

async function setup(twoLegs: boolean) {
  const net = new MemoryNetwork();
  const a = net.createLeg({ address: '127.0.0.1', port: 5060 });
  const b = net.createLeg({ address: '127.0.0.2', port: 5060 });
  const dispatcher = new Dispatcher({ legs: twoLegs ? [a, b] : [a] });
  const proxy = new StatelessProxy({ dispatcher, openRelay: true, contactKey: 'hex:' + '11'.repeat(32), selectLeg: () => (twoLegs ? b : a) });
  await dispatcher.start();
  const info = { leg: a, source: { transport: 'udp' as const, address: '127.0.0.1', port: 16000, family: 4 as const } };
  return async () => {
    await proxy.route(parseMessage(INVITE), info);
    if (net.packets.length > 1000) net.packets.length = 0;
  };
}

const oneLeg = await setup(false);
const twoLegs = await setup(true);

describe('StatelessProxy.route, INVITE', () => {
  const options = { time: 2000, warmupTime: 1000, warmupIterations: 2000 };
  bench('one leg', oneLeg, options);
  bench('two legs (Contact token, two Vias and Record-Routes)', twoLegs, options);
});
