/**
 * Small real peers for the media tests: a SIP user agent over UDP or TCP that sets up, changes
 * and ends calls with SDP (so each test decides when BYE, CANCEL or a re-INVITE goes out), and
 * RTP endpoints on node:dgram that send G.711-sized packets every 20 ms and record what arrives.
 * Every socket is closed by `closePeers()`.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { createServer, connect } from 'node:net';
import type { Socket as TcpSocket } from 'node:net';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { freePort, until } from '@sipway/test-peers';

const open: Array<() => void> = [];

/** Close every peer and RTP endpoint made here. */
export function closePeers(): void {
  for (const c of open.splice(0)) {
    try {
      c();
    } catch {
      // already closed
    }
  }
}

export function bracket(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/** A parsed SIP message (enough for a test UA). */
export interface Msg {
  start: string;
  headers: Array<[string, string]>;
  body: string;
  raw: string;
  isRequest: boolean;
  method: string;
  status: number;
  header(name: string): string | undefined;
  all(name: string): string[];
}

const COMPACT: Record<string, string> = { v: 'via', f: 'from', t: 'to', i: 'call-id', m: 'contact', c: 'content-type', l: 'content-length' };

export function parseMsg(raw: string): Msg {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split);
  const body = raw.slice(split + 4);
  const [start, ...lines] = head.split('\r\n');
  const headers: Array<[string, string]> = [];
  for (const line of lines) {
    const i = line.indexOf(':');
    const n = line.slice(0, i).trim().toLowerCase();
    headers.push([COMPACT[n] ?? n, line.slice(i + 1).trim()]);
  }
  const isRequest = !start!.startsWith('SIP/2.0');
  const all = (name: string) => headers.filter(([n]) => n === name.toLowerCase()).flatMap(([, v]) => (name.toLowerCase() === 'record-route' || name.toLowerCase() === 'via' ? v.split(/,(?=\s*(?:<|SIP\/))/).map((x) => x.trim()) : [v]));
  return {
    start: start!,
    headers,
    body,
    raw,
    isRequest,
    method: isRequest ? start!.split(' ')[0]! : (/CSeq:\s*\d+\s+(\w+)/i.exec(head)?.[1] ?? ''),
    status: isRequest ? 0 : Number(start!.split(' ')[1]),
    header: (name) => all(name)[0],
    all,
  };
}

function tag(): string {
  return randomBytes(6).toString('hex');
}

/** A SIP UA on one transport, sending everything to the proxy leg it was given. */
export class SipPeer {
  readonly received: Msg[] = [];
  #udp: UdpSocket | undefined;
  #conns: TcpSocket[] = [];
  #proxy: { host: string; port: number };

  private constructor(
    readonly transport: 'udp' | 'tcp',
    readonly address: string,
    readonly port: number,
    proxy: { host: string; port: number },
  ) {
    this.#proxy = proxy;
  }

