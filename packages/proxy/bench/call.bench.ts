// CPU cost of one whole proxied call, the 7 messages of `pnpm bench:proxy` (INVITE, 100, 180,
// 200, ACK, BYE, 200), through the proxy's JavaScript only: in-memory legs, no socket syscalls.
// `pnpm --filter @sipway/proxy bench`. Every call has its own Call-ID, tags and branches, so
// per-dialog caches see what a real load gives them.
import { bench, describe } from 'vitest';
import { Dispatcher } from '@sipway/sip-leg';
import { MemoryNetwork } from '@sipway/sip-leg/testing';
import { parseMessage } from '@sipway/sip-message';
import { StatelessProxy } from '../src/index.js';

const UAC = { transport: 'udp' as const, address: '127.0.0.1', port: 16000, family: 4 as const };
const UAS = { transport: 'udp' as const, address: '127.0.0.3', port: 17000, family: 4 as const };

const net = new MemoryNetwork();
const leg = net.createLeg({ address: '127.0.0.1', port: 5060 });
const dispatcher = new Dispatcher({ legs: [leg] });
const proxy = new StatelessProxy({ dispatcher, openRelay: true, contactKey: 'hex:' + '11'.repeat(32) });
await dispatcher.start();
const info = (source: typeof UAC) => ({ leg, source });

const crlf = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n') + '\r\n\r\n');

/** The last message the proxy sent (the network records every one). */
function lastSent(): string {
  const p = net.packets[net.packets.length - 1];
  if (p === undefined) throw new Error('the proxy sent nothing');
  return p.text;
}
const headerLines = (text: string, name: string): string[] =>
  text.split('\r\n').filter((l) => l.toLowerCase().startsWith(name.toLowerCase() + ':'));

let n = 0;
async function call(): Promise<void> {
  const id = ++n;
  const tag = `1000u${id}`;
  const callId = `${id}-4711@127.0.0.1`;
  await proxy.route(
    parseMessage(
      crlf([
        `INVITE sip:service@127.0.0.3:17000;transport=UDP SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bK-${id}-1-0;rport`,
        `From: <sip:bench@127.0.0.1:16000>;tag=${tag}`,
        `To: <sip:service@127.0.0.3:17000>`,
        `Call-ID: ${callId}`,
        'CSeq: 1 INVITE',
        'Contact: <sip:bench@127.0.0.1:16000;transport=UDP>',
        'Max-Forwards: 70',
        'Subject: sipway bench',
        'Content-Length: 0',
      ]),
    ),
    info(UAC),
  );
  const invite = lastSent();
  const vias = headerLines(invite, 'Via');
  const recordRoutes = headerLines(invite, 'Record-Route');
  const response = (status: string, toTag: string, cseq: string, viaLines: string[], extra: string[] = []) =>
    parseMessage(
      crlf([
        `SIP/2.0 ${status}`,
        ...viaLines,
        `From: <sip:bench@127.0.0.1:16000>;tag=${tag}`,
        `To: <sip:service@127.0.0.3:17000>${toTag}`,
        `Call-ID: ${callId}`,
        `CSeq: ${cseq}`,
        ...extra,
        'Content-Length: 0',
      ]),
    );
  const uasTag = `;tag=${id}SIPpTag01`;
  await proxy.route(response('100 Trying', '', '1 INVITE', vias), info(UAS));
  await proxy.route(response('180 Ringing', uasTag, '1 INVITE', vias, recordRoutes), info(UAS));
  await proxy.route(response('200 OK', uasTag, '1 INVITE', vias, [...recordRoutes, 'Contact: <sip:127.0.0.3:17000;transport=UDP>']), info(UAS));
  const ok = lastSent();
  const contact = /<([^>]+)>/.exec(headerLines(ok, 'Contact')[0] ?? '')?.[1] ?? 'sip:127.0.0.3:17000';
  const routes = headerLines(ok, 'Record-Route').map((l) => l.replace(/^Record-Route/i, 'Route'));
  const inDialog = (method: string, cseq: number, branch: string) =>
    parseMessage(
      crlf([
        `${method} ${contact} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bK-${id}-${branch};rport`,
        ...routes,
        `From: <sip:bench@127.0.0.1:16000>;tag=${tag}`,
        `To: <sip:service@127.0.0.3:17000>${uasTag}`,
        `Call-ID: ${callId}`,
        `CSeq: ${cseq} ${method}`,
        'Max-Forwards: 70',
        'Content-Length: 0',
      ]),
    );
  await proxy.route(inDialog('ACK', 1, '5-0'), info(UAC));
  await proxy.route(inDialog('BYE', 2, '6-0'), info(UAC));
  const bye = lastSent();
  await proxy.route(response('200 OK', uasTag, '2 BYE', headerLines(bye, 'Via')), info(UAS));
  if (net.packets.length !== 7) throw new Error(`a call sent ${net.packets.length} messages, not 7`);
  net.packets.length = 0;
}

describe('StatelessProxy.route, one call of 7 messages (one UDP leg)', () => {
  bench('INVITE, 100, 180, 200, ACK, BYE, 200', call, { time: 3000, warmupTime: 1000, warmupIterations: 500 });
});
