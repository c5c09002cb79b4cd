import { Dispatcher } from '@sipway/sip-leg';
import type { Destination, Leg, ReceiveInfo } from '@sipway/sip-leg';
import { MemoryLeg, MemoryNetwork } from '@sipway/sip-leg/testing';
import type { MemoryLegOptions } from '@sipway/sip-leg/testing';
import { parseMessage } from '@sipway/sip-message';
import type { SipMessage } from '@sipway/sip-message';
import { StatelessProxy } from '../src/index.js';
import type { ProxyOutcome, StatelessProxyOptions } from '../src/index.js';
import { until } from '@sipway/test-peers';

/** A fixed contact key so tokens are reproducible within a test. */
export const KEY = 'hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';

/** Net::SIP's TestLeg: a leg that may only deliver to one peer address. */
export class PeerLeg extends MemoryLeg {
  readonly peers: readonly string[];
  constructor(network: MemoryNetwork, options: MemoryLegOptions, peers: readonly string[]) {
    super(network, options);
    this.peers = peers;
  }
  override canDeliverTo(destination: Pick<Destination, 'transport' | 'family'> & { address?: string }): boolean {
    return super.canDeliverTo(destination) && (destination.address === undefined || this.peers.includes(destination.address));
  }
}

export interface LegSpec extends MemoryLegOptions {
  /** Only these peer addresses (Net::SIP TestLeg). */
  peers?: string[];
}

/** A peer (UA) on the memory network: records what it receives. */
export interface Peer {
  leg: MemoryLeg;
  inbox: SipMessage[];
  send(text: string, to: Leg | Destination): Promise<void>;
  /** Wait until the inbox has more than `count` messages (bounded). */
  waitFor(count: number, timeoutMs?: number): Promise<SipMessage>;
}

export interface Harness {
  net: MemoryNetwork;
  legs: MemoryLeg[];
  dispatcher: Dispatcher;
  proxy: StatelessProxy;
  outcomes: ProxyOutcome[];
  /** Wait until `count` outcomes exist (bounded). */
  settled(count: number, timeoutMs?: number): Promise<ProxyOutcome>;
  peer(address: string, port: number, transport?: MemoryLegOptions['transport']): Promise<Peer>;
  close(): Promise<void>;
}

export async function harness(legSpecs: LegSpec[], options: Partial<StatelessProxyOptions> = {}): Promise<Harness> {
  const net = new MemoryNetwork();
  const legs = legSpecs.map(({ peers, ...o }) => (peers === undefined ? net.createLeg(o) : new PeerLeg(net, o, peers)));
  const dispatcher = new Dispatcher({ legs });
  const proxy = new StatelessProxy({ dispatcher, contactKey: KEY, ...options });
  const outcomes: ProxyOutcome[] = [];
  dispatcher.setReceiver({
    receive(message: SipMessage, info: ReceiveInfo) {
      return proxy.route(message, info).then((o) => {
        outcomes.push(o);
        return true;
      });
    },
  });
  await dispatcher.start();
  const peers: MemoryLeg[] = [];
  return {
    net,
    legs,
    dispatcher,
    proxy,
    outcomes,
    async settled(count, timeoutMs = 2000) {
      await until(() => outcomes.length >= count, timeoutMs, `${count} proxy outcomes`);
      await net.settle();
      return outcomes[count - 1]!;
    },
    async peer(address, port, transport = 'udp') {
      const inbox: SipMessage[] = [];
      const leg = net.createLeg({ address, port, transport, onReceive: (m) => inbox.push(m), answerBadRequests: false });
      await leg.start();
      peers.push(leg);
      return {
        leg,
        inbox,
        async send(text, to) {
          const destination: Destination =
            'transport' in to && 'family' in to && 'address' in to && !('branchBase' in to)
              ? (to as Destination)
              : { transport: (to as Leg).transport, address: (to as Leg).address, port: (to as Leg).port, family: (to as Leg).family };
          const r = await leg.send(parseMessage(text.replace(/\r?\n/g, '\r\n')), destination);
          if (!r.ok) throw new Error(`peer send failed: ${r.reason}`);
        },
        async waitFor(count, timeoutMs = 2000) {
          await until(() => inbox.length > count, timeoutMs, `message ${count + 1} at ${address}:${port}`);
          return inbox[count]!;
        },
      };
    },
    async close() {
      await dispatcher.close();
      await Promise.all(peers.map((p) => p.close()));
    },
  };
}

/** A Record-Route value without our `;rrsig=` signature, to compare with fixed text. */
export function unsigned(value: string): string {
  return value.replace(/;rrsig=[A-Za-z0-9_-]+/, '');
}

/** Build a request text from lines (CRLF added, Content-Length 0 when absent). */
export function msg(...lines: string[]): string {
  const hasCl = lines.some((l) => /^(content-length|l)\s*:/i.test(l));
  return `${[...lines, ...(hasCl ? [] : ['Content-Length: 0'])].join('\r\n')}\r\n\r\n`;
}

/** A basic INVITE from a UAC at `from` to `uri`. */
export function invite(uri: string, from: string, extra: string[] = [], opts: { branch?: string; method?: string; cseq?: number; callId?: string; mf?: string | null } = {}): string {
  const method = opts.method ?? 'INVITE';
  return msg(
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${from};branch=${opts.branch ?? 'z9hG4bKuac1'};rport`,
    ...(opts.mf === null ? [] : [`Max-Forwards: ${opts.mf ?? '70'}`]),
    'From: "Alice" <sip:alice@example.com>;tag=111',
    'To: <sip:bob@example.com>',
    `Call-ID: ${opts.callId ?? 'call1@127.0.0.1'}`,
    `CSeq: ${opts.cseq ?? 1} ${method}`,
    `Contact: <sip:alice@${from}>`,
    ...extra,
  );
}

/** Header field lines of a message, names as written, in order. */
export function headerLines(message: SipMessage): string[] {
  return message.headers.map((h) => `${h.name}: ${h.value}`);
}
