import { createHash } from 'node:crypto';
import { DigestAuthenticator } from '@sipway/auth';
import { StatelessProxy } from '@sipway/proxy';
import { ReceiveChain } from '@sipway/receive-chain';
import type { ChainHandler } from '@sipway/receive-chain';
import { Registrar } from '@sipway/registrar';
import type { LocationStore } from '@sipway/registrar';
import { Dispatcher } from '@sipway/sip-leg';
import type { Destination } from '@sipway/sip-leg';
import { MemoryNetwork } from '@sipway/sip-leg/testing';
import type { MemoryLeg } from '@sipway/sip-leg/testing';
import { parseMessage } from '@sipway/sip-message';
import type { SipMessage, SipResponse } from '@sipway/sip-message';
import { until } from '@sipway/test-peers';

/**
 * One sample of the Prometheus text format, read independently of prom-client: the value of
 * `name` whose labels include `labels`, or undefined when there is no such line.
 */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have[l[1]!] = l[2]!;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

export const REALM = 'example.com';
export const NONCE_SECRET = 'admin-tests-nonce-secret-0123456789';

/** RFC 2617 §3.2.2 with qop=auth, MD5, computed here (not by @sipway/auth). */
export function authorization(challenge: string, user: string, password: string, method: string, uri: string): string {
  const nonce = /nonce="([^"]+)"/.exec(challenge)?.[1] ?? '';
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');
  const ha1 = md5(`${user}:${REALM}:${password}`);
  const response = md5(`${ha1}:${nonce}:00000001:c0ffee:auth:${md5(`${method}:${uri}`)}`);
  return `Digest username="${user}", realm="${REALM}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="c0ffee"`;
}

let counter = 0;

/** A REGISTER (or other request) as text from 10.0.0.2:5060. */
export function requestText(args: {
  method?: string;
  uri?: string;
  to?: string;
  contact?: string;
  expires?: number;
  headers?: Array<[string, string]>;
  cseq?: number;
  callId?: string;
  maxForwards?: number;
}): string {
  const method = args.method ?? 'REGISTER';
  const to = args.to ?? 'sip:alice@example.com';
  const n = ++counter;
  const lines = [
    `${method} ${args.uri ?? 'sip:example.com'} SIP/2.0`,
    `Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-admin-${n}`,
    `Max-Forwards: ${args.maxForwards ?? 70}`,
    `From: <sip:alice@example.com>;tag=f${n}`,
    `To: <${to}>`,
    `Call-ID: ${args.callId ?? `admin-${n}@10.0.0.2`}`,
    `CSeq: ${args.cseq ?? n} ${method}`,
  ];
  if (args.contact !== undefined) lines.push(`Contact: ${args.contact}`);
  if (args.expires !== undefined) lines.push(`Expires: ${args.expires}`);
  for (const [k, v] of args.headers ?? []) lines.push(`${k}: ${v}`);
  lines.push('Content-Length: 0', '', '');
  return lines.join('\r\n');
}

export interface SipSetupOptions {
  /** Put a DigestAuthenticator with these users in front of the registrar. */
  users?: Record<string, string>;
  /** Put a StatelessProxy behind the registrar. */
  proxy?: boolean;
  store?: LocationStore;
}

/**
 * legs → Dispatcher → ReceiveChain([DigestAuthenticator?, Registrar, StatelessProxy?]) on an
 * in-memory network: the server leg is udp:10.0.0.1:5060, the client udp:10.0.0.2:5060.
 */
export async function sipSetup(options: SipSetupOptions = {}) {
  const net = new MemoryNetwork();
  const serverLeg = net.createLeg({ address: '10.0.0.1', port: 5060 });
  const dispatcher = new Dispatcher({ legs: [serverLeg] });
  const registrar = new Registrar({ dispatcher, domains: [REALM], sweepInterval: 0, ...(options.store === undefined ? {} : { store: options.store }) });
  const members: ChainHandler[] = [];
  if (options.users !== undefined) {
    members.push(new DigestAuthenticator({ dispatcher, realm: REALM, users: options.users, nonceSecret: NONCE_SECRET, algorithms: ['MD5'] }));
  }
  members.push(registrar);
  const proxy = options.proxy === true ? new StatelessProxy({ dispatcher, domains: [REALM], location: registrar, contactKey: 'hex:' + '11'.repeat(32) }) : undefined;
  if (proxy !== undefined) members.push(proxy);
  dispatcher.setReceiver(new ReceiveChain(members));
  await dispatcher.start();

  const client: MemoryLeg = net.createLeg({ address: '10.0.0.2', port: 5060 });
  const inbox: SipMessage[] = [];
  client.onReceive = (m) => inbox.push(m);
  await client.start();
  const server: Destination = { transport: 'udp', address: '10.0.0.1', port: 5060, family: 4 };

  /** Sends a request and resolves to its response (matched by branch), at most 2 s. */
  async function request(text: string): Promise<SipResponse> {
    const message = parseMessage(text);
    const branch = message.topVia?.branch;
    const sent = await client.send(message, server);
    if (!sent.ok) throw new Error(sent.reason);
    let found: SipResponse | undefined;
    await until(() => {
      found = inbox.find((m): m is SipResponse => !m.isRequest && m.topVia?.branch === branch);
      return found !== undefined;
    });
    inbox.splice(inbox.indexOf(found!), 1);
    return found!;
  }

  return {
    net,
    serverLeg,
    client,
    dispatcher,
    registrar,
    proxy,
    request,
    async close(): Promise<void> {
      proxy?.close();
      await client.close();
      await dispatcher.close();
      await registrar.close();
    },
  };
}
