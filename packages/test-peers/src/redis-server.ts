/**
 * A real redis-server on 127.0.0.1 for the Redis store tests: started on a free port with no
 * persistence, stopped (and started again on the same port) by the test. redis-server must be
 * installed (`apt-get install redis-server`; .ci/run does it): a missing binary fails the tests.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pauseProcess } from './pause.js';
import { missingPeerError } from './peers.js';

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:PORT/DB` */
  url(db?: number): string;
  /** Kills the server (SIGKILL by default: a crash, not a shutdown) and waits until it exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port (empty: no persistence) and waits until it answers. */
  start(): Promise<void>;
  readonly running: boolean;
  /** Sends a signal without waiting (SIGCONT, SIGTERM …). */
  signal(signal: NodeJS.Signals): void;
  /** SIGSTOP, resolved once the server is stopped: a Redis that hangs. `signal('SIGCONT')` resumes it. */
  pause(): Promise<void>;
  /** Stops it for good and removes its directory. */
  destroy(): Promise<void>;
}

/** A port that was free a moment ago (redis-server cannot take port 0). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** PING over a raw socket until +PONG, at most `ms`. */
async function waitForPong(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(false);
      }, 500);
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
      socket.once('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startRedisServer(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sipway-redis-'));
  let port = 0;
  let child: ChildProcess | undefined;
  let output = '';

  async function launch(): Promise<void> {
    output = '';
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const failed = new Promise<never>((_, reject) => {
      proc.once('error', (e) => reject(missingPeerError('redis-server', e)));
      proc.once('exit', (code) => reject(new Error(`redis-server exited with ${String(code)}: ${output.slice(-500)}`)));
    });
    failed.catch(() => undefined);
    await Promise.race([waitForPong(port, 5000), failed]);
  }

  // Another process may take the free port between the check and the start: try a few.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (error) {
      child?.kill('SIGKILL');
      // Not installed: another port will not help.
      if (attempt >= 4 || (error as Error).message.startsWith('test peer missing')) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }

  const server: RedisServer = {
    port,
    url: (db = 0) => `redis://127.0.0.1:${port}/${db}`,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async stop(signal: NodeJS.Signals = 'SIGKILL') {
      const proc = child;
      if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill(signal);
      await exited;
    },
    async pause() {
      if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) throw new Error('redis-server is not running');
      await pauseProcess(child.pid);
    },
    signal(signal: NodeJS.Signals) {
      child?.kill(signal);
    },
    async start() {
      if (server.running) return;
      await launch();
    },
    async destroy() {
      await server.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}
