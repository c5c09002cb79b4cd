/**
 * Flows (RFC 5626 §5.2–§5.3, RFC 7118 §5) over real loopback sockets: flow tokens in our own
 * Route, the 430 and 403 answers, skipping bindings whose flow closed, reusing a NATed TCP
 * client's registration connection instead of dialling its Contact.
 */
import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { Dispatcher } from '@sipway/sip-leg';
import type { Leg, ReceiveInfo } from '@sipway/sip-leg';
import { TcpLeg } from '@sipway/sip-leg/tcp';
import { UdpLeg } from '@sipway/sip-leg/udp';
import type { SipMessage } from '@sipway/sip-message';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '@sipway/test-peers';
import { FlowTokens } from '../src/flow-token.js';
import { StatelessProxy } from '../src/index.js';
import type { Binding, LocationService, ProxyOutcome } from '../src/index.js';
import { msg } from './helpers.js';

const FLOW_KEY = new Uint8Array(32).fill(7);
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(bindings: Record<string, Binding[]> = {}) {
  const udp = new UdpLeg({ address: '127.0.0.1', port: 0 });
  const tcp = new TcpLeg({ address: '127.0.0.1', port: 0, connectTimeoutMs: 500 });
  const dispatcher = new Dispatcher({ legs: [udp, tcp] });
  const location: LocationService = { lookup: (aor) => bindings[aor] ?? [] };
  // The relay policy is tested on its own (relay-policy.test.ts): here the peers are trusted.
  const proxy = new StatelessProxy({ dispatcher, domains: ['example.com'], location, flowKey: FLOW_KEY, relayAllow: ['127.0.0.0/8'] });
  const outcomes: ProxyOutcome[] = [];
  dispatcher.setReceiver({ receive: (m: SipMessage, info: ReceiveInfo) => proxy.route(m, info).then((o) => outcomes.push(o)) });
  await dispatcher.start();
  cleanups.push(() => dispatcher.close());
  // A UDP phone that sends to the proxy and records what comes back.
  const phone: UdpSocket = createSocket('udp4');
  await new Promise<void>((r) => phone.bind(0, '127.0.0.1', () => r()));
  cleanups.push(() => phone.close());
  const heard: string[] = [];
  phone.on('message', (b) => heard.push(b.toString('latin1')));
  const phonePort = phone.address().port;
  const sendUdp = (text: string) => phone.send(text, udp.port, '127.0.0.1');
  return { udp, tcp, proxy, outcomes, heard, phonePort, sendUdp };
}

/** A TCP client connected to the leg; records the bytes it gets. */
async function tcpClient(port: number): Promise<{ socket: Socket; got: () => string }> {
  const socket = connect({ host: '127.0.0.1', port });
  cleanups.push(() => socket.destroy());
  await new Promise<void>((r, j) => {
    socket.once('connect', () => r());
    socket.once('error', j);
  });
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  // A CRLF ping (RFC 5626 §4.4.1): the leg answers with a pong, so the connection is in its table.
  socket.write('\r\n\r\n');
  await until(() => text.includes('\r\n'), 5000, 'pong');
  return { socket, got: () => text };
}

