/**
 * The load of `pnpm bench:media`: N concurrent G.711 streams (172-byte RTP packets, 50 per
 * second each way) through a relay running in another process, whose CPU is read from
 * /proc/<pid>/stat. One UDP socket per side plays every caller (127.0.0.1) and every callee
 * (127.0.0.2): each call has its own relay ports, so each stream is latched and relayed on its
 * own, and the packets carry the stream, direction, sequence number and send time.
 *
 * A relay driver (bench/<relay>.mjs) calls `runDriver(name, start)`; `start(streams, a, b)` starts
 * the relay with `streams` calls between caller socket `a` and callee socket `b` ({address, port})
 * and resolves to `{ pid, pairs: [[portForCaller, portForCallee], …], stop() }`: the caller sends
 * to 127.0.0.1:portForCaller, the callee to 127.0.0.2:portForCallee. Each measured level prints
 * one JSON line `{ relay, streams, pps, cpuUsPerPacket, loss, jitterMs, offeredPps }`.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const PACKET = 172;
const INTERVAL_MS = 20;

/** utime + stime of a process in microseconds (clock ticks of 10 ms on Linux). */
export function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 (utime, stime), counted from after the command name (field 3 is index 0).
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function bind(address) {
  const s = createSocket('udp4');
  await new Promise((resolve) => s.bind(0, address, resolve));
  try {
    s.setRecvBufferSize(8 * 1024 * 1024);
    s.setSendBufferSize(8 * 1024 * 1024);
  } catch {
    // capped by net.core.rmem_max: fine
  }
  return s;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One level: `streams` calls for `seconds` (after a 1 s warm-up). */
async function level(name, start, streams, seconds) {
  const a = await bind('127.0.0.1');
  const b = await bind('127.0.0.2');
  const relay = await start(streams, { address: '127.0.0.1', port: a.address().port }, { address: '127.0.0.2', port: b.address().port });
  const n = relay.pairs.length;
  // Per stream and direction (0: caller → callee, 1: callee → caller): RFC 3550 §A.8 jitter.
  const jitter = new Float64Array(n * 2);
  const lastTransit = new Float64Array(n * 2).fill(Number.NaN);
  let counting = false;
  // The window is a range of 20 ms ticks: a packet belongs to it by the tick it was due at,
  // whenever a late event loop really sent it.
  let firstTick = Infinity;
  let endTick = Infinity;
  let windowStart = 0;
  let windowEnd = 0;
  let sent = 0;
  let received = 0;
  const origin = performance.now();
  const onMessage = (buf) => {
    if (buf.length < 24) return;
    const stream = buf.readUInt32BE(8);
    const dir = buf[12];
    const at = buf.readDoubleBE(16);
    if (stream >= n) return;
    const now = performance.now() - origin;
    const k = stream * 2 + dir;
    const transit = now - at;
    const prev = lastTransit[k];
    if (!Number.isNaN(prev)) jitter[k] += (Math.abs(transit - prev) - jitter[k]) / 16;
    lastTransit[k] = transit;
    const tick = buf.readUInt32BE(4) / 160;
    if (counting && tick >= firstTick && tick < endTick) received++;
  };
  a.on('message', onMessage);
  b.on('message', onMessage);

  let seq = 0;
  let ticks = 0;
  const t0 = performance.now();
  let running = true;
  const sender = (async () => {
    while (running) {
      // Catch up on every 20 ms tick that is due (timers are late under load).
      const due = Math.floor((performance.now() - t0) / INTERVAL_MS) + 1;
      while (ticks < due && running) {
        ticks++;
        seq = (seq + 1) & 0xffff;
        for (let i = 0; i < n; i++) {
          const [toCaller, toCallee] = relay.pairs[i];
          for (let dir = 0; dir < 2; dir++) {
            const p = Buffer.allocUnsafe(PACKET);
            p[0] = 0x80;
            p[1] = 0;
            p.writeUInt16BE(seq, 2);
            p.writeUInt32BE(ticks * 160, 4);
            p.writeUInt32BE(i, 8);
            p[12] = dir;
            const at = performance.now() - origin;
            p.writeDoubleBE(at, 16);
            if (ticks >= firstTick && ticks < endTick) sent++;
            if (dir === 0) a.send(p, toCaller, '127.0.0.1');
            else b.send(p, toCallee, '127.0.0.2');
          }
        }
      }
      await sleep(Math.max(1, INTERVAL_MS - ((performance.now() - t0) % INTERVAL_MS)));
    }
  })();

  await sleep(1000);
  jitter.fill(0);
  lastTransit.fill(Number.NaN);
  windowStart = performance.now();
  // The tick after the one the sender may already be on.
  firstTick = Math.floor((windowStart - t0) / INTERVAL_MS) + 2;
  counting = true;
  const cpu0 = cpuMicros(relay.pid);
  await sleep(seconds * 1000);
  windowEnd = performance.now();
  endTick = Math.floor((windowEnd - t0) / INTERVAL_MS) + 2;
  const cpu1 = cpuMicros(relay.pid);
  // Packets of the window still in flight (or not yet sent by a late loop) get two seconds to arrive.
  await sleep(2000);
  counting = false;
  running = false;
  await sender;
  await relay.stop();
  a.close();
  b.close();
  const elapsed = (windowEnd - windowStart) / 1000;
  if (process.env.BENCH_DEBUG) process.stderr.write(`ticks ${ticks}, window ${elapsed.toFixed(2)} s, sent ${sent}, received ${received}\n`);
  let sum = 0;
  for (const j of jitter) sum += j;
  return {
    relay: name,
    streams: n,
    // Per second of the window's ticks (the load's own clock).
    pps: Math.round(received / ((endTick - firstTick) * INTERVAL_MS / 1000)),
    cpuUsPerPacket: received === 0 ? null : Number(((cpu1 - cpu0) / received).toFixed(2)),
    loss: sent === 0 ? null : Number(Math.max(0, 1 - received / sent).toFixed(4)),
    jitterMs: Number((sum / jitter.length).toFixed(3)),
    offeredPps: Math.round(sent / ((endTick - firstTick) * INTERVAL_MS / 1000)),
  };
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
