/**
 * Flows (RFC 5626, RFC 7118 §5): clients reachable only over the connection they registered or
 * called on — a WebSocket client with a `.invalid` Contact, a TCP client with `;ob` whose Contact
 * port is closed — are called, and their dialogs complete, through the real example proxy; a
 * registered connection outlives the idle timeout; a closed flow's binding is gone (480).
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { adminGet, waitPortBound } from '@sipway/test-peers';
import { bracket, cleanup, find, freePort, headerValues, sipp, startLine, startProxy, unsigned, until } from './helpers.js';
import type { ProxyProcess } from './helpers.js';

const closers: Array<() => void> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) c();
  await cleanup();
});

/** Header lines of `request` with these names (full or compact), in order. */
function copyLines(request: string, names: string[]): string[] {
  const head = request.split(/\r\n\r\n/)[0]!.split('\r\n').slice(1);
  return head.filter((l) => names.includes(l.slice(0, l.indexOf(':')).trim().toLowerCase()));
}

/** A response to `request` as a UAS writes it (Via, Record-Route, From, To, Call-ID, CSeq copied). */
function answer(request: string, status: string, extra: string[] = [], toTag?: string): string {
  const lines = copyLines(request, ['via', 'v', 'record-route', 'from', 'f', 'call-id', 'i', 'cseq']);
  const to = copyLines(request, ['to', 't'])[0]!;
  return [`SIP/2.0 ${status}`, ...lines, toTag !== undefined && !/;tag=/.test(to) ? `${to};tag=${toTag}` : to, ...extra, 'Content-Length: 0', '', ''].join('\r\n');
}

function message(lines: string[]): string {
  return [...lines, 'Content-Length: 0', '', ''].join('\r\n');
}

/** A raw SIP client over one connection that answers INVITE (180, 200) and BYE (200) by itself. */
abstract class RawClient {
  readonly received: string[] = [];
  constructor(readonly contact: string) {}
  abstract send(text: string): void;
  abstract get open(): boolean;
  protected take(text: string): void {
    this.received.push(text);
    if (text.startsWith('INVITE ')) {
      this.send(answer(text, '180 Ringing', [], 'c1'));
      this.send(answer(text, '200 OK', [`Contact: ${this.contact}`], 'c1'));
    } else if (text.startsWith('BYE ')) {
      this.send(answer(text, '200 OK'));
    }
  }
  async waitFor(start: RegExp, what: string, count = 1): Promise<string> {
    await until(() => find(this.received, start).length >= count, 10_000, what);
    return find(this.received, start)[count - 1]!;
  }
}

class WsClient extends RawClient {
  private constructor(
    readonly ws: WebSocket,
    contact: string,
  ) {
    super(contact);
    ws.on('message', (data) => this.take(data.toString()));
  }
  static async open(port: number, contact: string, host = '127.0.0.1'): Promise<WsClient> {
    const ws = new WebSocket(`ws://${bracket(host)}:${port}/`, 'sip');
    closers.push(() => ws.terminate());
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new WsClient(ws, contact);
  }
  send(text: string): void {
    this.ws.send(text);
  }
  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }
}

/** SIP over one TCP connection, framed by Content-Length (RFC 3261 §18.3); CRLF keep-alives skipped. */
class TcpClient extends RawClient {
  private buffer = '';
  closed = false;
  private constructor(
    readonly socket: Socket,
    contact: string,
  ) {
    super(contact);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }
  static async open(port: number, contact: string, host = '127.0.0.1'): Promise<TcpClient> {
    const socket = connect({ host, port });
    closers.push(() => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    return new TcpClient(socket, contact);
  }
  get localPort(): number {
    return this.socket.localPort!;
  }
  send(text: string): void {
    this.socket.write(text);
  }
  get open(): boolean {
    return !this.closed;
  }
  private onData(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      this.buffer = this.buffer.replace(/^(\r\n)+/, '');
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = this.buffer.slice(0, end);
      const length = Number(/^(?:content-length|l)\s*:\s*(\d+)/im.exec(head)?.[1] ?? 0);
      if (this.buffer.length < end + 4 + length) return;
      const text = this.buffer.slice(0, end + 4 + length);
      this.buffer = this.buffer.slice(end + 4 + length);
      this.take(text);
    }
  }
}

