/**
 * Helpers for the store, authentication and admin tests: a small UDP SIP client independent of
 * the sipway packages, the admin listener's HTTP answers and Prometheus samples. Every wait is
 * bounded.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { freePort, sipp, until } from './helpers.js';
import type { ListeningLeg } from './helpers.js';
// Shared with the other examples' tests.
export { adminGet, digestAuthorization, sample, statusOf } from '@sipway/test-peers';
import { statusOf } from '@sipway/test-peers';

/** Values of a header in a message text, in order. */
export function header(message: string, name: string): string[] {
  const head = message.split(/\r?\n\r?\n/)[0] ?? '';
  const out: string[] = [];
  for (const line of head.split(/\r?\n/).slice(1)) {
    const i = line.indexOf(':');
    if (i > 0 && line.slice(0, i).trim().toLowerCase() === name.toLowerCase()) out.push(line.slice(i + 1).trim());
  }
  return out;
}

/**
 * A UDP SIP client on 127.0.0.1: sends a REGISTER (or an OPTIONS to `user@domain`, which the
 * proxy forwards after a location lookup) built here and returns the final response with the
 * same branch.
 */
export async function udpClient() {
  const socket: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  const inbox: string[] = [];
  socket.on('message', (data) => inbox.push(data.toString('latin1')));
  let n = 0;
  const tag = `c${process.pid}${Date.now() % 100000}`;

  async function request(
    to: ListeningLeg,
    args: { user: string; domain?: string; expires?: number; method?: 'REGISTER' | 'OPTIONS'; callId?: string; cseq?: number; headers?: string[] },
    timeoutMs = 3000,
  ): Promise<string> {
    const domain = args.domain ?? 'example.com';
    const method = args.method ?? 'REGISTER';
    const branch = `z9hG4bK-${tag}-${++n}`;
    const lines = [
      method === 'REGISTER' ? `REGISTER sip:${domain} SIP/2.0` : `${method} sip:${args.user}@${domain} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${branch};rport`,
      'Max-Forwards: 70',
      `From: <sip:${args.user}@${domain}>;tag=${tag}`,
      `To: <sip:${args.user}@${domain}>`,
      `Call-ID: ${args.callId ?? `${tag}-${n}@127.0.0.1`}`,
      `CSeq: ${args.cseq ?? n} ${method}`,
      ...(method === 'REGISTER' ? [`Contact: <sip:${args.user}@127.0.0.1:${port}>`, `Expires: ${args.expires ?? 120}`] : []),
      ...(args.headers ?? []),
      'Content-Length: 0',
      '',
      '',
    ];
    socket.send(lines.join('\r\n'), to.port, to.address);
    let answer: string | undefined;
    await until(() => (answer = inbox.find((m) => m.includes(branch) && statusOf(m) >= 200)) !== undefined, timeoutMs, `answer to ${method}`);
    return answer!;
  }

  return { port, request, close: () => socket.close() };
}

/** Starts a sipp UAS for bob on 127.0.0.3 (answers one call) and registers it through the proxy at `registerVia` with sipp. */
export async function registerUas(registerVia: number, timeoutS = 30) {
  const uasPort = await freePort('127.0.0.3');
  const uas = sipp({ scenario: 'uas-call.xml', local: '127.0.0.3', port: uasPort, transport: 'udp', timeoutS, keys: { user: 'bob', contact_host: '127.0.0.3' } });
  const reg = await sipp({
    scenario: 'register.xml',
    remote: `127.0.0.1:${registerVia}`,
    local: '127.0.0.3',
    port: await freePort('127.0.0.3'),
    transport: 'udp',
    keys: { user: 'bob', domain: 'example.com', contact_host: '127.0.0.3', contact_port: uasPort },
  }).done;
  return { uas, uasPort, reg };
}

/** A sipp UAC calls bob@example.com through the proxy at `callVia` (INVITE/200/ACK/BYE). */
export async function callBob(callVia: number) {
  return sipp({
    scenario: 'uac-call.xml',
    remote: `127.0.0.1:${callVia}`,
    local: '127.0.0.1',
    port: await freePort(),
    transport: 'udp',
    keys: { user: 'bob', domain: 'example.com', contact_host: '127.0.0.1' },
  }).done;
}