  static async start(transport: 'udp' | 'tcp', address: string, proxy: { host: string; port: number }): Promise<SipPeer> {
    const port = await freePort(address);
    const peer = new SipPeer(transport, address, port, proxy);
    if (transport === 'udp') {
      const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(port, address, () => resolve());
      });
      s.on('message', (b) => peer.#take(b.toString('latin1')));
      peer.#udp = s;
      open.push(() => s.close());
    } else {
      const server = createServer((c) => peer.#adopt(c));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, address, () => resolve());
      });
      open.push(() => {
        for (const c of peer.#conns) c.destroy();
        server.close();
      });
    }
    return peer;
  }

  #adopt(c: TcpSocket): void {
    this.#conns.push(c);
    let buf = '';
    c.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const len = Number(/\r\n(?:content-length|l)\s*:\s*(\d+)/i.exec(buf.slice(0, end + 2))?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        this.#take(buf.slice(0, end + 4 + len));
        buf = buf.slice(end + 4 + len);
      }
    });
    c.on('error', () => undefined);
  }

  #take(raw: string): void {
    if (raw.trim() === '') return;
    this.received.push(parseMsg(raw));
  }

  get via(): string {
    return `SIP/2.0/${this.transport.toUpperCase()} ${bracket(this.address)}:${this.port}`;
  }

  get contact(): string {
    return `<sip:ua@${bracket(this.address)}:${this.port}${this.transport === 'tcp' ? ';transport=tcp' : ''}>`;
  }

  async send(text: string): Promise<void> {
    if (this.#udp !== undefined) {
      await new Promise<void>((resolve, reject) => this.#udp!.send(Buffer.from(text, 'latin1'), this.#proxy.port, this.#proxy.host, (e) => (e ? reject(e) : resolve())));
      return;
    }
    let c = this.#conns.find((x) => !x.destroyed);
    if (c === undefined) {
      c = connect({ host: this.#proxy.host, port: this.#proxy.port, localAddress: this.address });
      this.#adopt(c);
      await new Promise<void>((resolve, reject) => {
        c!.once('connect', () => resolve());
        c!.once('error', reject);
      });
    }
    c.write(Buffer.from(text, 'latin1'));
  }

  /** The next received message (after `from`) matching, bounded. */
  async wait(match: (m: Msg) => boolean, what: string, timeoutMs = 10_000, from = 0): Promise<Msg> {
    let found: Msg | undefined;
    await until(() => (found = this.received.slice(from).find(match)) !== undefined, timeoutMs, what);
    return found!;
  }

  /** Answer a request: copies Via, From, To (+ tag), Call-ID, CSeq, Record-Route. */
  async reply(request: Msg, status: number, reason: string, opts: { toTag?: string; sdp?: string } = {}): Promise<void> {
    const to = request.header('to')!;
    const lines = [`SIP/2.0 ${status} ${reason}`];
    for (const v of request.all('via')) lines.push(`Via: ${v}`);
    for (const r of request.all('record-route')) lines.push(`Record-Route: ${r}`);
    lines.push(`From: ${request.header('from')}`);
    lines.push(`To: ${opts.toTag !== undefined && !/;tag=/.test(to) ? `${to};tag=${opts.toTag}` : to}`);
    lines.push(`Call-ID: ${request.header('call-id')}`, `CSeq: ${request.header('cseq')}`);
    if (status < 300 && request.method !== 'BYE' && request.method !== 'CANCEL') lines.push(`Contact: ${this.contact}`);
    await this.send(withBody(lines, opts.sdp));
  }
}

function withBody(lines: string[], sdp: string | undefined): string {
  if (sdp !== undefined) lines.push('Content-Type: application/sdp');
  lines.push(`Content-Length: ${sdp === undefined ? 0 : Buffer.byteLength(sdp, 'latin1')}`);
  return `${lines.join('\r\n')}\r\n\r\n${sdp ?? ''}`;
}

/** One side's view of a dialog, enough to send in-dialog requests (RFC 3261 §12.2.1.1). */
export class Dialog {
  cseq: number;
  remoteTarget = '';
  routeSet: string[] = [];
  remoteTag: string | undefined;
  constructor(
    readonly peer: SipPeer,
    readonly callId: string,
    readonly localUri: string,
    readonly localTag: string,
    readonly remoteUri: string,
    cseq = 1,
  ) {
    this.cseq = cseq;
  }

  request(method: string, opts: { sdp?: string; cseq?: number; headers?: string[]; uri?: string; branch?: string } = {}): string {
    const cseq = opts.cseq ?? (method === 'ACK' || method === 'CANCEL' ? this.cseq : ++this.cseq);
    const lines = [
      `${method} ${opts.uri ?? this.remoteTarget} SIP/2.0`,
      `Via: ${this.peer.via};branch=${opts.branch ?? `z9hG4bK${tag()}`};rport`,
      'Max-Forwards: 70',
      ...this.routeSet.map((r) => `Route: ${r}`),
      `From: <${this.localUri}>;tag=${this.localTag}`,
      `To: <${this.remoteUri}>${this.remoteTag === undefined ? '' : `;tag=${this.remoteTag}`}`,
      `Call-ID: ${this.callId}`,
      `CSeq: ${cseq} ${method}`,
      `Contact: ${this.peer.contact}`,
      ...(opts.headers ?? []),
    ];
    return withBody(lines, opts.sdp);
  }
}

/** Caller side: the INVITE, and the dialog once a 2xx names its target and route set. */
export function newCall(peer: SipPeer, targetUri: string, route: string[] = []): Dialog {
  const d = new Dialog(peer, `${tag()}@test`, `sip:alice@${bracket(peer.address)}`, tag(), targetUri, 0);
  d.remoteTarget = targetUri;
  d.routeSet = route;
  return d;
}

/** After a 2xx at the caller: route set = Record-Route reversed, target = Contact (RFC 3261 §12.1.2). */
export function confirmAsCaller(d: Dialog, ok: Msg): void {
  d.routeSet = [...ok.all('record-route')].reverse();
  d.remoteTarget = /<([^>]+)>/.exec(ok.header('contact')!)![1]!;
  d.remoteTag = /;tag=([^;>\s]+)/.exec(ok.header('to')!)![1]!;
}

/** The callee's dialog from an INVITE it got (RFC 3261 §12.1.1). */
export function calleeDialog(peer: SipPeer, invite: Msg, localTag: string): Dialog {
  const from = invite.header('from')!;
  const to = invite.header('to')!;
  const d = new Dialog(peer, invite.header('call-id')!, /<([^>]+)>/.exec(to)![1]!, localTag, /<([^>]+)>/.exec(from)![1]!, 100);
  d.remoteTag = /;tag=([^;>\s]+)/.exec(from)![1]!;
  d.routeSet = invite.all('record-route');
  d.remoteTarget = /<([^>]+)>/.exec(invite.header('contact')!)![1]!;
  return d;
}

/** An SDP offer/answer for one PCMU stream (and RTCP on the next port unless `rtcpPort`). */
export function audioSdp(address: string, port: number, opts: { rtcpPort?: number; extra?: string[]; version?: number; direction?: string; cAddress?: string } = {}): string {
  const ip = address.includes(':') ? 'IP6' : 'IP4';
  const c = opts.cAddress ?? address;
  return [
    'v=0',
    `o=- 4242 ${opts.version ?? 1} IN ${ip} ${address}`,
    's=-',
    `c=IN ${c.includes(':') ? 'IP6' : 'IP4'} ${c}`,
    't=0 0',
    `m=audio ${port} RTP/AVP 0 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    ...(opts.rtcpPort === undefined ? [] : [`a=rtcp:${opts.rtcpPort}`]),
    ...(opts.extra ?? []),
    `a=${opts.direction ?? 'sendrecv'}`,
    '',
  ].join('\r\n');
}

/** c= and m= port of the first audio stream of an SDP. */
export function mediaOf(sdp: string): { address: string; port: number; rtcp: number | undefined } {
  const c = /^c=IN IP[46] (\S+)/m.exec(sdp.split(/^m=/m)[1]?.includes('c=IN') === true ? `m=${sdp.split(/^m=/m)[1]}` : sdp)![1]!;
  const port = Number(/^m=audio (\d+)/m.exec(sdp)![1]);
  const rtcp = /^a=rtcp:(\d+)/m.exec(sdp)?.[1];
  return { address: c, port, rtcp: rtcp === undefined ? undefined : Number(rtcp) };
}

/** An RTP endpoint: a dgram socket that sends numbered packets and records arrivals. */
export class RtpEndpoint {
  readonly got: Array<{ seq: number; from: RemoteInfo; at: number }> = [];
  private constructor(
    readonly socket: UdpSocket,
    readonly address: string,
    readonly port: number,
  ) {}

  static async open(address: string, port?: number): Promise<RtpEndpoint> {
    const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(port ?? 0, address, () => resolve());
    });
    const ep = new RtpEndpoint(s, address, s.address().port);
    s.on('message', (b, rinfo) => {
      if (b.length >= 12) ep.got.push({ seq: b.readUInt16BE(2), from: rinfo, at: Date.now() });
    });
    open.push(() => s.close());
    return ep;
  }

  /** Send `count` RTP packets (12-byte header + 160 bytes, PCMU) every 20 ms to `to`. */
  async stream(to: { address: string; port: number }, count = 100, ssrc = 0x1234): Promise<void> {
    const payload = Buffer.alloc(160, 0xff);
    for (let i = 0; i < count; i++) {
      const h = Buffer.alloc(12);
      h[0] = 0x80;
      h[1] = 0;
      h.writeUInt16BE(i & 0xffff, 2);
      h.writeUInt32BE(i * 160, 4);
      h.writeUInt32BE(ssrc, 8);
      this.socket.send(Buffer.concat([h, payload]), to.port, to.address);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** UDP sockets the process `pid` holds (TCP connections left out): its /proc fd links to sockets whose inode is in /proc/net/udp{,6}. */
export function socketCount(pid: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m !== null) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  let n = 0;
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const inode = line.trim().split(/\s+/)[9];
      if (inode !== undefined && inodes.has(inode)) n++;
    }
  }
  return n;
}
