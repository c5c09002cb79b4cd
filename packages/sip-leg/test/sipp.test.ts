import { spawnPeer } from '@sipway/test-peers';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '@sipway/test-peers';
import { createResponse, parseMessage } from '@sipway/sip-message';
import type { SipMessage } from '@sipway/sip-message';
import type { Destination, Leg, ReceiveInfo } from '../src/index.js';
import { TcpLeg } from '../src/tcp/index.js';
import { UdpLeg } from '../src/udp/index.js';
import { bracket } from './helpers.js';

// A real SIP peer: sipp's built-in uac/uas scenarios, one call, bounded by -timeout.
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function runSipp(args: string[]): Promise<{ code: number | null; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sipp-'));
  return new Promise((resolve, reject) => {
    // A missing sipp rejects at once, naming its Debian package (spawn emits no exit then).
    const child = spawnPeer('sipp', [...args, '-m', '1', '-timeout', '10s', '-timeout_error', '-nostdin', '-trace_err'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }, reject);
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', (code) => {
      clearTimeout(killer);
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, output: output.slice(-2000) });
    });
  });
}

/** A tiny UAS: 200 to INVITE and BYE (with a To tag), nothing to ACK. */
function answerer(seen: string[]) {
  return (message: SipMessage, info: ReceiveInfo): void => {
    if (!message.isRequest) return;
    seen.push(message.method);
    if (message.method === 'ACK') return;
    const leg = info.leg;
    const res = createResponse(message, 200, 'OK', { toTag: 'sipway1', headers: [['Contact', `<${leg.contact}>`]] });
    void leg.send(res, undefined, info.connection ? { connection: info.connection } : undefined);
  };
}

const CASES = [
  { name: 'UDP IPv4', make: (o: object) => new UdpLeg(o), address: '127.0.0.1', t: 'u1' },
  { name: 'TCP IPv4', make: (o: object) => new TcpLeg(o), address: '127.0.0.1', t: 't1' },
  { name: 'UDP IPv6', make: (o: object) => new UdpLeg(o), address: '::1', t: 'u1' },
  { name: 'TCP IPv6', make: (o: object) => new TcpLeg(o), address: '::1', t: 't1' },
];

describe.each(CASES)('sipp against a $name leg', ({ make, address, t }) => {
  it('sipp UAC completes INVITE/ACK/BYE with a leg whose receiver answers 200', async () => {
    const seen: string[] = [];
    const leg: Leg = make({ address, port: 0, onReceive: answerer(seen) });
    await leg.start();
    cleanup.push(() => leg.close());
    const { code, output } = await runSipp(['-sn', 'uac', '-t', t, '-i', address, `${bracket(address)}:${leg.port}`]);
    expect(code, output).toBe(0);
    expect(seen).toEqual(['INVITE', 'ACK', 'BYE']);
  });

  it('a leg acting as UAC completes a call with sipp UAS', async () => {
    const sippPort = await freePort(address);
    const sipp = runSipp(['-sn', 'uas', '-t', t, '-i', address, '-p', String(sippPort)]);
    const responses: number[] = [];
    let leg: Leg | undefined;
    const destination: Destination = {
      transport: t === 't1' ? 'tcp' : 'udp',
      address,
      port: sippPort,
      family: address === '::1' ? 6 : 4,
    };
    const done = new Promise<void>((resolve) => {
      const onReceive = (message: SipMessage): void => {
        if (message.isRequest || leg === undefined) return;
        responses.push(message.status);
        if (message.status === 200 && message.cseq?.method === 'INVITE') {
          const toTag = message.to?.tag ?? '';
          void leg.send(parseMessage(inDialog(leg, 'ACK', 1, toTag, sippPort)), destination);
          void leg.send(parseMessage(inDialog(leg, 'BYE', 2, toTag, sippPort)), destination);
        } else if (message.cseq?.method === 'BYE') resolve();
      };
      leg = make({ address, port: 0, onReceive });
    });
    if (leg === undefined) throw new Error('unreachable');
    const uac: Leg = leg;
    await uac.start();
    cleanup.push(() => uac.close());
    // A sipp that cannot start (not installed) fails the test at once instead of at its timeout.
    let sippFailed: unknown;
    const failed = sipp.then(
      () => new Promise<never>(() => undefined),
      (error: unknown) => {
        sippFailed = error;
        throw error;
      },
    );
    failed.catch(() => undefined);
    // sipp needs a moment to bind; resend INVITE a few times (bounded) until it answers.
    for (let i = 0; i < 20 && responses.length === 0 && sippFailed === undefined; i++) {
      await uac.send(parseMessage(invite(uac, sippPort)), destination);
      await new Promise((r) => setTimeout(r, 250));
    }
    await Promise.race([done, failed]);
    const { code, output } = await sipp;
    expect(code, output).toBe(0);
    expect(responses).toContain(180);
    expect(responses.filter((s) => s === 200)).toHaveLength(2);
  });
});

function headers(leg: Leg, method: string, cseq: number, toTag: string, sippPort: number, branch: string): string[] {
  const target = `sip:service@${bracket(leg.address)}:${sippPort}`;
  return [
    `${method} ${target} SIP/2.0`,
    `Via: ${leg.via(branch)}`,
    'Max-Forwards: 70',
    `From: <sip:sipway@${bracket(leg.address)}>;tag=uac1`,
    `To: <${target}>${toTag ? `;tag=${toTag}` : ''}`,
    'Call-ID: sipp-call-1@sipway',
    `CSeq: ${cseq} ${method}`,
    `Contact: <${leg.contact}>`,
  ];
}

function invite(leg: Leg, sippPort: number): string {
  const body = `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n`;
  return [...headers(leg, 'INVITE', 1, '', sippPort, `${leg.branchBase}inv`), 'Content-Type: application/sdp', `Content-Length: ${body.length}`, '', body].join('\r\n');
}

function inDialog(leg: Leg, method: 'ACK' | 'BYE', cseq: number, toTag: string, sippPort: number): string {
  // ACK for a 2xx is its own transaction (RFC 3261 §13.2.2.4); CSeq number of the INVITE.
  const n = method === 'ACK' ? 1 : cseq;
  return [...headers(leg, method, n, toTag, sippPort, `${leg.branchBase}${method.toLowerCase()}`), 'Content-Length: 0', '', ''].join('\r\n');
}

