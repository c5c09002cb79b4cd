import { parseMessage } from '@sipway/sip-message';
import type { SipResponse } from '@sipway/sip-message';
import { Dispatcher } from '@sipway/sip-leg';
import type { Destination } from '@sipway/sip-leg';
import { MemoryNetwork } from '@sipway/sip-leg/testing';
import type { MemoryLeg } from '@sipway/sip-leg/testing';
import { Registrar } from '../src/index.js';
import type { RegistrarOptions } from '../src/index.js';
import { until } from '@sipway/test-peers';

/** 2026-11-26T10:00:00Z: a fixed start for the injected clock. */
export const T0 = Date.UTC(2026, 10, 26, 10, 0, 0);

export interface RegisterArgs {
  /** Contact header values, one header line each (default: none = query). */
  contacts?: string[];
  expires?: number | string;
  callId?: string;
  cseq?: number;
  /** To URI (default sip:alice@example.com). */
  to?: string;
  /** Request-URI (default sip:example.com). */
  uri?: string;
  headers?: Array<[string, string]>;
  method?: string;
}

let branchCounter = 0;

export function registerText(args: RegisterArgs, via: string, defaults: { callId: string; cseq: number }): string {
  const method = args.method ?? 'REGISTER';
  const to = args.to ?? 'sip:alice@example.com';
  const lines = [
    `${method} ${args.uri ?? 'sip:example.com'} SIP/2.0`,
    `Via: SIP/2.0/UDP ${via};branch=z9hG4bK-test-${++branchCounter}`,
    'Max-Forwards: 70',
    `From: <${to}>;tag=f${branchCounter}`,
    `To: <${to}>`,
    `Call-ID: ${args.callId ?? defaults.callId}`,
    `CSeq: ${args.cseq ?? defaults.cseq} ${method}`,
  ];
  for (const c of args.contacts ?? []) lines.push(`Contact: ${c}`);
  if (args.expires !== undefined) lines.push(`Expires: ${args.expires}`);
  for (const [n, v] of args.headers ?? []) lines.push(`${n}: ${v}`);
  lines.push('Content-Length: 0', '', '');
  return lines.join('\r\n');
}

/**
 * A registrar on an in-memory UDP leg (10.0.0.1:5060) and a client leg (10.0.0.2:5060) that
 * sends REGISTERs and collects the responses, with a clock the test moves.
 */
export async function setup(options: Partial<RegistrarOptions> = {}) {
  const net = new MemoryNetwork();
  const serverLeg = net.createLeg({ address: '10.0.0.1', port: 5060 });
  const dispatcher = new Dispatcher({ legs: [serverLeg] });
  let now = T0;
  const registrar = new Registrar({ dispatcher, domains: ['example.com'], clock: () => now, sweepInterval: 0, ...options });
  dispatcher.setReceiver(registrar);
  await dispatcher.start();
  const client: MemoryLeg = net.createLeg({ address: '10.0.0.2', port: 5060 });
  const responses: SipResponse[] = [];
  client.onReceive = (m) => {
    if (!m.isRequest) responses.push(m);
  };
  await client.start();
  const to: Destination = { transport: 'udp', address: '10.0.0.1', port: 5060, family: 4 };
  let cseq = 0;

  /** Sends a REGISTER and resolves to its response (or rejects after 2 s). */
  async function register(args: RegisterArgs = {}): Promise<SipResponse> {
    return send(registerText(args, '10.0.0.2:5060', { callId: 'call-1@10.0.0.2', cseq: ++cseq }));
  }

  /** Sends a request as text and resolves to the next response with its branch (a retransmission gets a second one). */
  async function send(text: string): Promise<SipResponse> {
    const request = parseMessage(text);
    const branch = request.topVia?.branch;
    const mine = () => responses.filter((r) => r.topVia?.branch === branch);
    const before = mine().length;
    const sent = await client.send(request, to);
    if (!sent.ok) throw new Error(sent.reason);
    await until(() => mine().length > before);
    return mine()[before] as SipResponse;
  }

  return {
    net,
    dispatcher,
    registrar,
    register,
    send,
    responses,
    serverLeg,
    client,
    now: () => now,
    /** Moves the clock forward by `seconds`. */
    advance(seconds: number): void {
      now += seconds * 1000;
    },
    async close(): Promise<void> {
      await registrar.close();
      await client.close();
      await dispatcher.close();
    },
  };
}

export type Setup = Awaited<ReturnType<typeof setup>>;

/** The Contact values of a response as `uri → expires` (order kept). */
export function contactsOf(response: SipResponse): Array<{ uri: string; expires: number | undefined; q: number | undefined; raw: string }> {
  return response.contacts.map((c) => ({ uri: c.uri, expires: c.expires, q: c.q, raw: c.raw.trim() }));
}
