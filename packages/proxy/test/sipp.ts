// sipp as a real peer for the proxy's end-to-end tests: one bounded run, its message trace, and
// the small socket helpers the scenarios need.
import { spawnPeer } from '@sipway/test-peers';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SippRun {
  done: Promise<{ code: number | null; output: string; messages: string }>;
}

export function runSipp(args: string[]): SippRun {
  const dir = mkdtempSync(join(tmpdir(), 'sipway-proxy-sipp-'));
  const done = new Promise<{ code: number | null; output: string; messages: string }>((resolve, reject) => {
    // A missing sipp rejects at once, naming its Debian package (spawn emits no exit then).
    const child = spawnPeer('sipp', [...args, '-m', '1', '-timeout', '10s', '-timeout_error', '-nostdin', '-trace_msg', '-trace_err'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }, reject);
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', (code) => {
      clearTimeout(killer);
      let messages = '';
      for (const f of readdirSync(dir)) if (f.endsWith('_messages.log')) messages += readFileSync(join(dir, f), 'latin1');
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, output: output.slice(-3000), messages });
    });
  });
  return { done };
}

export function freeUdpPort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    s.once('error', reject);
    s.bind(0, address, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Resolves once something (sipp) holds the UDP port, read from /proc/net/udp{,6} so the check
 * never competes with sipp for the port. Bounded to 5 s.
 */
export async function waitBound(port: number, run?: SippRun): Promise<void> {
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const deadline = Date.now() + 5000;
  // A sipp that could not start (not installed) or ended early fails the wait at once.
  let failure: unknown;
  run?.done.then(
    (r) => (failure ??= new Error(`sipp exited (${String(r.code)}) before binding UDP port ${port}: ${r.output.slice(-500)}`)),
    (error: unknown) => (failure = error),
  );
  while (Date.now() < deadline) {
    if (failure !== undefined) throw failure;
    const tables = ['/proc/net/udp', '/proc/net/udp6'].map((f) => {
      try {
        return readFileSync(f, 'latin1');
      } catch {
        return '';
      }
    });
    // Column 2 is local_address:port in hex.
    if (tables.some((t) => t.split('\n').some((line) => (line.trim().split(/\s+/)[1] ?? '').endsWith(suffix)))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing bound UDP port ${port} within 5 s`);
}

export const bracket = (a: string) => (a.includes(':') ? `[${a}]` : a);
