/**
 * Issue 9 item 6: the proxy is not an open relay and not a way into services next to it. An
 * attacker sends ACK, CANCEL, OPTIONS, MESSAGE and BYE with a body for Redis (`SET x y`) to a
 * real redis-server on loopback, with a forged From of the served domain and a forged Route
 * naming the proxy; nothing may arrive. Legitimate calls still complete.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { createConnection, createServer } from 'node:net';
import type { Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisServer } from '@sipway/test-peers';
import type { RedisServer } from '@sipway/test-peers';
import { cleanup, find, freePort, headerValues, sipp, startProxy, until } from './helpers.js';
import { statusOf } from './ops-helpers.js';

let redis: RedisServer | undefined;
const sinks: Array<{ close(): void }> = [];
afterEach(async () => {
  await cleanup();
  await redis?.destroy();
  redis = undefined;
  for (const s of sinks.splice(0)) s.close();
});

/** One Redis command over a raw socket; the reply text. */
async function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let out = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${command}: no answer`));
    }, 3000);
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (d) => {
      out += d.toString();
      if (out.endsWith('\r\n') && !/^\$\d+\r\n$/.test(out)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(out);
      }
    });
    socket.once('error', reject);
  });
}

/** A TCP and UDP listener on one loopback port that counts every byte it gets. */
async function byteSink(address = '127.0.0.1'): Promise<{ port: number; bytes: () => number; close(): void }> {
  const port = await freePort(address);
  let bytes = 0;
  const server: Server = createServer((socket) => socket.on('data', (d) => (bytes += d.length)));
  await new Promise<void>((resolve) => server.listen(port, address, resolve));
  const udp: Socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  udp.on('message', (d) => (bytes += d.length));
  await new Promise<void>((resolve) => udp.bind(port, address, resolve));
  const sink = { port, bytes: () => bytes, close: () => (server.close(), udp.close()) };
  sinks.push(sink);
  return sink;
}

/** A raw UDP SIP sender on `address`: sends text, collects what comes back. */
async function rawUdp(address = '127.0.0.1') {
  const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  const inbox: string[] = [];
  socket.on('message', (d) => inbox.push(d.toString('latin1')));
  sinks.push({ close: () => socket.close() });
  return {
    port: socket.address().port,
    inbox,
    send(text: string, port: number, to = address) {
      socket.send(text, port, to);
    },
  };
}

/** A raw TCP SIP sender: connects, sends, collects. */
async function rawTcp(port: number, address = '127.0.0.1') {
  const socket = createConnection({ host: address, port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let received = '';
  socket.on('data', (d) => (received += d.toString('latin1')));
  sinks.push({ close: () => socket.destroy() });
  return { localPort: socket.localPort!, send: (text: string) => socket.write(text), received: () => received };
}

let n = 0;
function attack(method: string, uri: string, o: { proxyPort: number; local: string; route?: string; toTag?: boolean; transport?: string }): string {
  const body = 'SET x y\r\n';
  n++;
  return [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/${o.transport ?? 'UDP'} ${o.local};branch=z9hG4bKatk${n};rport`,
    'Max-Forwards: 70',
    ...(o.route === undefined ? [] : [`Route: ${o.route}`]),
    // A forged From of the served domain: never evidence.
    `From: <sip:alice@example.com>;tag=atk${n}`,
    `To: <sip:bob@example.com>${o.toTag === false ? '' : `;tag=t${n}`}`,
    `Call-ID: atk${n}@evil`,
    `CSeq: 1 ${method}`,
    'Content-Type: text/plain',
    `Content-Length: ${body.length}`,
    '',
    body,
  ].join('\r\n');
}

const AUTH_ARGS = ['--auth-user', 'alice:wonder', '--auth-user', 'bob:hunter2', '--auth-algorithms', 'MD5'];

