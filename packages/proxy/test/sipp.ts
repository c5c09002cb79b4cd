// sipp as a real peer for the proxy's end-to-end tests: one bounded run, its message trace, and
// the small socket helpers the scenarios need.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitPortBound } from '@sipway/test-peers';

export interface SippRun {
  done: Promise<{ code: number | null; output: string; messages: string }>;
}

export function runSipp(args: string[]): SippRun {
  const dir = mkdtempSync(join(tmpdir(), 'sipway-proxy-sipp-'));
  const done = new Promise<{ code: number | null; output: string; messages: string }>((resolve) => {
    const child = spawn('sipp', [...args, '-m', '1', '-timeout', '10s', '-timeout_error', '-nostdin', '-trace_msg', '-trace_err'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
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

/** Resolves once something (sipp) holds the UDP port. Bounded to 5 s. */
export function waitBound(port: number): Promise<void> {
  return waitPortBound(port, 'udp', 5000);
}

export const bracket = (a: string) => (a.includes(':') ? `[${a}]` : a);
