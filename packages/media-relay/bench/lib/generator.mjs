/**
 * The load of `pnpm bench:media`: N concurrent G.711 streams (172-byte RTP packets, 50 per
 * second each way) through a relay running in another process, whose CPU is read from
 * /proc/<pid>/stat. Load worker processes (one per 100 streams) each have one caller socket on
 * 127.0.0.1 and one callee socket on 127.0.0.2 playing their streams: each call has its own
 * relay ports, so each stream is latched and relayed on its own, and the packets carry the
 * stream, direction, 20 ms tick and send time.
 *
 * A relay driver (bench/<relay>.mjs) calls `runDriver(name, start)`; `start(streams, a, b)` starts
 * the relay with `streams` calls, call i between the caller at 127.0.0.1 port
 * `a.ports[i % a.ports.length]` and the callee at 127.0.0.2 port `b.ports[i % b.ports.length]`,
 * and resolves to `{ pid, pairs: [[portForCaller, portForCallee], …], stop() }`: the caller of
 * call i sends to 127.0.0.1:pairs[i][0], its callee to 127.0.0.2:pairs[i][1]. Each measured level prints
 * one JSON line `{ relay, streams, pps, cpuUsPerPacket, loss, jitterMs, offeredPps }`.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const INTERVAL_MS = 20;

/** utime + stime of a process in microseconds (clock ticks of 10 ms on Linux). */
export function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 (utime, stime), counted from after the command name (field 3 is index 0).
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();
const STREAMS_PER_WORKER = 100;

/** Forks a load worker and resolves when its sockets are bound. */
function worker() {
  const child = fork(fileURLToPath(new URL('./load-worker.mjs', import.meta.url)), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', ({ ports }) => resolve({ child, ports }));
  });
}

/**
 * One level: `streams` calls for `seconds` after a 1 s warm-up, the load spread over one worker
 * process per 100 streams (one Node.js process cannot send and receive 100 000 packets/s), the
 * window counted in 20 ms ticks of a clock the workers share.
 */
async function level(name, start, streams, seconds) {
  const workers = await Promise.all(Array.from({ length: Math.min(16, Math.ceil(streams / STREAMS_PER_WORKER)) }, worker));
  let relay;
  try {
    const aPorts = workers.map((w) => w.ports[0]);
    const bPorts = workers.map((w) => w.ports[1]);
    relay = await start(streams, { address: '127.0.0.1', port: aPorts[0], ports: aPorts }, { address: '127.0.0.2', port: bPorts[0], ports: bPorts });
    const n = relay.pairs.length;
    const t0 = now() + 300;
    const firstTick = 1000 / INTERVAL_MS;
    const endTick = firstTick + Math.round((seconds * 1000) / INTERVAL_MS);
    // Two seconds after the window for late packets.
    const stopTick = endTick + 2000 / INTERVAL_MS;
    const reports = workers.map(
      (w, k) =>
        new Promise((resolve, reject) => {
          w.child.once('message', resolve);
          w.child.once('exit', (code) => reject(new Error(`load worker exited with ${code}`)));
          const pairs = [];
          for (let i = k; i < n; i += workers.length) pairs.push([i, ...relay.pairs[i]]);
          w.child.send({ pairs, t0, firstTick, endTick, stopTick });
        }),
    );
    await sleep(t0 + firstTick * INTERVAL_MS - now());
    const cpu0 = cpuMicros(relay.pid);
    await sleep(t0 + endTick * INTERVAL_MS - now());
    const cpu1 = cpuMicros(relay.pid);
    const results = await Promise.all(reports);
    let sent = 0;
    let received = 0;
    let jitterSum = 0;
    let jitterCount = 0;
    for (const r of results) {
      sent += r.sent;
      received += r.received;
      jitterSum += r.jitterSum;
      jitterCount += r.jitterCount;
    }
    const windowS = ((endTick - firstTick) * INTERVAL_MS) / 1000;
    if (process.env.BENCH_DEBUG) process.stderr.write(`${name} ${n} streams, ${workers.length} workers: sent ${sent}, received ${received} ${JSON.stringify(results)}\n`);
    return {
      relay: name,
      streams: n,
      pps: Math.round(received / windowS),
      cpuUsPerPacket: received === 0 ? null : Number(((cpu1 - cpu0) / received).toFixed(2)),
      loss: sent === 0 ? null : Number(Math.max(0, 1 - received / sent).toFixed(4)),
      jitterMs: jitterCount === 0 ? null : Number((jitterSum / jitterCount).toFixed(3)),
      offeredPps: Math.round(sent / windowS),
    };
  } finally {
    await relay?.stop();
    for (const w of workers) w.child.kill('SIGKILL');
  }
}

/**
 * Runs the levels of `--streams` (default 100,500,1000) for `--seconds` each (default 4),
 * printing one JSON line per level; stops going up once a level loses more than 20 %.
 */
export async function runDriver(name, start) {
  const { values } = parseArgs({ options: { streams: { type: 'string', default: '100,500,1000' }, seconds: { type: 'string', default: '4' } } });
  const levels = values.streams.split(',').map(Number);
  const seconds = Number(values.seconds);
  for (const streams of levels) {
    let result;
    try {
      result = await level(name, start, streams, seconds);
    } catch (error) {
      process.stdout.write(`${JSON.stringify({ relay: name, streams, error: String(error?.message ?? error) })}\n`);
      break;
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (result.loss === null || result.loss > 0.2) break;
  }
}