function register(aor: string, contact: string, via: string, callId: string, extra: string[] = []): string {
  return message([
    `REGISTER sip:example.com SIP/2.0`,
    `Via: ${via};branch=z9hG4bK-${callId}`,
    'Max-Forwards: 70',
    `From: <sip:${aor}@example.com>;tag=r-${callId}`,
    `To: <sip:${aor}@example.com>`,
    `Call-ID: ${callId}@flows.test`,
    'CSeq: 1 REGISTER',
    `Contact: ${contact}`,
    'Expires: 120',
    ...extra,
  ]);
}

function leg(proxy: ProxyProcess, transport: string): number {
  return proxy.legs.find((l) => l.transport === transport)!.port;
}

/** No log line of the proxy says it tried DNS for a `.invalid` name. */
function neverResolvedInvalid(proxy: ProxyProcess): void {
  expect(proxy.output()).not.toMatch(/resolving [^"]*\.invalid/);
}

/** Record-Route values of a message, top first, comma lists split. */
function recordRoutes(text: string): string[] {
  return headerValues(text, 'Record-Route').flatMap((v) => v.split(/,\s*(?=<)/));
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const TOKEN_RR = (port: number, transport: string, host = '127.0.0.1') =>
  new RegExp(`^<sip:[A-Za-z0-9_-]{20,}@${esc(bracket(host))}:${port};transport=${transport};lr;rrsig=[A-Za-z0-9_-]+>$`);
const FAMILIES = [
  { name: 'IPv4', host: '127.0.0.1' },
  { name: 'IPv6', host: '::1' },
];

describe.each(FAMILIES)('a WebSocket client with a .invalid Contact, called ($name)', ({ host }) => {
  it('is called from UDP: INVITE, ACK and BYE reach it over its WebSocket, and the 200 to BYE goes back', async () => {
    const h = bracket(host);
    const proxy = await startProxy(['--leg', `udp:${h}:0`, '--leg', `ws:${h}:0`, '--registrar', '--domain', 'example.com', '--log-level', 'debug'], 2);
    const wsPort = leg(proxy, 'ws');
    const contact = '<sip:k3l7a9@df7jal23ls0d.invalid;transport=ws>';
    const client = await WsClient.open(wsPort, contact, host);
    client.send(register('wsuser', contact, 'SIP/2.0/WS df7jal23ls0d.invalid', 'ws-reg-1'));
    expect(startLine(await client.waitFor(/^SIP\/2\.0 /, '200 to REGISTER'))).toBe('SIP/2.0 200 OK');

    const uac = await sipp({
      scenario: 'uac-call.xml',
      remote: `${h}:${leg(proxy, 'udp')}`,
      local: host,
      port: await freePort(host),
      transport: 'udp',
      keys: { user: 'wsuser', domain: 'example.com', contact_host: h },
    }).done;
    expect(uac.code, uac.errors + uac.output.slice(-1500)).toBe(0);

    const invite = await client.waitFor(/^INVITE /, 'INVITE over ws');
    expect(startLine(invite)).toBe('INVITE sip:k3l7a9@df7jal23ls0d.invalid;transport=ws SIP/2.0');
    // Our ws-side Record-Route carries the flow token; the UDP side's does not.
    const rr = recordRoutes(invite);
    expect(rr).toHaveLength(2);
    expect(rr[0]).toMatch(TOKEN_RR(wsPort, 'ws', host));
    expect(unsigned(rr[1]!)).toBe(`<sip:${h}:${leg(proxy, 'udp')};lr>`);
    expect(startLine(await client.waitFor(/^ACK /, 'ACK over ws'))).toBe('ACK sip:k3l7a9@df7jal23ls0d.invalid;transport=ws SIP/2.0');
    expect(startLine(await client.waitFor(/^BYE /, 'BYE over ws'))).toBe('BYE sip:k3l7a9@df7jal23ls0d.invalid;transport=ws SIP/2.0');
    expect(find(uac.received, /^SIP\/2\.0 200/).length).toBeGreaterThanOrEqual(2);
    neverResolvedInvalid(proxy);
    expect(await proxy.stop()).toBe(0);
  });
});

describe('a WebSocket client with a .invalid Contact, calling and refused (RFC 7118 §5, RFC 5626 §5.3)', () => {

  for (const hangsUp of ['caller', 'callee'] as const) {
    it(`calls a sipp UAS on UDP; the ${hangsUp} hangs up`, async () => {
      const proxy = await startProxy(['--leg', 'udp:127.0.0.1:0', '--leg', 'ws:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--log-level', 'debug'], 2);
      const udpPort = leg(proxy, 'udp');
      const wsPort = leg(proxy, 'ws');
      const uasPort = await freePort();
      const reg = await sipp({
        scenario: 'register.xml',
        remote: `127.0.0.1:${udpPort}`,
        local: '127.0.0.1',
        port: await freePort(),
        transport: 'udp',
        keys: { user: 'uas', domain: 'example.com', contact_host: '127.0.0.1', contact_port: uasPort },
      }).done;
      expect(reg.code, reg.errors + reg.output.slice(-1000)).toBe(0);
      const uas = sipp({
        scenario: hangsUp === 'caller' ? 'uas-call.xml' : 'uas-call-bye.xml',
        local: '127.0.0.1',
        port: uasPort,
        transport: 'udp',
        keys: { user: 'uas', domain: 'example.com', contact_host: '127.0.0.1' },
        timeoutS: 15,
      });

      const contact = '<sip:caller@a8b7c6.invalid;transport=ws>';
      const client = await WsClient.open(wsPort, contact);
      const dialog = (method: string, cseq: number, extra: string[]) => [
        `Max-Forwards: 70`,
        'From: <sip:wscaller@example.com>;tag=wsA',
        `Call-ID: ws-call-${hangsUp}@flows.test`,
        `CSeq: ${cseq} ${method}`,
        ...extra,
      ];
      // sipp prints no readiness line, and the INVITE is retransmitted by nobody here: wait until the UAS holds its port.
      await waitPortBound(uasPort);
      client.send(
        message([
          'INVITE sip:uas@example.com SIP/2.0',
          'Via: SIP/2.0/WS a8b7c6.invalid;branch=z9hG4bK-wsinv1',
          'To: <sip:uas@example.com>',
          ...dialog('INVITE', 1, [`Contact: ${contact}`]),
        ]),
      );
      const ok = await client.waitFor(/^SIP\/2\.0 200/, '200 to INVITE over ws');
      const toTag = /;tag=([^;\s>]+)/.exec(headerValues(ok, 'To', 't')[0]!)![1]!;
      const target = /<([^>]+)>/.exec(headerValues(ok, 'Contact', 'm')[0]!)![1]!;
      // The caller's route set is the Record-Route list reversed (RFC 3261 §12.1.2).
      const routes = recordRoutes(ok).reverse();
      expect(routes[0]).toMatch(TOKEN_RR(wsPort, 'ws'));
      const inDialog = (method: string, cseq: number, branch: string) =>
        message([
          `${method} ${target} SIP/2.0`,
          `Via: SIP/2.0/WS a8b7c6.invalid;branch=z9hG4bK-${branch}`,
          `Route: ${routes.join(', ')}`,
          `To: <sip:uas@example.com>;tag=${toTag}`,
          ...dialog(method, cseq, []),
        ]);
      client.send(inDialog('ACK', 1, 'wsack1'));
      if (hangsUp === 'caller') {
        client.send(inDialog('BYE', 2, 'wsbye1'));
        expect(startLine(await client.waitFor(/^SIP\/2\.0 200/, '200 to BYE', 2))).toBe('SIP/2.0 200 OK');
      } else {
        const bye = await client.waitFor(/^BYE /, 'BYE from the callee over ws');
        expect(startLine(bye)).toBe('BYE sip:caller@a8b7c6.invalid;transport=ws SIP/2.0');
      }
      const done = await uas.done;
      expect(done.code, done.errors + done.output.slice(-1500)).toBe(0);
      neverResolvedInvalid(proxy);
      expect(await proxy.stop()).toBe(0);
    });
  }

  it('a request for a .invalid Contact with no flow is refused with 480, never resolved', async () => {
    // Every domain served (the default): the lookup misses and the Request-URI itself is the target.
    const proxy = await startProxy(['--leg', 'udp:127.0.0.1:0', '--leg', 'ws:127.0.0.1:0', '--registrar', '--log-level', 'debug'], 2);
    const uac = await sipp({
      scenario: 'uac-480.xml',
      remote: `127.0.0.1:${leg(proxy, 'udp')}`,
      local: '127.0.0.1',
      port: await freePort(),
      transport: 'udp',
      keys: { user: 'nobody', domain: 'x7y8z9.invalid', contact_host: '127.0.0.1' },
    }).done;
    expect(uac.code, uac.errors + uac.output.slice(-1500)).toBe(0);
    neverResolvedInvalid(proxy);
    expect(await proxy.stop()).toBe(0);
  });
});

describe('two WebSocket clients on one leg (one Record-Route per flow)', () => {
  it('A calls B: ACK reaches B and B\'s BYE reaches A, each over its own WebSocket', async () => {
    const proxy = await startProxy(['--leg', 'ws:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--log-level', 'debug'], 1);
    const wsPort = leg(proxy, 'ws');
    const a = await WsClient.open(wsPort, '<sip:a@aaa1.invalid;transport=ws>');
    const b = await WsClient.open(wsPort, '<sip:b@bbb2.invalid;transport=ws>');
    a.send(register('wsa', a.contact, 'SIP/2.0/WS aaa1.invalid', 'ws-reg-a'));
    b.send(register('wsb', b.contact, 'SIP/2.0/WS bbb2.invalid', 'ws-reg-b'));
    await a.waitFor(/^SIP\/2\.0 200/, 'A registered');
    await b.waitFor(/^SIP\/2\.0 200/, 'B registered');
    const common = (method: string, cseq: number) => ['Max-Forwards: 70', 'From: <sip:wsa@example.com>;tag=aa', 'Call-ID: a-to-b@flows.test', `CSeq: ${cseq} ${method}`];
    a.send(
      message([
        'INVITE sip:wsb@example.com SIP/2.0',
        'Via: SIP/2.0/WS aaa1.invalid;branch=z9hG4bK-ab-inv',
        'To: <sip:wsb@example.com>',
        ...common('INVITE', 1),
        `Contact: ${a.contact}`,
      ]),
    );
    const invite = await b.waitFor(/^INVITE /, 'INVITE at B');
    expect(startLine(invite)).toBe('INVITE sip:b@bbb2.invalid;transport=ws SIP/2.0');
    // Same leg in and out, both ends over flows: two entries naming the ws leg, B's flow on top.
    const rr = recordRoutes(invite);
    expect(rr).toHaveLength(2);
    for (const r of rr) expect(r).toMatch(TOKEN_RR(wsPort, 'ws'));
    expect(rr[0]).not.toBe(rr[1]);
    const ok = await a.waitFor(/^SIP\/2\.0 200/, '200 at A', 2);
    const toTag = /;tag=([^;\s>]+)/.exec(headerValues(ok, 'To', 't')[0]!)![1]!;
    const routes = recordRoutes(ok).reverse();
    a.send(
      message([
        'ACK sip:b@bbb2.invalid;transport=ws SIP/2.0',
        'Via: SIP/2.0/WS aaa1.invalid;branch=z9hG4bK-ab-ack',
        `Route: ${routes.join(', ')}`,
        `To: <sip:wsb@example.com>;tag=${toTag}`,
        ...common('ACK', 1),
      ]),
    );
    expect(startLine(await b.waitFor(/^ACK /, 'ACK at B'))).toBe('ACK sip:b@bbb2.invalid;transport=ws SIP/2.0');
    // B hangs up along its route set (the Record-Route in order).
    b.send(
      message([
        'BYE sip:a@aaa1.invalid;transport=ws SIP/2.0',
        'Via: SIP/2.0/WS bbb2.invalid;branch=z9hG4bK-ba-bye',
        `Route: ${rr.join(', ')}`,
        'Max-Forwards: 70',
        `From: <sip:wsb@example.com>;tag=${toTag}`,
        'To: <sip:wsa@example.com>;tag=aa',
        'Call-ID: a-to-b@flows.test',
        'CSeq: 1 BYE',
      ]),
    );
    expect(startLine(await a.waitFor(/^BYE /, 'BYE at A'))).toBe('BYE sip:a@aaa1.invalid;transport=ws SIP/2.0');
    const byeOk = await b.waitFor(/^SIP\/2\.0 200/, '200 to BYE at B', 2);
    expect(headerValues(byeOk, 'CSeq')).toEqual(['1 BYE']);
    // B's flow closes mid-dialog: A's next request to it gets 430 Flow Failed (RFC 5626 §5.3).
    b.ws.close();
    // CLOSED (not CLOSING): the proxy has answered the close handshake, so its side is closed too.
    await until(() => b.ws.readyState === WebSocket.CLOSED, 5000, 'B closed');
    a.send(
      message([
        'INFO sip:b@bbb2.invalid;transport=ws SIP/2.0',
        'Via: SIP/2.0/WS aaa1.invalid;branch=z9hG4bK-ab-info',
        `Route: ${routes.join(', ')}`,
        `To: <sip:wsb@example.com>;tag=${toTag}`,
        ...common('INFO', 2),
      ]),
    );
    expect(startLine(await a.waitFor(/^SIP\/2\.0 430/, '430 at A'))).toBe('SIP/2.0 430 Flow Failed');
    neverResolvedInvalid(proxy);
    expect(await proxy.stop()).toBe(0);
  });
});

describe.each(FAMILIES)('a TCP client registered with ;ob (RFC 5626) whose Contact port is closed ($name)', ({ host }) => {
  it('outlives the idle timeout while registered, and the INVITE, ACK and BYE reuse its connection', async () => {
    const h = bracket(host);
    const proxy = await startProxy(
      ['--leg', `udp:${h}:0`, '--leg', `tcp:${h}:0`, '--registrar', '--domain', 'example.com', '--idle-timeout', '1', '--flow-timer', '30', '--log-level', 'debug'],
      2,
    );
    const tcpPort = leg(proxy, 'tcp');
    const closedPort = await freePort(host);
    const contact = `<sip:tcpob@${h}:${closedPort};transport=tcp;ob>`;
    const client = await TcpClient.open(tcpPort, contact, host);
    client.send(
      register('tcpob', `${contact};reg-id=1;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000a95a0e128>"`, `SIP/2.0/TCP ${h}:${closedPort}`, 'tcp-reg-1', [
        'Supported: outbound',
      ]),
    );
    const ok = await client.waitFor(/^SIP\/2\.0 /, '200 to REGISTER');
    expect(startLine(ok)).toBe('SIP/2.0 200 OK');
    expect(headerValues(ok, 'Require')).toEqual(['outbound']);
    expect(headerValues(ok, 'Flow-Timer')).toEqual(['30']);

    // A connection that registered nothing is closed after the 1 s idle timeout …
    const idle = await TcpClient.open(tcpPort, '<sip:idle@127.0.0.1>', host);
    const started = Date.now();
    await until(() => idle.closed, 10_000, 'idle connection closed');
    const idleClosedAfter = Date.now() - started;
    expect(idleClosedAfter).toBeGreaterThanOrEqual(900);
    // … the registered one is still open three idle periods later.
    await new Promise((r) => setTimeout(r, 3000));
    expect(client.open).toBe(true);

    const uac = await sipp({
      scenario: 'uac-call.xml',
      remote: `${h}:${leg(proxy, 'udp')}`,
      local: host,
      port: await freePort(host),
      transport: 'udp',
      keys: { user: 'tcpob', domain: 'example.com', contact_host: h },
    }).done;
    expect(uac.code, uac.errors + uac.output.slice(-1500)).toBe(0);
    const invite = await client.waitFor(/^INVITE /, 'INVITE over the registration connection');
    expect(startLine(invite)).toBe(`INVITE sip:tcpob@${h}:${closedPort};transport=tcp;ob SIP/2.0`);
    expect(recordRoutes(invite)[0]).toMatch(TOKEN_RR(tcpPort, 'tcp', host));
    await client.waitFor(/^ACK /, 'ACK over the registration connection');
    await client.waitFor(/^BYE /, 'BYE over the registration connection');
    expect(proxy.output()).not.toMatch(new RegExp(`connect to ${esc(h)}:${closedPort}`));
    expect(await proxy.stop()).toBe(0);
  });
});

describe('a closed flow takes its bindings with it (RFC 5626 §5.2)', () => {
  it('a WebSocket client that closed gets 480, /bindings no longer lists it, and the AOR\'s UDP binding takes the call', async () => {
    const adminPort = await freePort();
    const proxy = await startProxy(
      ['--leg', 'udp:127.0.0.1:0', '--leg', 'ws:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--admin', `127.0.0.1:${adminPort}`, '--log-level', 'debug'],
      2,
    );
    const udpPort = leg(proxy, 'udp');
    const wsPort = leg(proxy, 'ws');
    // The UAS on another loopback address than the proxy, as in call.test.ts.
    const uasPort = await freePort('127.0.0.3');
    // "both" has a UDP phone (older binding) and a browser (newer, preferred); "gone" only the browser.
    const reg = await sipp({
      scenario: 'register.xml',
      remote: `127.0.0.1:${udpPort}`,
      local: '127.0.0.3',
      port: await freePort('127.0.0.3'),
      transport: 'udp',
      keys: { user: 'both', domain: 'example.com', contact_host: '127.0.0.3', contact_port: uasPort },
    }).done;
    expect(reg.code, reg.errors).toBe(0);
    const client = await WsClient.open(wsPort, '<sip:w@q1w2e3.invalid;transport=ws>');
    client.send(register('gone', '<sip:w@q1w2e3.invalid;transport=ws>', 'SIP/2.0/WS q1w2e3.invalid', 'ws-reg-gone'));
    client.send(register('both', '<sip:w@q1w2e3.invalid;transport=ws>', 'SIP/2.0/WS q1w2e3.invalid', 'ws-reg-both'));
    await client.waitFor(/^SIP\/2\.0 200/, 'two 200s to REGISTER', 2);
    type Listing = Array<{ aor: string; bindings: Array<{ contact: string }> }>;
    const contacts = async (): Promise<string[]> =>
      ((await adminGet(proxy.admin!, '/bindings')).json as Listing).flatMap((r) => r.bindings.map((b) => `${r.aor} ${b.contact}`));
    expect((await contacts()).filter((c) => c.includes('.invalid'))).toHaveLength(2);

    client.ws.close();
    await until(() => !client.open, 5000, 'ws closed');
    // Removed at once, not at expiry (120 s).
    const deadline = Date.now() + 5000;
    let listed = await contacts();
    while (listed.some((c) => c.includes('.invalid')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      listed = await contacts();
    }
    expect(listed.map((c) => c.toLowerCase())).toEqual([`sip:both@example.com sip:both@127.0.0.3:${uasPort};transport=udp`]);

    const refused = await sipp({
      scenario: 'uac-480.xml',
      remote: `127.0.0.1:${udpPort}`,
      local: '127.0.0.1',
      port: await freePort(),
      transport: 'udp',
      keys: { user: 'gone', domain: 'example.com', contact_host: '127.0.0.1' },
    }).done;
    expect(refused.code, refused.errors + refused.output.slice(-1500)).toBe(0);

    const uas = sipp({ scenario: 'uas-call.xml', local: '127.0.0.3', port: uasPort, transport: 'udp', keys: { user: 'both', contact_host: '127.0.0.3' }, timeoutS: 15 });
    await waitPortBound(uasPort);
    const uac = await sipp({
      scenario: 'uac-call.xml',
      remote: `127.0.0.1:${udpPort}`,
      local: '127.0.0.1',
      port: await freePort(),
      transport: 'udp',
      keys: { user: 'both', domain: 'example.com', contact_host: '127.0.0.1' },
    }).done;
    expect(uac.code, uac.errors + uac.output.slice(-1500)).toBe(0);
    const done = await uas.done;
    expect(done.code, done.errors).toBe(0);
    expect(await proxy.stop()).toBe(0);
  });
});