function inDialog(method: string, uri: string, route: string, phonePort: number): string {
  return msg(
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${phonePort};branch=z9hG4bK-${method}-1;rport`,
    `Route: ${route}`,
    'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=a1',
    'To: <sip:bob@example.com>;tag=b1',
    'Call-ID: flows-1@test',
    `CSeq: 2 ${method}`,
  );
}

function tokenRoute(leg: Leg, address: string, port: number, required = true): string {
  return new FlowTokens(FLOW_KEY).recordRoute(leg, { address, port, required });
}

describe('flow tokens', () => {
  it('round-trip for IPv4 and IPv6 peers and are bound to the leg they name', async () => {
    const { udp, tcp } = await setup();
    const tokens = new FlowTokens(FLOW_KEY);
    for (const address of ['127.0.0.1', '2001:db8::1', '::ffff:10.0.0.1']) {
      const token = tokens.encode(tcp, { address, port: 40_123, required: true });
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(tokens.decode(token, tcp)).toEqual({ kind: 'flow', flow: { address, port: 40_123, required: true } });
      expect(tokens.decode(token, udp)).toEqual({ kind: 'forged' });
      expect(new FlowTokens(new Uint8Array(32).fill(8)).decode(token, tcp)).toEqual({ kind: 'forged' });
    }
    expect(tokens.decode('alice', tcp)).toEqual({ kind: 'none' });
  });
});

describe('in-dialog requests through a Route with a flow token (RFC 5626 §5.3)', () => {
  it('go down the named connection, never to the Request-URI host', async () => {
    const { tcp, heard, phonePort, sendUdp, outcomes } = await setup();
    const client = await tcpClient(tcp.port);
    const route = tokenRoute(tcp, '127.0.0.1', client.socket.localPort!);
    sendUdp(inDialog('BYE', 'sip:bob@df7jal23ls0d.invalid;transport=tcp', route, phonePort));
    await until(() => client.got().includes('BYE sip:bob@df7jal23ls0d.invalid;transport=tcp SIP/2.0'), 5000, 'BYE on the flow');
    expect(outcomes[0]).toMatchObject({ ok: true, destination: { transport: 'tcp', port: client.socket.localPort } });
    expect(heard).toEqual([]);
  });

  it('get 430 Flow Failed when the flow closed, and 403 when the token was altered', async () => {
    const { tcp, heard, phonePort, sendUdp } = await setup();
    const client = await tcpClient(tcp.port);
    const port = client.socket.localPort!;
    client.socket.destroy();
    await until(() => tcp.connectionTo(`127.0.0.1`, port) === undefined, 5000, 'connection gone');
    sendUdp(inDialog('BYE', 'sip:bob@df7jal23ls0d.invalid;transport=tcp', tokenRoute(tcp, '127.0.0.1', port), phonePort));
    await until(() => heard.length === 1, 5000, '430');
    expect(heard[0]).toMatch(/^SIP\/2\.0 430 Flow Failed\r\n/);

    const good = tokenRoute(tcp, '127.0.0.1', port);
    const user = /<sip:([^@]+)@/.exec(good)![1]!;
    const forged = good.replace(user, `${user.slice(0, -2)}${user.endsWith('AA') ? 'BB' : 'AA'}`);
    sendUdp(inDialog('INFO', 'sip:bob@df7jal23ls0d.invalid;transport=tcp', forged, phonePort));
    await until(() => heard.length === 2, 5000, '403');
    expect(heard[1]).toMatch(/^SIP\/2\.0 403 Forbidden\r\n/);
  });

  it('ignore the token of the flow the request came on: the sender\'s own requests follow the Request-URI', async () => {
    const { tcp, udp } = await setup();
    const client = await tcpClient(tcp.port);
    const target = createSocket('udp4');
    await new Promise<void>((r) => target.bind(0, '127.0.0.3', () => r()));
    cleanups.push(() => target.close());
    const got: string[] = [];
    target.on('message', (b) => got.push(b.toString('latin1')));
    const route = `${tokenRoute(tcp, '127.0.0.1', client.socket.localPort!)}, <sip:127.0.0.1:${udp.port};lr>`;
    client.socket.write(
      msg(
        `BYE sip:alice@127.0.0.3:${target.address().port} SIP/2.0`,
        `Via: SIP/2.0/TCP df7jal23ls0d.invalid;branch=z9hG4bK-own-1`,
        `Route: ${route}`,
        'Max-Forwards: 70',
        'From: <sip:bob@example.com>;tag=b1',
        'To: <sip:alice@example.com>;tag=a1',
        'Call-ID: flows-2@test',
        'CSeq: 3 BYE',
      ),
    );
    await until(() => got.length === 1, 5000, 'BYE at the caller');
    expect(got[0]).toMatch(/^BYE sip:alice@127\.0\.0\.3:\d+ SIP\/2\.0\r\n/);
  });
});

describe('location lookup of flow bindings', () => {
  it('skips a binding whose flow closed (480) and uses one whose flow is open, with a flow token in Record-Route', async () => {
    const bindings: Record<string, Binding[]> = {};
    const { tcp, heard, phonePort, sendUdp, outcomes } = await setup(bindings);
    const client = await tcpClient(tcp.port);
    const live = client.socket.localPort!;
    bindings['sip:bob@example.com'] = [
      { contact: 'sip:bob@gone.invalid;transport=tcp', updated: 2, source: { transport: 'tcp', address: '127.0.0.1', port: 1 } },
      { contact: `sip:bob@127.0.0.1:1;transport=tcp;ob`, updated: 1, source: { transport: 'tcp', address: '127.0.0.1', port: live } },
    ];
    bindings['sip:carol@example.com'] = [{ contact: 'sip:carol@gone.invalid;transport=ws', source: { transport: 'ws', address: '127.0.0.1', port: 2 } }];
    const call = (user: string, n: number) =>
      msg(
        `INVITE sip:${user}@example.com SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${phonePort};branch=z9hG4bK-inv-${n};rport`,
        'Max-Forwards: 70',
        'From: <sip:alice@example.com>;tag=a1',
        `To: <sip:${user}@example.com>`,
        `Call-ID: flows-inv-${n}@test`,
        'CSeq: 1 INVITE',
        `Contact: <sip:alice@127.0.0.1:${phonePort}>`,
      );
    sendUdp(call('bob', 1));
    await until(() => client.got().includes('INVITE sip:bob@127.0.0.1:1;transport=tcp;ob SIP/2.0'), 5000, 'INVITE on the open flow');
    expect(client.got()).toMatch(new RegExp(`Record-Route: <sip:[A-Za-z0-9_-]{20,}@127\\.0\\.0\\.1:${tcp.port};transport=tcp;lr;rrsig=[A-Za-z0-9_-]+>`));
    sendUdp(call('carol', 2));
    await until(() => heard.some((m) => m.startsWith('SIP/2.0 480 ')), 5000, '480 for a binding whose flow closed');
    expect(outcomes.find((o) => !o.ok)).toMatchObject({ status: 480, code: 'temporarily-unavailable' });
  });

  it('reuses the open registration connection of a TCP client behind NAT instead of dialling its Contact', async () => {
    const bindings: Record<string, Binding[]> = {};
    const { tcp, phonePort, sendUdp } = await setup(bindings);
    const client = await tcpClient(tcp.port);
    // The Contact names a private address the proxy cannot reach (TEST-NET-1).
    bindings['sip:nat@example.com'] = [
      { contact: 'sip:nat@192.0.2.44:5060;transport=tcp', source: { transport: 'tcp', address: '127.0.0.1', port: client.socket.localPort! } },
    ];
    sendUdp(
      msg(
        'INVITE sip:nat@example.com SIP/2.0',
        `Via: SIP/2.0/UDP 127.0.0.1:${phonePort};branch=z9hG4bK-nat-1;rport`,
        'Max-Forwards: 70',
        'From: <sip:alice@example.com>;tag=a1',
        'To: <sip:nat@example.com>',
        'Call-ID: flows-nat@test',
        'CSeq: 1 INVITE',
        `Contact: <sip:alice@127.0.0.1:${phonePort}>`,
      ),
    );
    await until(() => client.got().includes('INVITE sip:nat@192.0.2.44:5060;transport=tcp SIP/2.0'), 5000, 'INVITE on the registration connection');
  });
});
