/**
 * End-to-end helpers: start the built registrar as a user would (node dist/main.js), run sipp
 * scenarios and a small UDP SIP client against it, query its admin listener. Every wait is
 * bounded; every process started here is killed in `cleanup()`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// Shared with the other examples' tests.
export { adminGet, digestAuthorization, freePort, parseLogs, sample, statusOf, until } from '@sipway/test-peers';
import { freePort, parseLogs, spawnPeer, statusOf, until } from '@sipway/test-peers';

export const EXAMPLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const MAIN = join(EXAMPLE_DIR, 'dist', 'main.js');
export const SCENARIOS = join(EXAMPLE_DIR, 'test', 'scenarios');

const running = new Set<ChildProcess>();

/** Kill (SIGKILL) everything still running that a helper started. */
export async function cleanup(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
          setTimeout(resolve, 2000).unref();
        }),
    ),
  );
  running.clear();
}

export interface Listening {
  transport: string;
  address: string;
  port: number;
}

export interface RegistrarProcess {
  child: ChildProcess;
  legs: Listening[];
  /** `http://127.0.0.1:PORT` when started with --admin. */
  admin: string | undefined;
  output(): string;
  logs(): Array<Record<string, unknown>>;
  /** Send a signal and wait (bounded) for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

function parseLeg(text: string): Listening {
  const m = /^(\w+):(\[[^\]]+\]|[^:]+):(\d+)$/.exec(text);
  if (m === null) throw new Error(`bad leg text ${text}`);
  return { transport: m[1]!, address: m[2]!.replace(/^\[|\]$/g, ''), port: Number(m[3]) };
}

/** Runs `node dist/main.js args` to the end (for flags that make it exit), bounded. */
export async function runToExit(args: string[], timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/**
 * Starts `node dist/main.js args`; resolves once one `listening on` line per `--leg` (and the
 * admin line with `--admin`) was printed.
 */
export async function startRegistrar(args: string[], timeoutMs = 10_000): Promise<RegistrarProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} missing: the global setup builds it`);
  const expectLegs = Math.max(1, args.filter((a) => a === '--leg').length);
  const expectAdmin = args.includes('--admin');
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const { legs, admin } = await new Promise<{ legs: Listening[]; admin: string | undefined }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`registrar not listening within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = () => {
      const logs = parseLogs(out);
      const found = logs.filter((l) => typeof l.leg === 'string' && String(l.msg).startsWith('listening on')).map((l) => parseLeg(String(l.leg)));
      const adminUrl = logs.find((l) => typeof l.admin === 'string')?.admin as string | undefined;
      if (found.length >= expectLegs && (!expectAdmin || adminUrl !== undefined)) {
        clearTimeout(timer);
        resolve({ legs: found, admin: adminUrl });
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`registrar exited with ${code}:\n${out}`));
    });
  });
  return {
    child,
    legs,
    admin,
    output: () => out,
    logs: () => parseLogs(out),
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export interface SippResult {
  code: number | null;
  output: string;
  /** Messages sipp received, in order (from -trace_msg). */
  received: string[];
  errors: string;
}

/** Runs one sipp scenario from test/scenarios to the end (`-m 1` by default), bounded by -timeout and a kill timer. */
export async function sipp(options: {
  scenario: string;
  remote: Listening;
  service?: string;
  transport?: 'udp' | 'tcp';
  calls?: number;
  extra?: string[];
  timeoutS?: number;
}): Promise<SippResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sipway-registrar-sipp-'));
  const timeoutS = options.timeoutS ?? 10;
  const args = [
    `${options.remote.address.includes(':') ? `[${options.remote.address}]` : options.remote.address}:${options.remote.port}`,
    '-sf', join(SCENARIOS, options.scenario),
    '-i', options.remote.address.includes(':') ? '::1' : '127.0.0.1', '-p', String(await freePort(options.remote.address.includes(':') ? '::1' : '127.0.0.1')),
    '-t', options.transport === 'tcp' ? 't1' : 'u1',
    '-s', options.service ?? 'alice',
    '-m', String(options.calls ?? 1),
    '-timeout', `${timeoutS}s`, '-timeout_error', '-nostdin',
    '-trace_msg', '-message_file', join(dir, 'messages.log'),
    '-trace_err', '-error_file', join(dir, 'errors.log'),
    ...(options.extra ?? []),
  ];
  let missing: Error | undefined;
  // A missing sipp fails at once, naming its Debian package (spawn emits no exit then).
  const child = spawnPeer('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }, (e) => (missing = e));
  running.add(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), (timeoutS + 5) * 1000);
  const code = await new Promise<number | null>((resolve) => {
    child.once('close', (c) => resolve(c));
  });
  clearTimeout(killer);
  if (missing !== undefined) throw missing;
  const log = readIf(join(dir, 'messages.log'));
  const received: string[] = [];
  for (const block of log.split(/^-{10,}.*$/m)) {
    const m = /^\s*\w+ message received[^\n]*\n/.exec(block);
    if (m !== null) received.push(block.slice(m[0].length).replace(/^\s*\n/, '').replace(/\s+$/, ''));
  }
  return { code, output, received, errors: readIf(join(dir, 'errors.log')) };
}

function readIf(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Values of a header in a message text, in order. */
export function headerValues(message: string, name: string): string[] {
  const head = message.split(/\r?\n\r?\n/)[0] ?? '';
  const out: string[] = [];
  for (const line of head.split(/\r?\n/).slice(1)) {
    const i = line.indexOf(':');
    if (i > 0 && line.slice(0, i).trim().toLowerCase() === name.toLowerCase()) out.push(line.slice(i + 1).trim());
  }
  return out;
}

/**
 * A small SIP client on a UDP socket of 127.0.0.1: sends requests built here and returns the
 * response with the same branch. Independent of the sipway packages.
 */
export async function udpClient() {
  const socket: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  const inbox: string[] = [];
  socket.on('message', (data) => inbox.push(data.toString('latin1')));
  let n = 0;
  const tag = `c${process.pid}${Date.now() % 100000}`;

  /** Sends one request and resolves to its response (bounded by `timeoutMs`). */
  async function request(
    to: Listening,
    args: { method?: string; user?: string; domain?: string; contact?: string | null; expires?: number; headers?: string[]; callId?: string; cseq?: number },
    timeoutMs = 3000,
  ): Promise<string> {
    const method = args.method ?? 'REGISTER';
    const user = args.user ?? 'alice';
    const domain = args.domain ?? 'example.com';
    const branch = `z9hG4bK-${tag}-${++n}`;
    const lines = [
      `${method} sip:${method === 'REGISTER' ? domain : `${user}@${domain}`} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${branch};rport`,
      'Max-Forwards: 70',
      `From: <sip:${user}@${domain}>;tag=${tag}`,
      `To: <sip:${user}@${domain}>`,
      `Call-ID: ${args.callId ?? `${tag}-${n}@127.0.0.1`}`,
      `CSeq: ${args.cseq ?? n} ${method}`,
    ];
    if (args.contact !== null && method === 'REGISTER') lines.push(`Contact: ${args.contact ?? `<sip:${user}@127.0.0.1:${port}>`}`);
    if (args.expires !== undefined) lines.push(`Expires: ${args.expires}`);
    lines.push(...(args.headers ?? []), 'Content-Length: 0', '', '');
    socket.send(lines.join('\r\n'), to.port, to.address);
    let answer: string | undefined;
    await until(() => (answer = inbox.find((m) => m.includes(branch) && statusOf(m) >= 200)) !== undefined, timeoutMs, `answer to ${method}`);
    return answer!;
  }

  return { port, request, close: () => socket.close() };
}

