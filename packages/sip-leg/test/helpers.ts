import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import type { SipMessage } from '@sipway/sip-message';
import type { ReceiveInfo } from '../src/index.js';
import { until } from '@sipway/test-peers';

export const FAMILIES = [
  { name: 'IPv4', address: '127.0.0.1', family: 4 as const, udpType: 'udp4' as const },
  { name: 'IPv6', address: '::1', family: 6 as const, udpType: 'udp6' as const },
];

export function bracket(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/** A syntactically complete request. */
export function request(options: {
  method?: string;
  uri?: string;
  via?: string;
  callId?: string;
  body?: string;
  extra?: string[];
} = {}): string {
  const method = options.method ?? 'OPTIONS';
  const body = options.body ?? '';
  return [
    `${method} ${options.uri ?? 'sip:bob@example.com'} SIP/2.0`,
    `Via: ${options.via ?? 'SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bKtest1;rport'}`,
    'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=a1',
    'To: <sip:bob@example.com>',
    `Call-ID: ${options.callId ?? 'call-1@example.com'}`,
    `CSeq: 1 ${method}`,
    ...(options.extra ?? []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

export function response(via: string, status = 200, reason = 'OK', callId = 'call-1@example.com'): string {
  return [
    `SIP/2.0 ${status} ${reason}`,
    `Via: ${via}`,
    'From: <sip:alice@example.com>;tag=a1',
    'To: <sip:bob@example.com>;tag=b1',
    `Call-ID: ${callId}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** Collects what a leg hands to its receive callback. */
export class Inbox {
  readonly items: Array<{ message: SipMessage; info: ReceiveInfo }> = [];
  private waiters: Array<() => void> = [];
  readonly handler = (message: SipMessage, info: ReceiveInfo): void => {
    this.items.push({ message, info });
    for (const w of this.waiters.splice(0)) w();
  };
  async next(count = 1, timeoutMs = 3000): Promise<{ message: SipMessage; info: ReceiveInfo }> {
    await until(() => this.items.length >= count, timeoutMs, `inbox to hold ${count}`);
    const item = this.items[count - 1];
    if (item === undefined) throw new Error('unreachable');
    return item;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A raw UDP peer that records datagrams. */
export class UdpPeer {
  readonly socket: Socket;
  readonly received: Array<{ text: string; address: string; port: number }> = [];
  constructor(type: 'udp4' | 'udp6') {
    this.socket = createSocket(type);
    this.socket.on('message', (msg, rinfo) => this.received.push({ text: msg.toString('latin1'), address: rinfo.address, port: rinfo.port }));
  }
  bind(address: string): Promise<number> {
    return new Promise((resolve) => this.socket.bind(0, address, () => resolve(this.socket.address().port)));
  }
  get port(): number {
    return this.socket.address().port;
  }
  send(text: string | Buffer, port: number, address: string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(text, port, address, (e) => (e ? reject(e) : resolve())));
  }
  async next(count = 1, timeoutMs = 3000): Promise<{ text: string; address: string; port: number }> {
    await until(() => this.received.length >= count, timeoutMs, `peer to receive ${count}`);
    const item = this.received[count - 1];
    if (item === undefined) throw new Error('unreachable');
    return item;
  }
  close(): void {
    this.socket.close();
  }
}

/** Record diagnostics_channel messages of one channel while `fn` runs. */
export function recordChannel<T = unknown>(name: string): { events: T[]; stop: () => void } {
  const events: T[] = [];
  const listener = (message: unknown): void => {
    events.push(message as T);
  };
  subscribe(name, listener);
  return { events, stop: () => unsubscribe(name, listener) };
}

/** A raw TCP client or accepted socket that records what it reads. */
export class StreamPeer {
  data = '';
  closed = false;
  constructor(readonly socket: import('node:net').Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.data += d;
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => undefined);
  }
  static connect(address: string, port: number): Promise<StreamPeer> {
    return new Promise((resolve, reject) => {
      void import('node:net').then(({ connect }) => {
        const s = connect({ host: address, port });
        s.once('connect', () => resolve(new StreamPeer(s)));
        s.once('error', reject);
      });
    });
  }
  write(text: string): void {
    this.socket.write(text);
  }
  async waitFor(predicate: (data: string) => boolean, timeoutMs = 3000): Promise<string> {
    await until(() => predicate(this.data), timeoutMs, 'stream data');
    return this.data;
  }
  async waitClosed(timeoutMs = 3000): Promise<void> {
    await until(() => this.closed, timeoutMs, 'stream close');
  }
  destroy(): void {
    this.socket.destroy();
  }
}
