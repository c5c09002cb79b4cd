import { spawnPeer } from '@sipway/test-peers';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Dispatcher, type ReceiveInfo } from '@sipway/sip-leg';
import { UdpLeg } from '@sipway/sip-leg/udp';
import { createResponse, isRequest, parseMessage, type SipMessage, type SipRequest, type SipResponse } from '@sipway/sip-message';
import { ReceiveChain } from '@sipway/receive-chain';
import { DigestAuthenticator, authenticatedUser, type DigestAlgorithm } from '../src/index.js';
import { challengeParams, credentials } from './helpers.js';

const SIPP_DIR = join(dirname(fileURLToPath(import.meta.url)), 'sipp');
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A UDP leg on 127.0.0.1 whose chain is [DigestAuthenticator(registrar), a handler answering 200 to authorized REGISTERs]. */
async function startServer(algorithms?: DigestAlgorithm[], extra: { checkUri?: boolean } = {}) {
  const leg = new UdpLeg({ address: '127.0.0.1', port: 0 });
  const dispatcher = new Dispatcher({ legs: [leg] });
  const lines: string[] = [];
  const auth = new DigestAuthenticator({
    dispatcher,
    realm: 'example.com',
    role: 'registrar',
    users: { alice: 'wonderland' },
    nonceSecret: 'sipp-test-nonce-secret-0123456789',
    securityLog: (line) => lines.push(line),
    ...(algorithms === undefined ? {} : { algorithms }),
    ...extra,
  });
  const registered: SipRequest[] = [];
  const registrar = async (m: SipMessage, info: ReceiveInfo) => {
    if (!isRequest(m) || m.method !== 'REGISTER') return false;
    registered.push(m);
    await dispatcher.deliver(createResponse(m, 200, 'OK', { toTag: 'reg', headers: [['Contact', `${m.getHeader('Contact')};expires=300`]] }), { incoming: info });
    return true;
  };
  dispatcher.setReceiver(new ReceiveChain([auth, registrar]));
  await dispatcher.start();
  cleanup.push(() => dispatcher.close());
  return { port: leg.port, registered, lines };
}

function runSipp(scenario: string, port: number, password: string, authUri: string | null = 'example.com'): Promise<{ code: number | null; output: string; errors: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sipp-auth-'));
  const args = [
    `127.0.0.1:${port}`, '-sf', join(SIPP_DIR, scenario), '-s', 'alice', '-au', 'alice', '-ap', password, ...(authUri === null ? [] : ['-auth_uri', authUri]),
    '-i', '127.0.0.1', '-p', '0', '-m', '1', '-timeout', '10s', '-timeout_error', '-nostdin', '-trace_err',
  ];
  return new Promise((resolve, reject) => {
    // A missing sipp rejects at once, naming its Debian package (spawn emits no exit then).
    const child = spawnPeer('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }, reject);
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', (code) => {
      clearTimeout(killer);
      const errorFile = readdirSync(dir).find((f) => f.endsWith('_errors.log'));
      const errors = errorFile === undefined ? '' : readFileSync(join(dir, errorFile), 'utf8');
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, output, errors });
    });
  });
}

describe('sipp REGISTER with [authentication] over UDP on 127.0.0.1', () => {
  // sipp 3.6.1 reads only the first WWW-Authenticate and stops with "authentication must use MD5
  // or AKAv1-MD5" when it is SHA-256 (the RFC 8760 default order), so these runs offer MD5 first.
  it('registers with MD5 digest when MD5 and SHA-256 are offered side by side, MD5 first', async () => {
    const s = await startServer(['MD5', 'SHA-256']);
    const run = await runSipp('register-auth.xml', s.port, 'wonderland');
    expect(run.code, run.output + run.errors).toBe(0);
    expect(s.registered).toHaveLength(1);
    expect(authenticatedUser(s.registered[0]!)).toBe('alice');
    expect(s.registered[0]!.hasHeader('Authorization')).toBe(false);
    expect(s.lines).toEqual([]);
  });

  it('gets 403 after the challenge with a wrong password, and the failure is logged for fail2ban', async () => {
    const s = await startServer(['MD5', 'SHA-256']);
    const run = await runSipp('register-auth-403.xml', s.port, 'not-the-password');
    expect(run.code, run.output + run.errors).toBe(0);
    expect(s.registered).toHaveLength(0);
    expect(s.lines).toHaveLength(1);
    expect(s.lines[0]).toMatch(/^sipway auth-failed source=127\.0\.0\.1 port=\d+ reason=bad-password method=REGISTER user="alice"$/);
  });
});

