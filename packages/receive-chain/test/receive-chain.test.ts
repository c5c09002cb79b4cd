import { createSocket, type Socket } from 'node:dgram';
import { spawnPeer } from '@sipway/test-peers';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { pinoCapture, until } from '@sipway/test-peers';
import { Dispatcher, type ReceiveInfo } from '@sipway/sip-leg';
import { UdpLeg } from '@sipway/sip-leg/udp';
import { createResponse, isRequest, parseMessage, type SipMessage, type SipResponse } from '@sipway/sip-message';
import { Blocker, ReceiveChain, unhandledChannel } from '../src/index.js';

const request = (method: string, port: number, extra = '') =>
  `${method} sip:bob@127.0.0.1:${port} SIP/2.0\r\n` +
  `Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK${method}${Math.random().toString(16).slice(2)};rport\r\n` +
  'From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>\r\n' +
  `Call-ID: chain-${method}@127.0.0.1\r\nCSeq: 1 ${method}\r\nMax-Forwards: 70\r\n${extra}Content-Length: 0\r\n\r\n`;

interface Peer {
  socket: Socket;
  port: number;
  next(timeoutMs?: number): Promise<SipResponse | undefined>;
}

async function peer(): Promise<Peer> {
  const socket = createSocket('udp4');
  const queue: SipResponse[] = [];
  const waiting: Array<(m: SipResponse) => void> = [];
  socket.on('message', (buf) => {
    const m = parseMessage(buf) as SipResponse;
    const w = waiting.shift();
    if (w) w(m);
    else queue.push(m);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    socket,
    port: socket.address().port,
    next: (timeoutMs = 1500) =>
      new Promise((resolve) => {
        const q = queue.shift();
        if (q) return resolve(q);
        const t = setTimeout(() => {
          waiting.splice(waiting.indexOf(done), 1);
          resolve(undefined);
        }, timeoutMs);
        const done = (m: SipResponse) => {
          clearTimeout(t);
          resolve(m);
        };
        waiting.push(done);
      }),
  };
}

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

async function setup(build: (d: Dispatcher) => ReceiveChain) {
  const leg = new UdpLeg({ address: '127.0.0.1', port: 0 });
  const dispatcher = new Dispatcher({ legs: [leg] });
  dispatcher.setReceiver(build(dispatcher));
  await dispatcher.start();
  cleanup.push(() => dispatcher.close());
  const p = await peer();
  cleanup.push(() => void p.socket.close());
  const send = (text: string) => p.socket.send(text.replace('127.0.0.1:9;', `127.0.0.1:${p.port};`), leg.port, '127.0.0.1');
  return { leg, dispatcher, peer: p, send };
}

function answering(status: number, seen: string[], name: string) {
  return (dispatcher: Dispatcher) => async (message: SipMessage, info: ReceiveInfo) => {
    seen.push(name);
    if (!isRequest(message) || message.method === 'ACK') return false;
    await dispatcher.deliver(createResponse(message, status, undefined, { toTag: name }), { incoming: info });
    return true;
  };
}

describe('ReceiveChain over a real UDP leg', () => {
  it('gives each message to the first member that takes it, in order', async () => {
    const seen: string[] = [];
    const { send, peer: p } = await setup(
      (d) =>
        new ReceiveChain([
          { handler: answering(486, seen, 'only-invite')(d), filter: (m) => isRequest(m) && m.method === 'INVITE', name: 'only-invite' },
          (m: SipMessage) => {
            seen.push('pass');
            return isRequest(m) && m.method === 'MESSAGE' ? undefined : false;
          },
          answering(200, seen, 'rest')(d),
        ]),
    );
    send(request('INVITE', 0));
    expect((await p.next())?.status).toBe(486);
    expect(seen).toEqual(['only-invite']);
    seen.length = 0;
    send(request('OPTIONS', 0));
    const r = await p.next();
    expect(r?.status).toBe(200);
    expect(r?.to?.tag).toBe('rest');
    expect(seen).toEqual(['pass', 'rest']);
  });

  it('reports a message that no member took', async () => {
    const unhandled: unknown[] = [];
    const listener = (m: unknown) => unhandled.push(m);
    unhandledChannel.subscribe(listener);
    cleanup.push(() => void unhandledChannel.unsubscribe(listener));
    const { send, peer: p } = await setup(() => new ReceiveChain([() => false]));
    send(request('OPTIONS', 0));
    expect(await p.next(300)).toBeUndefined();
    expect(unhandled).toHaveLength(1);
  });

  it('writes the unhandled line with its fields to a pino logger passed straight in', async () => {
    const { logger, lines } = pinoCapture();
    const { send } = await setup(() => new ReceiveChain([() => false], { logger }));
    send(request('OPTIONS', 0));
    await until(() => lines.length > 0, 5000, 'the debug line');
    expect(lines[0]).toMatchObject({ level: 20, msg: 'no chain member took the message', source: { address: '127.0.0.1' } });
  });

  it('accepts objects with receive() (a proxy, a registrar) as members', async () => {
    const seen: string[] = [];
    const { send, peer: p } = await setup((d) => {
      const member = { receive: answering(202, seen, 'obj')(d) };
      return new ReceiveChain([member]);
    });
    send(request('SUBSCRIBE', 0));
    expect((await p.next())?.status).toBe(202);
  });

  it('refuses a member without receive()', () => {
    expect(() => new ReceiveChain([{} as never])).toThrow(TypeError);
  });
});

describe('Blocker', () => {
  it('answers a blocked method with 405 and Allow, and lets others through', async () => {
    const seen: string[] = [];
    const { send, peer: p } = await setup((d) => new ReceiveChain([new Blocker({ dispatcher: d, block: { INVITE: 405 } }), answering(200, seen, 'next')(d)]));
    send(request('INVITE', 0));
    const r = await p.next();
    expect(r?.status).toBe(405);
    expect(r?.reason).toBe('Method Not Allowed');
    expect(r?.getHeaders('allow')).toEqual(['ACK', 'CANCEL', 'BYE', 'OPTIONS', 'REGISTER']);
    expect(r?.to?.tag).toMatch(/^b[0-9a-f]+$/);
    send(request('ACK', 0));
    expect(await p.next(300)).toBeUndefined();
    expect(seen).toEqual([]);
    send(request('OPTIONS', 0));
    expect((await p.next())?.status).toBe(200);
  });

  it('gives a retransmission the same answer and takes a custom reason', async () => {
    const { send, peer: p } = await setup((d) => new ReceiveChain([new Blocker({ dispatcher: d, block: { MESSAGE: [403, 'No messages here'] } })]));
    const text = request('MESSAGE', 0);
    send(text);
    send(text);
    const a = await p.next();
    const b = await p.next();
    expect(a?.status).toBe(403);
    expect(a?.reason).toBe('No messages here');
    expect(a?.to?.tag).toBe(b?.to?.tag);
  });

  it('refuses a status that is not an error', () => {
    expect(() => new Blocker({ dispatcher: { deliver: async () => ({ ok: true }) as never }, block: { INVITE: 200 } })).toThrow(RangeError);
  });

  it('refuses a real sipp UAC INVITE with 405 and swallows its ACK', async () => {
    const { leg } = await setup((d) => new ReceiveChain([new Blocker({ dispatcher: d, block: { INVITE: 405 } })]));
    const scenario = fileURLToPath(new URL('./sipp/invite-blocked.xml', import.meta.url));
    const code = await new Promise<number | null>((resolve, reject) => {
      // A missing sipp rejects at once, naming its Debian package.
      const child = spawnPeer(
        'sipp',
        [`127.0.0.1:${leg.port}`, '-sf', scenario, '-i', '127.0.0.1', '-p', '0', '-m', '1', '-timeout', '10s', '-timeout_error', '-nostdin'],
        { stdio: 'ignore', cwd: fileURLToPath(new URL('.', import.meta.url)) },
        reject,
      );
      child.on('exit', (c) => resolve(c));
    });
    expect(code).toBe(0);
  });
});