describe('ACK, CANCEL and other requests for Redis on loopback (forged From and Route)', () => {
  it('with --domain example.com and --auth-user nothing reaches Redis or a byte sink, over UDP and TCP', async () => {
    redis = await startRedisServer();
    const sink = await byteSink();
    // A service on another loopback address, where no leg listens.
    const sink5 = await byteSink('127.0.0.5');
    const proxy = await startProxy(['--leg', 'udp:127.0.0.1:0', '--leg', 'tcp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--log-level', 'warn', '--rate-limit', 'off', ...AUTH_ARGS], 2);
    const udpLeg = proxy.legs.find((l) => l.transport === 'udp')!;
    const tcpLeg = proxy.legs.find((l) => l.transport === 'tcp')!;
    const client = await rawUdp();
    const local = `127.0.0.1:${client.port}`;
    const ours = `<sip:127.0.0.1:${udpLeg.port};lr>`;
    const forgedSig = `<sip:127.0.0.1:${udpLeg.port};lr;rrsig=AAAAAAAAAAAAAAAA>`;
    const requests: string[] = [];
    const targets = [redis.port, sink.port].flatMap((port) => [
      `sip:x@127.0.0.1:${port};transport=tcp`,
      `sip:x@127.0.0.1:${port}`,
      `sip:x@example.com:${port};maddr=127.0.0.1;transport=tcp`,
    ]);
    targets.push(`sip:x@127.0.0.5:${sink5.port};transport=tcp`, `sip:x@127.0.0.5:${sink5.port}`, `sip:x@example.com:${sink5.port};maddr=127.0.0.5`);
    {
      for (const target of targets) {
        requests.push(
          attack('ACK', target, { proxyPort: udpLeg.port, local, route: ours }),
          attack('ACK', target, { proxyPort: udpLeg.port, local, route: forgedSig }),
          attack('ACK', target, { proxyPort: udpLeg.port, local }),
          attack('CANCEL', target, { proxyPort: udpLeg.port, local, route: ours, toTag: false }),
          attack('CANCEL', target, { proxyPort: udpLeg.port, local, toTag: false }),
          attack('OPTIONS', target, { proxyPort: udpLeg.port, local, route: ours }),
          attack('MESSAGE', target, { proxyPort: udpLeg.port, local, route: forgedSig, toTag: false }),
          attack('BYE', target, { proxyPort: udpLeg.port, local, route: ours }),
        );
      }
    }
    for (const r of requests) client.send(r, udpLeg.port);
    // Over TCP too.
    const tcp = await rawTcp(tcpLeg.port);
    const tcpLocal = `127.0.0.1:${tcp.localPort}`;
    const tcpRequests = [
      attack('ACK', `sip:x@127.0.0.1:${redis.port};transport=tcp`, { proxyPort: tcpLeg.port, local: tcpLocal, transport: 'TCP', route: `<sip:127.0.0.1:${tcpLeg.port};transport=tcp;lr>` }),
      attack('CANCEL', `sip:x@127.0.0.1:${sink.port};transport=tcp`, { proxyPort: tcpLeg.port, local: tcpLocal, transport: 'TCP', toTag: false }),
      attack('OPTIONS', `sip:x@127.0.0.1:${redis.port};transport=tcp`, { proxyPort: tcpLeg.port, local: tcpLocal, transport: 'TCP' }),
    ];
    for (const r of tcpRequests) tcp.send(r);

    // Every request that is not an ACK gets an answer (ACKs are never answered): 403 or a 407
    // challenge. Then an OPTIONS to the proxy itself, answered after all the others, marks the
    // end. Anything forwarded instead shows up at the sinks first.
    const answered = requests.filter((r) => !r.startsWith('ACK')).length;
    const leaked = () => sink.bytes() + sink5.bytes();
    await until(() => leaked() > 0 || client.inbox.length >= answered, 10_000, `${answered} answers`);
    await until(() => leaked() > 0 || (tcp.received().match(/^SIP\/2\.0 /gm) ?? []).length >= 2, 10_000, 'TCP answers');
    client.send(['OPTIONS sip:127.0.0.1:' + udpLeg.port + ' SIP/2.0', `Via: SIP/2.0/UDP ${local};branch=z9hG4bKlast`, 'Max-Forwards: 0', 'From: <sip:a@example.com>;tag=1', 'To: <sip:p@example.com>', 'Call-ID: last', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n'), udpLeg.port);
    await until(() => leaked() > 0 || client.inbox.some((m) => m.includes('z9hG4bKlast')), 10_000, 'the last answer');
    expect(leaked()).toBe(0);
    expect(await redisCommand(redis.port, 'GET x')).toBe('$-1\r\n');
    expect(await redisCommand(redis.port, 'DBSIZE')).toBe(':0\r\n');
    expect(leaked()).toBe(0);

    const statuses = client.inbox.filter((m) => !m.includes('z9hG4bKlast')).map(statusOf);
    expect(statuses.every((s) => s === 403 || s === 407), statuses.join(',')).toBe(true);
    // CANCEL is never challenged: the relay policy itself answers 403.
    expect(client.inbox.filter((m) => /CSeq: 1 CANCEL/.test(m)).map(statusOf).every((s) => s === 403)).toBe(true);
    expect(statuses).toHaveLength(answered);
    expect(await proxy.stop()).toBe(0);
  });

  it("the same ACK with --domain '*' (the open relay the start-up warning names) does reach the sink: the test can see a relay", async () => {
    const sink = await byteSink();
    const proxy = await startProxy(['--leg', 'udp:127.0.0.1:0', '--domain', '*', '--log-level', 'warn'], 1);
    expect(proxy.output()).toMatch(/OPEN RELAY/);
    const client = await rawUdp();
    client.send(attack('ACK', `sip:x@127.0.0.1:${sink.port}`, { proxyPort: proxy.legs[0]!.port, local: `127.0.0.1:${client.port}` }), proxy.legs[0]!.port);
    await until(() => sink.bytes() > 0, 10_000, 'bytes at the sink');
  });
});

describe('destination policy (a proxy on ::1 only: IPv4 loopback is not its block)', () => {
  it('an open relay answers 403 for 127.0.0.1; with --allow-destination 127.0.0.0/8 the policy lets it pass (503: no IPv4 leg)', async () => {
    const sink = await byteSink('127.0.0.1');
    const statuses: number[] = [];
    for (const extra of [[], ['--allow-destination', '127.0.0.0/8']]) {
      const proxy = await startProxy(['--leg', 'udp:[::1]:0', '--domain', '*', '--log-level', 'warn', ...extra], 1);
      const client = await rawUdp('::1');
      client.send(attack('MESSAGE', `sip:x@127.0.0.1:${sink.port}`, { proxyPort: proxy.legs[0]!.port, local: `[::1]:${client.port}`, toTag: false }), proxy.legs[0]!.port);
      await until(() => client.inbox.length > 0, 10_000, 'the answer');
      statuses.push(statusOf(client.inbox[0]!));
      await proxy.stop();
    }
    expect(statuses).toEqual([403, 503]);
    expect(sink.bytes()).toBe(0);
  });
});

describe('who may relay (--domain example.com)', () => {
  it('an allow-listed source (--relay-allow) may call a foreign target directly; another source gets 403', async () => {
    const proxy = await startProxy(['--leg', 'udp:127.0.0.1:0', '--domain', 'example.com', '--relay-allow', '127.0.0.1/32', '--log-level', 'warn'], 1);
    const pp = proxy.legs[0]!.port;
    const uasPort = await freePort('127.0.0.3');
    const uas = sipp({ scenario: 'uas-call.xml', local: '127.0.0.3', port: uasPort, transport: 'udp', keys: { user: 'bob', contact_host: '127.0.0.3' } });
    const uac = await sipp({
      scenario: 'uac-call.xml', remote: `127.0.0.1:${pp}`, local: '127.0.0.1', port: await freePort(), transport: 'udp',
      keys: { user: 'bob', domain: `127.0.0.3:${uasPort}`, contact_host: '127.0.0.1' },
    }).done;
    const callee = await uas.done;
    expect(uac.code, uac.errors + uac.output.slice(-1500)).toBe(0);
    expect(callee.code, callee.errors).toBe(0);
    expect(find(callee.received, /^BYE /)).toHaveLength(1);

    const other = await rawUdp('127.0.0.4');
    other.send(attack('MESSAGE', `sip:bob@127.0.0.3:${uasPort}`, { proxyPort: pp, local: `127.0.0.4:${other.port}`, toTag: false }), pp, '127.0.0.1');
    await until(() => other.inbox.length > 0, 10_000, 'the answer');
    expect(statusOf(other.inbox[0]!)).toBe(403);
  });

  it('an authenticated caller may call a foreign target; the non-2xx ACK follows its INVITE', async () => {
    const proxy = await startProxy(['--leg', 'udp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--log-level', 'warn', ...AUTH_ARGS], 1);
    const pp = proxy.legs[0]!.port;
    const uasPort = await freePort('127.0.0.3');
    const uas = sipp({ scenario: 'uas-busy.xml', local: '127.0.0.3', port: uasPort, transport: 'udp', timeoutS: 20, keys: { user: 'bob', contact_host: '127.0.0.3' } });
    const uac = await sipp({
      scenario: 'uac-invite-auth.xml', remote: `127.0.0.1:${pp}`, local: '127.0.0.1', port: await freePort(), transport: 'udp',
      keys: { user: 'bob', domain: `127.0.0.3:${uasPort}`, contact_host: '127.0.0.1' },
      extra: ['-au', 'alice', '-ap', 'wonder', '-auth_uri', `bob@127.0.0.3:${uasPort}`],
    }).done;
    // RFC 3261 §17.1.1.3: the ACK of the 486 repeats the INVITE's branch.
    expect(find(uac.sent, /^ACK /).map((m) => headerValues(m, 'Via', 'v')[0])[1]).toBe(headerValues(find(uac.sent, /^INVITE /)[1]!, 'Via', 'v')[0]);
    const callee = await uas.done;
    expect(uac.code, uac.errors + uac.output.slice(-1500)).toBe(0);
    expect(callee.code, callee.errors).toBe(0);
    expect(find(callee.received, /^ACK /)).toHaveLength(1);
  });

  it('a call between two registered users completes; its ACK and BYE pass on our signed Record-Route, which carries rrsig', async () => {
    const proxy = await startProxy(['--leg', 'udp:127.0.0.1:0', '--registrar', '--domain', 'example.com', '--log-level', 'warn'], 1);
    const pp = proxy.legs[0]!.port;
    const uasPort = await freePort('127.0.0.3');
    const uas = sipp({ scenario: 'uas-call.xml', local: '127.0.0.3', port: uasPort, transport: 'udp', keys: { user: 'bob', contact_host: '127.0.0.3' } });
    const reg = await sipp({
      scenario: 'register.xml', remote: `127.0.0.1:${pp}`, local: '127.0.0.3', port: await freePort('127.0.0.3'), transport: 'udp',
      keys: { user: 'bob', domain: 'example.com', contact_host: '127.0.0.3', contact_port: uasPort },
    }).done;
    expect(reg.code, reg.errors).toBe(0);
    const uac = await sipp({
      scenario: 'uac-call.xml', remote: `127.0.0.1:${pp}`, local: '127.0.0.1', port: await freePort(), transport: 'udp',
      keys: { user: 'bob', domain: 'example.com', contact_host: '127.0.0.1' },
    }).done;
    const callee = await uas.done;
    expect(uac.code, uac.errors).toBe(0);
    expect(callee.code, callee.errors).toBe(0);
    const [invite] = find(callee.received, /^INVITE /);
    expect(headerValues(invite!, 'Record-Route')[0]).toMatch(new RegExp(`^<sip:127\\.0\\.0\\.1:${pp};lr;rrsig=[A-Za-z0-9_-]{16}>$`));
    expect(find(callee.received, /^ACK /)).toHaveLength(1);
    expect(find(callee.received, /^BYE /)).toHaveLength(1);
  });
});
