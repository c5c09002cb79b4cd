import { expect } from 'vitest';
import { until } from '@sipway/test-peers';
import { createHash } from 'node:crypto';
import { Dispatcher, type ReceiveInfo } from '@sipway/sip-leg';
import { MemoryNetwork, type MemoryLeg } from '@sipway/sip-leg/testing';
import { createResponse, isRequest, parseMessage, type SipMessage, type SipRequest, type SipResponse } from '@sipway/sip-message';
import { ReceiveChain } from '@sipway/receive-chain';
import { DigestAuthenticator, type DigestAuthenticatorOptions } from '../src/index.js';

export const T0 = Date.UTC(2026, 10, 26, 10, 0, 0);
export const REALM = 'example.com';
export const SECRET = 'a-cluster-wide-nonce-secret-of-32b';

// ---- digest computed independently of src/, straight from RFC 2617 §3.2.2 / RFC 7616 §3.4 ----

const NODE: Record<string, string> = { MD5: 'md5', 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256' };
export const H = (alg: string, s: string): string => createHash(NODE[alg] as string).update(s).digest('hex');

export interface DigestArgs {
  alg: 'MD5' | 'SHA-256';
  user: string;
  password: string;
  realm?: string;
  method: string;
  uri: string;
  nonce: string;
  /** With qop=auth: nc as a number and a cnonce. */
  nc?: number;
  cnonce?: string;
  opaque?: string;
  /** Leave algorithm= out (means MD5). */
  omitAlgorithm?: boolean;
}

export function digestResponse(a: DigestArgs): string {
  const realm = a.realm ?? REALM;
  const ha1 = H(a.alg, `${a.user}:${realm}:${a.password}`);
  const ha2 = H(a.alg, `${a.method}:${a.uri}`);
  if (a.nc === undefined) return H(a.alg, `${ha1}:${a.nonce}:${ha2}`);
  const nc = a.nc.toString(16).padStart(8, '0');
  return H(a.alg, `${ha1}:${a.nonce}:${nc}:${a.cnonce ?? 'c0ffee'}:auth:${ha2}`);
}

export function credentials(a: DigestArgs, response = digestResponse(a)): string {
  let s = `Digest username="${a.user}", realm="${a.realm ?? REALM}", nonce="${a.nonce}", uri="${a.uri}", response="${response}"`;
  if (!a.omitAlgorithm) s += `, algorithm=${a.alg}`;
  if (a.nc !== undefined) s += `, qop=auth, nc=${a.nc.toString(16).padStart(8, '0')}, cnonce="${a.cnonce ?? 'c0ffee'}"`;
  if (a.opaque !== undefined) s += `, opaque="${a.opaque}"`;
  return s;
}

/** Parses one challenge the simple way (test-side, independent of src/). */
export function challengeParams(value: string): Record<string, string> {
  expect(value.startsWith('Digest ')).toBe(true);
  const out: Record<string, string> = {};
  for (const m of value.slice(7).matchAll(/([a-zA-Z]+)=("([^"]*)"|[^,\s]+)/g)) out[(m[1] as string).toLowerCase()] = m[3] ?? (m[2] as string);
  return out;
}


let branchNo = 0;

export interface RequestArgs {
  method?: string;
  uri?: string;
  cseq?: number;
  callId?: string;
  to?: string;
  toTag?: string;
  headers?: Array<[string, string]>;
  branch?: string;
  /** sent-by of the Via (default 10.0.0.2:5060): where the answer goes. */
  sentBy?: string;
}

export function requestText(args: RequestArgs = {}): string {
  const method = args.method ?? 'REGISTER';
  const uri = args.uri ?? 'sip:example.com';
  const to = args.to ?? 'sip:alice@example.com';
  const seq = args.cseq ?? 1;
  const lines = [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${args.sentBy ?? '10.0.0.2:5060'};branch=${args.branch ?? `z9hG4bK-auth-${++branchNo}`}`,
    'Max-Forwards: 70',
    `From: <${to}>;tag=from1`,
    `To: <${to}>${args.toTag ? `;tag=${args.toTag}` : ''}`,
    `Call-ID: ${args.callId ?? 'auth-call@10.0.0.2'}`,
    `CSeq: ${seq} ${method === 'ACK' || method === 'CANCEL' ? method : method}`,
    `Contact: <sip:alice@10.0.0.2:5060>`,
  ];
  for (const [n, v] of args.headers ?? []) lines.push(`${n}: ${v}`);
  lines.push('Content-Length: 0', '', '');
  return lines.join('\r\n');
}

/**
 * An in-memory server leg (10.0.0.1:5060) whose chain is [DigestAuthenticator, a handler that
 * answers 200 to what reaches it], a client leg (10.0.0.2:5060), and a clock the test moves.
 */
export async function setup(options: Partial<DigestAuthenticatorOptions> = {}) {
  const net = new MemoryNetwork();
  const serverLeg = net.createLeg({ address: '10.0.0.1', port: 5060 });
  const dispatcher = new Dispatcher({ legs: [serverLeg] });
  let now = T0;
  const lines: string[] = [];
  const auth = new DigestAuthenticator({
    dispatcher,
    realm: REALM,
    users: { alice: 'wonderland', '007': 'secret' },
    nonceSecret: SECRET,
    clock: () => now,
    securityLog: (line) => lines.push(line),
    ...options,
  });
  /** Requests that got past the authenticator, as the next member saw them. */
  const passed: SipRequest[] = [];
  const handler = async (m: SipMessage, info: ReceiveInfo) => {
    if (!isRequest(m)) return false;
    passed.push(m);
    if (m.method === 'ACK') return true;
    await dispatcher.deliver(createResponse(m, 200, 'OK', { toTag: 'ok' }), { incoming: info });
    return true;
  };
  dispatcher.setReceiver(new ReceiveChain([auth, handler]));
  await dispatcher.start();
  const client: MemoryLeg = net.createLeg({ address: '10.0.0.2', port: 5060 });
  const responses: SipResponse[] = [];
  client.onReceive = (m) => {
    if (!m.isRequest) responses.push(m);
  };
  await client.start();

  async function sendOnly(text: string): Promise<void> {
    const sent = await client.send(parseMessage(text), { transport: 'udp', address: '10.0.0.1', port: 5060, family: 4 });
    if (!sent.ok) throw new Error(sent.reason);
    await net.settle();
  }

  /** Sends a request and resolves to the response with its branch. */
  async function send(args: RequestArgs = {}): Promise<SipResponse> {
    const text = requestText(args);
    const branch = parseMessage(text).topVia?.branch;
    const mine = () => responses.filter((r) => r.topVia?.branch === branch);
    await sendOnly(text);
    await until(() => mine().length > 0);
    return mine()[0] as SipResponse;
  }

  /** REGISTER without credentials, then the SHA-256 and MD5 challenges' nonce. */
  async function challenge(args: RequestArgs = {}): Promise<{ response: SipResponse; nonce: string; params: Array<Record<string, string>> }> {
    const response = await send(args);
    const name = response.status === 407 ? 'Proxy-Authenticate' : 'WWW-Authenticate';
    const params = response.getHeaders(name).map(challengeParams);
    return { response, nonce: params[0]?.['nonce'] ?? '', params };
  }

  return {
    net,
    dispatcher,
    auth,
    client,
    passed,
    responses,
    lines,
    send,
    sendOnly,
    challenge,
    advance(seconds: number): void {
      now += seconds * 1000;
    },
    async close(): Promise<void> {
      await client.close();
      await dispatcher.close();
    },
  };
}
