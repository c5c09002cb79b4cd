/**
 * End-to-end helpers: start the built example as a user would (node dist/main.js), run sipp
 * scenarios against it, read what sipp received. Every wait is bounded; every process started
 * here is killed in `cleanup()`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { spawnPeer } from '@sipway/test-peers';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// Shared with the other examples' tests.
export { freePort, parseLogs, until } from '@sipway/test-peers';
import { parseLogs } from '@sipway/test-peers';

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

export function bracket(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

export interface ListeningLeg {
  transport: string;
  address: string;
  port: number;
}

export interface ProxyProcess {
  child: ChildProcess;
  legs: ListeningLeg[];
  /** `http://127.0.0.1:PORT` when started with --admin. */
  admin: string | undefined;
  /** stdout + stderr so far. */
  output(): string;
  /** JSON log lines so far. */
  logs(): Array<Record<string, unknown>>;
  /** Send a signal and wait (bounded) for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * Start `node dist/main.js args`; resolves when `expectLegs` lines containing `listening` were
 * printed (and the admin listener's line with `--admin`).
 */
export async function startProxy(
  args: string[],
  expectLegs: number,
  timeoutMs = 10_000,
  options: { openFiles?: number } = {},
): Promise<ProxyProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} missing: the global setup builds it`);
  // `openFiles`: run under `ulimit -n N`, as an operator with a low descriptor limit would.
  const child =
    options.openFiles === undefined
      ? spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('sh', ['-c', `ulimit -n ${options.openFiles} && exec "$0" "$@"`, process.execPath, MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const expectAdmin = args.includes('--admin');
  const { legs, admin } = await new Promise<{ legs: ListeningLeg[]; admin: string | undefined }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`proxy not listening within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = () => {
      const logs = parseLogs(out);
      const found = logs
        .filter((l) => typeof l.msg === 'string' && l.msg.includes('listening') && typeof l.leg === 'string')
        .map((l) => parseLegText(String(l.leg)));
      const adminUrl = logs.find((l) => typeof l.admin === 'string')?.admin as string | undefined;
      if (found.length >= expectLegs && (!expectAdmin || adminUrl !== undefined)) {
        clearTimeout(timer);
        resolve({ legs: found, admin: adminUrl });
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`proxy exited with ${code}:\n${out}`));
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
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

function parseLegText(text: string): ListeningLeg {
  const m = /^(\w+):(\[[^\]]+\]|[^:]+):(\d+)$/.exec(text);
  if (m === null) throw new Error(`bad leg text ${text}`);
  return { transport: m[1]!, address: m[2]!.replace(/^\[|\]$/g, ''), port: Number(m[3]) };
}

export interface SippResult {
  code: number | null;
  output: string;
  /** Messages sipp received, in order (from -trace_msg). */
  received: string[];
  /** Messages sipp sent. */
  sent: string[];
  errors: string;
}

export interface SippRun {
  done: Promise<SippResult>;
  child: ChildProcess;
}

/**
 * Run sipp with a scenario from test/scenarios; `-m` calls, bounded by -timeout and a kill timer.
 * `keys` become sipp `-key name value` substitutions.
 */
export function sipp(options: {
  scenario: string;
  remote?: string;
  local: string;
  port: number;
  transport: 'udp' | 'tcp';
  calls?: number;
  keys?: Record<string, string | number>;
  timeoutS?: number;
  extra?: string[];
}): SippRun {
  const dir = mkdtempSync(join(tmpdir(), 'sipway-e2e-sipp-'));
  const timeoutS = options.timeoutS ?? 10;
  const args = [
    ...(options.remote === undefined ? [] : [options.remote]),
    '-sf', join(SCENARIOS, options.scenario),
    '-i', options.local, '-p', String(options.port),
    '-t', options.transport === 'udp' ? 'u1' : 't1',
    '-m', String(options.calls ?? 1),
    '-timeout', `${timeoutS}s`, '-timeout_error', '-nostdin',
    '-trace_msg', '-message_file', join(dir, 'messages.log'),
    '-trace_err', '-error_file', join(dir, 'errors.log'),
    ...Object.entries(options.keys ?? {}).flatMap(([k, v]) => ['-key', k, String(v)]),
    ...(options.extra ?? []),
  ];
  let fail: (error: Error) => void = () => undefined;
  // A missing sipp rejects `done` at once, naming its Debian package (spawn emits no exit then).
  const child = spawnPeer('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }, (error) => fail(error));
  running.add(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), (timeoutS + 5) * 1000);
  const done = new Promise<SippResult>((resolve, reject) => {
    fail = (error) => {
      clearTimeout(killer);
      reject(error);
    };
    child.once('exit', (code) => {
      clearTimeout(killer);
      const log = readIf(join(dir, 'messages.log'));
      const { received, sent } = splitMessageLog(log);
      resolve({ code, output, received, sent, errors: readIf(join(dir, 'errors.log')) });
    });
  });
  return { done, child };
}

function readIf(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** sipp's -trace_msg file: blocks after a dashed line, headed "UDP message sent (…)" or "… message received […]". */
export function splitMessageLog(log: string): { received: string[]; sent: string[] } {
  const received: string[] = [];
  const sent: string[] = [];
  for (const block of log.split(/^-{10,}.*$/m)) {
    const m = /^\s*\w+ message (sent|received)[^\n]*\n/.exec(block);
    if (m === null) continue;
    const body = block.slice(m[0].length).replace(/^\s*\n/, '').replace(/\s+$/, '');
    (m[1] === 'received' ? received : sent).push(body);
  }
  return { received, sent };
}

/** Values of a header (full or compact name) in a message text, in order; comma lists are not split. */
export function headerValues(message: string, name: string, compact?: string): string[] {
  const head = message.split(/\r?\n\r?\n/)[0] ?? '';
  const names = [name.toLowerCase(), ...(compact === undefined ? [] : [compact.toLowerCase()])];
  const out: string[] = [];
  for (const line of head.split(/\r?\n/).slice(1)) {
    const i = line.indexOf(':');
    if (i > 0 && names.includes(line.slice(0, i).trim().toLowerCase())) out.push(line.slice(i + 1).trim());
  }
  return out;
}

/** A Record-Route value without the proxy's `;rrsig=` signature, to compare with fixed text. */
export function unsigned(value: string): string {
  return value.replace(/;rrsig=[A-Za-z0-9_-]+/, '');
}

/** First line of a message. */
export function startLine(message: string): string {
  return message.split(/\r?\n/)[0] ?? '';
}

/** Messages whose start line matches. */
export function find(messages: string[], start: RegExp): string[] {
  return messages.filter((m) => start.test(startLine(m)));
}