/** Our own UAC over a real UDP socket: sends a datagram and waits (at most 2 s) for the answer. */
async function udpClient() {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  const port = socket.address().port;
  let cseq = 0;
  return {
    register(to: number, authorization?: string): Promise<SipResponse> {
      cseq++;
      const text = [
        `REGISTER sip:127.0.0.1:${to} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-sha-${cseq};rport`,
        'Max-Forwards: 70',
        'From: <sip:alice@example.com>;tag=sha1',
        'To: <sip:alice@example.com>',
        'Call-ID: sha256-over-udp@127.0.0.1',
        `CSeq: ${cseq} REGISTER`,
        `Contact: <sip:alice@127.0.0.1:${port}>`,
        ...(authorization === undefined ? [] : [`Authorization: ${authorization}`]),
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no response within 2 s')), 2000);
        socket.once('message', (data) => {
          clearTimeout(timer);
          resolve(parseMessage(data) as SipResponse);
        });
        socket.send(text, to, '127.0.0.1');
      });
    },
  };
}

describe('sipp without -auth_uri (it then answers for sip:<remote ip>:<port>, not the Request-URI)', () => {
  it('gets 400 while checkUri is on (RFC 7616 §3.4.6) and registers with checkUri: false', async () => {
    const strict = await startServer(['MD5']);
    const refused = await runSipp('register-auth.xml', strict.port, 'wonderland', null);
    expect(refused.code).not.toBe(0);
    expect(refused.errors).toContain('400 Bad Request');
    expect(strict.lines).toEqual([expect.stringMatching(/reason=uri-mismatch method=REGISTER user="alice"$/)]);
    const lenient = await startServer(['MD5'], { checkUri: false });
    const run = await runSipp('register-auth.xml', lenient.port, 'wonderland', null);
    expect(run.code, run.output + run.errors).toBe(0);
    expect(lenient.registered).toHaveLength(1);
  });
});

describe('SHA-256 over UDP with our own UAC (sipp 3.6.1 has no SHA-256 digest)', () => {
  it('takes the first challenge (SHA-256, RFC 8760 order), registers, and refuses a replay of the same nonce and nc', async () => {
    const s = await startServer();
    const c = await udpClient();
    const challenge = await c.register(s.port);
    expect(challenge.status).toBe(401);
    const first = challengeParams(challenge.getHeaders('WWW-Authenticate')[0]!);
    expect(first['algorithm']).toBe('SHA-256');
    const auth = credentials({ alg: 'SHA-256', user: 'alice', password: 'wonderland', method: 'REGISTER', uri: `sip:127.0.0.1:${s.port}`, nonce: first['nonce']!, nc: 1 });
    expect((await c.register(s.port, auth)).status).toBe(200);
    expect(s.registered).toHaveLength(1);
    const replay = await c.register(s.port, auth);
    expect(replay.status).toBe(401);
    expect(challengeParams(replay.getHeader('WWW-Authenticate')!)['stale']).toBe('TRUE');
    expect(s.registered).toHaveLength(1);
    expect(s.lines).toEqual([expect.stringMatching(/^sipway auth-failed source=127\.0\.0\.1 port=\d+ reason=replay method=REGISTER user="alice"$/)]);
  });

  it('answers 403 to a wrong SHA-256 password', async () => {
    const s = await startServer();
    const c = await udpClient();
    const nonce = challengeParams((await c.register(s.port)).getHeader('WWW-Authenticate')!)['nonce']!;
    const auth = credentials({ alg: 'SHA-256', user: 'alice', password: 'guess', method: 'REGISTER', uri: `sip:127.0.0.1:${s.port}`, nonce, nc: 1 });
    expect((await c.register(s.port, auth)).status).toBe(403);
    expect(s.registered).toHaveLength(0);
  });
});
