import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { cleanup, find, freePort, headerValues, sipp, startLine, startProxy, until } from './helpers.js';

const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await cleanup();
});

/** Header lines of `request` with these names (full or compact), in order. */
function copyLines(request: string, names: string[]): string[] {
  const head = request.split(/\r\n\r\n/)[0]!.split('\r\n').slice(1);
  return head.filter((l) => names.includes(l.slice(0, l.indexOf(':')).trim().toLowerCase()));
}

function answer(request: string, status: string, extra: string[] = [], toTag?: string): string {
  const lines = copyLines(request, ['via', 'v', 'record-route', 'from', 'f', 'call-id', 'i', 'cseq']);
  const to = copyLines(request, ['to', 't'])[0]!;
  return [`SIP/2.0 ${status}`, ...lines, toTag !== undefined && !/;tag=/.test(to) ? `${to};tag=${toTag}` : to, ...extra, 'Content-Length: 0', '', ''].join('\r\n');
}

describe('a WebSocket client (RFC 7118) registering and called from UDP', () => {
  it('registers over ws, is called by a sipp UAC over UDP, and answers INVITE and BYE over its WebSocket', async () => {
    const proxy = await startProxy(
      ['--leg', 'udp:127.0.0.1:0', '--leg', 'ws:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--log-level', 'warn'],
      2,
    );
    const udp = proxy.legs.find((l) => l.transport === 'udp')!;
    const wsLeg = proxy.legs.find((l) => l.transport === 'ws')!;

    const ws = new WebSocket(`ws://127.0.0.1:${wsLeg.port}/`, 'sip');
    sockets.push(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    expect(ws.protocol).toBe('sip');
    const lp = (ws as unknown as { _socket: { localPort: number } })._socket.localPort;
    // The contact names the client's own socket: the proxy reaches it over the connection it opened.
    const contact = `<sip:wsuser@127.0.0.1:${lp};transport=ws>`;
    const received: string[] = [];
    ws.on('message', (data) => {
      const text = data.toString();
      received.push(text);
      if (text.startsWith('INVITE ')) {
        ws.send(answer(text, '180 Ringing', [], 'ws1'));
        ws.send(answer(text, '200 OK', [`Contact: ${contact}`], 'ws1'));
      } else if (text.startsWith('BYE ')) {
        ws.send(answer(text, '200 OK'));
      }
    });

    ws.send(
      [
        'REGISTER sip:example.com SIP/2.0',
        `Via: SIP/2.0/WS 127.0.0.1:${lp};branch=z9hG4bK-ws-reg-1`,
        'Max-Forwards: 70',
        'From: <sip:wsuser@example.com>;tag=wsreg',
        'To: <sip:wsuser@example.com>',
        'Call-ID: ws-register-1@sipway.test',
        'CSeq: 1 REGISTER',
        `Contact: ${contact}`,
        'Expires: 120',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
    await until(() => received.some((m) => m.startsWith('SIP/2.0 200')), 5000, '200 to REGISTER over ws');

    const uac = await sipp({
      scenario: 'uac-call.xml',
      remote: `127.0.0.1:${udp.port}`,
      local: '127.0.0.1',
      port: await freePort(),
      transport: 'udp',
      keys: { user: 'wsuser', domain: 'example.com', contact_host: '127.0.0.1' },
    }).done;
    expect(uac.code, uac.errors + uac.output.slice(-1500)).toBe(0);
    await until(() => received.some((m) => m.startsWith('BYE ')), 5000, 'BYE over ws');

    const [invite] = find(received, /^INVITE /);
    expect(startLine(invite!)).toBe(`INVITE sip:wsuser@127.0.0.1:${lp};transport=ws SIP/2.0`);
    expect(headerValues(invite!, 'Via', 'v')[0]).toMatch(new RegExp(`^SIP/2\\.0/WS 127\\.0\\.0\\.1:${wsLeg.port};branch=z9hG4bK`));
    expect(headerValues(invite!, 'Max-Forwards')).toEqual(['69']);
    // Leg changed (UDP → WS): the caller's Contact arrives as a token at the proxy's ws leg.
    expect(headerValues(invite!, 'Contact', 'm')[0]).toMatch(new RegExp(`^<sip:[A-Za-z0-9]+@127\\.0\\.0\\.1:${wsLeg.port};transport=ws>`));
    expect(find(received, /^ACK /)).toHaveLength(1);
    expect(startLine(find(received, /^BYE /)[0]!)).toBe(`BYE sip:wsuser@127.0.0.1:${lp};transport=ws SIP/2.0`);
    expect(await proxy.stop()).toBe(0);
  });
});
