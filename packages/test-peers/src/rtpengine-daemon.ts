/**
 * A real rtpengine (Debian `rtpengine-daemon`) for the media tests: userspace only (`--table=-1`,
 * no kernel module), in the foreground, logging to stderr, its ng control port on a free loopback
 * port and its media ports in a random range of its own. `apt-get install rtpengine-daemon`
 * (.ci/run does it): a missing binary fails the tests.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { pauseProcess } from './pause.js';
import { freePort } from './ports.js';

export interface RtpengineDaemonOptions {
  /** `--interface` values: `IP` or `NAME/IP`. Default `['127.0.0.1']`. */
  readonly interfaces?: readonly string[] | undefined;
  /** Address of the ng control socket. Default `127.0.0.1` (`::1` for an IPv6 control address). */
  readonly listen?: string | undefined;
  /** Media ports to give it. Default 200. */
  readonly ports?: number | undefined;
  /** More command-line options (`--delete-delay=0`, `--max-sessions=1` …). */
  readonly args?: readonly string[] | undefined;
}

export interface RtpengineDaemon {
  /** Control address as given to `--listen-ng` (no brackets). */
  readonly host: string;
  readonly port: number;
  readonly portMin: number;
  readonly portMax: number;
  readonly pid: number;
  /** What it printed so far (the last 256 KiB). */
  output(): string;
  readonly running: boolean;
  /** Sends a signal (SIGCONT, SIGTERM …) without waiting. */
  signal(signal: NodeJS.Signals): void;
  /** SIGSTOP, resolved once every thread is stopped: an rtpengine that hangs. `signal('SIGCONT')` resumes it. */
  pause(): Promise<void>;
  /** Stops it (SIGTERM, SIGKILL after 5 s) and waits until it exited. Idempotent. */
  stop(): Promise<void>;
}

/** Answers true once an ng `ping` on host:port is answered with `pong`, within `ms`. */
async function waitForPong(host: string, port: number, ms: number, exited: () => boolean): Promise<boolean> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  socket.on('error', () => undefined);
  let ponged = false;
  socket.on('message', (data) => {
    if (data.includes('4:pong')) ponged = true;
  });
  const deadline = Date.now() + ms;
  try {
    let n = 0;
    while (!ponged && !exited() && Date.now() < deadline) {
      socket.send(`peers_${n++} d7:command4:pinge`, port, host);
      await new Promise((r) => setTimeout(r, 100));
    }
    return ponged;
  } finally {
    socket.close();
  }
}

export async function startRtpengine(options: RtpengineDaemonOptions = {}): Promise<RtpengineDaemon> {
  const interfaces = options.interfaces ?? ['127.0.0.1'];
  const host = options.listen ?? '127.0.0.1';
  const count = options.ports ?? 200;
  // Another process may take the free port between the check and the start: try a few.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort(host);
    // Below Linux's ephemeral range (32768+), where the other tests' sockets live.
    const portMin = 10_000 + 2 * Math.floor(Math.random() * ((22_000 - count) / 2));
    const portMax = portMin + count - 1;
    const listen = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const args = [
      '--foreground',
      '--config-file=none',
      '--table=-1',
      '--log-stderr',
      '--log-level=6',
      '--no-log-timestamps',
      '--num-threads=2',
      ...interfaces.map((i) => `--interface=${i}`),
      `--listen-ng=${listen}`,
      `--port-min=${portMin}`,
      `--port-max=${portMax}`,
      ...(options.args ?? []),
    ];
    let out = '';
    const child: ChildProcess = spawn('rtpengine', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const append = (d: Buffer): void => {
      out += d.toString();
      if (out.length > 256 * 1024) out = out.slice(-256 * 1024);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    let spawnError: Error | undefined;
    child.once('error', (e) => (spawnError = e));
    const exited = (): boolean => spawnError !== undefined || child.exitCode !== null || child.signalCode !== null;
    const up = await waitForPong(host, port, 10_000, exited);
    if (spawnError !== undefined) throw new Error(`cannot run rtpengine (apt-get install rtpengine-daemon): ${spawnError.message}`);
    if (!up) {
      child.kill('SIGKILL');
      if (attempt >= 3) throw new Error(`rtpengine did not start (${args.join(' ')}): ${out.slice(-2000)}`);
      continue;
    }
    const daemon: RtpengineDaemon = {
      host,
      port,
      portMin,
      portMax,
      pid: child.pid ?? 0,
      output: () => out,
      get running() {
        return !exited();
      },
      signal(signal) {
        if (!exited()) child.kill(signal);
      },
      async pause() {
        if (exited() || child.pid === undefined) throw new Error('rtpengine is not running');
        await pauseProcess(child.pid);
      },
      async stop() {
        if (exited()) return;
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(timer);
      },
    };
    return daemon;
  }
}
