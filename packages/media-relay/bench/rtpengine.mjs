#!/usr/bin/env node
// rtpengine (userspace, no kernel module) under load: N concurrent G.711 calls, 50 packets/s each
// way (20 ms, 172-byte RTP packets), set up over the ng protocol with this package's client.
// Prints one JSON line per step: {relay, streams, pps, cpuUsPerPacket, loss, jitterMs, ...}
//   streams         concurrent calls (each one RTP stream each way)
//   pps             packets relayed per second (counted at the receivers)
//   cpuUsPerPacket  CPU time of the rtpengine process (user + system, /proc/PID/stat) per relayed packet
//   loss            1 - received / sent over the window
//   jitterMs        mean RFC 3550 interarrival jitter added on the way (send time carried in the payload)
// Usage: node bench/rtpengine.mjs [--streams 100,500,1000] [--seconds 5] [--threads 2]
// Needs the package built (dist/) and rtpengine installed (Debian rtpengine-daemon).
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { RtpengineClient } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '100,500,1000' },
    seconds: { type: 'string', default: '5' },
    threads: { type: 'string', default: '2' },
  },
});
const STEPS = values.streams.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0 && n <= 2000);
const SECONDS = Math.min(30, Math.max(1, Number(values.seconds)));
const PACKET = 12 + 160;
const TICKS_PER_SECOND = 100; // /proc stat clock ticks (USER_HZ)

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function cpuUs(pid) {
  // Fields after the command name: state is field 3; utime 14, stime 15 (1-based).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1e6) / TICKS_PER_SECOND;
}

async function startRtpengine(ports) {
  const port = await freePort();
  const portMin = 10_000 + 2 * Math.floor(Math.random() * ((22_000 - ports) / 2));
  const args = [
    '--foreground', '--config-file=none', '--table=-1', '--log-stderr', '--log-level=3',
    `--num-threads=${Number(values.threads)}`, '--interface=127.0.0.1', `--listen-ng=127.0.0.1:${port}`,
    `--port-min=${portMin}`, `--port-max=${portMin + ports - 1}`, '--delete-delay=0', '--timeout=600',
  ];
  const child = spawn('rtpengine', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  child.once('error', (e) => (err += e.message));
  const client = await RtpengineClient.connect({ host: '127.0.0.1', port, timeoutMs: 500, retries: 10, maxPending: 100_000 });
  // Until it listens, a ping is refused at once (ICMP port unreachable): try again, bounded.
  for (const deadline = Date.now() + 10_000; ; ) {
    try {
      await client.ping();
      break;
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`rtpengine did not start: ${error.message}\n${err}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { child, client, log: () => err };
}

function sdp(port, session) {
  return `v=0\r\no=- ${session} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n`;
}
const mediaPort = (text) => Number(/^m=audio (\d+)/m.exec(text)[1]);

/** One side of a call: a socket, where to send (rtpengine's port for it), and receive statistics. */
async function endpoint() {
  const socket = createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const buffer = Buffer.alloc(PACKET, 0xd5);
  buffer[0] = 0x80;
  const port = socket.address().port;
  buffer.writeUInt32BE(port, 8); // SSRC
  // One buffer per endpoint: a send completes long before the same endpoint sends again (20 ms).
  const ep = { socket, port, buffer, target: 0, seq: 0, sent: 0, received: 0, sendErrors: 0, jitter: 0, lastTransit: undefined, counting: false };
  socket.on('message', (data) => {
    // Only packets sent inside the measured window (marked in byte 20) are counted.
    if (data.length !== PACKET || data[20] !== 1) return;
    ep.received++;
    // RFC 3550 §6.4.1 / A.8: J += (|D| - J) / 16, D the change in transit time (µs here).
    const transit = Number(process.hrtime.bigint() / 1000n) - Number(data.readBigUInt64BE(12));
    if (ep.lastTransit !== undefined) ep.jitter += (Math.abs(transit - ep.lastTransit) - ep.jitter) / 16;
    ep.lastTransit = transit;
  });
  return ep;
}

function send(ep) {
  const buffer = ep.buffer;
  buffer.writeUInt16BE(ep.seq & 0xffff, 2);
  buffer.writeUInt32BE((ep.seq * 160) >>> 0, 4);
  buffer.writeBigUInt64BE(process.hrtime.bigint() / 1000n, 12);
  buffer[20] = ep.counting ? 1 : 0;
  ep.seq++;
  if (ep.counting) ep.sent++;
  ep.socket.send(buffer, ep.target, '127.0.0.1', onSent(ep));
}

const sentCallbacks = new WeakMap();
/** One callback per endpoint (no closure per packet): counts send errors (ENOBUFS, EAGAIN). */
function onSent(ep) {
  let cb = sentCallbacks.get(ep);
  if (cb === undefined) {
    cb = (error) => {
      if (error) ep.sendErrors++;
    };
    sentCallbacks.set(ep, cb);
  }
  return cb;
}

async function inBatches(items, size, fn) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

const debug = (text) => {
  if (process.env.BENCH_DEBUG) process.stderr.write(`${new Date().toISOString()} ${text}\n`);
};

async function step(streams) {
  const { child, client, log } = await startRtpengine(4 * streams + 200);
  debug('rtpengine up');
  const calls = [];
  for (let i = 0; i < streams; i++) calls.push({ id: `bench-${i}`, a: await endpoint(), b: await endpoint() });
  const setupStart = Date.now();
  await inBatches(calls, 100, async (c) => {
    const offer = await client.request({ command: 'offer', 'call-id': c.id, 'from-tag': 'a', sdp: sdp(c.a.port, 1), ICE: 'remove', replace: ['origin', 'session connection'] });
    c.b.target = mediaPort(offer.dict.sdp);
    const answer = await client.request({ command: 'answer', 'call-id': c.id, 'from-tag': 'a', 'to-tag': 'b', sdp: sdp(c.b.port, 2), ICE: 'remove' });
    c.a.target = mediaPort(answer.dict.sdp);
  });
  const setupMs = Date.now() - setupStart;
  debug(`${streams} calls set up in ${setupMs} ms`);
  const endpoints = calls.flatMap((c) => [c.a, c.b]);
  // Spread the sends over the 20 ms period: 4 groups, one every 5 ms.
  const groups = [0, 1, 2, 3].map((g) => endpoints.filter((_, i) => i % 4 === g));
  // Sends follow the clock, not the timer: a late tick catches up, so the offered rate is exactly
  // 50 packets/s per stream (jitter is measured on transit times, so catching up adds none).
  let tick = 0;
  const start = performance.now();
  // A generator more than 100 ms behind (a starved process on a loaded box) skips ticks instead
  // of queueing without bound; what it skipped is not offered (offeredPps tells).
  const timer = setInterval(() => {
    const due = Math.floor((performance.now() - start) / 5);
    if (due - tick > 20) tick = due - 20;
    for (; tick <= due; tick++) for (const ep of groups[tick % 4]) send(ep);
  }, 5);
  // 1 s warm-up (endpoint learning), then the measured window, then 300 ms to drain.
  await new Promise((r) => setTimeout(r, 1000));
  for (const ep of endpoints) ep.counting = true;
  const cpu0 = cpuUs(child.pid);
  const own0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const cpu1 = cpuUs(child.pid);
  const own1 = process.cpuUsage(own0);
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  clearInterval(timer);
  const sentAtEnd = endpoints.reduce((n, ep) => n + ep.sent, 0);
  // Drain: wait until nothing more arrives (the receivers may be behind on a loaded box), ≤ 3 s.
  for (let last = -1, i = 0; i < 30; i++) {
    const now = endpoints.reduce((n, ep) => n + ep.received, 0);
    if (now === last) break;
    last = now;
    await new Promise((r) => setTimeout(r, 100));
  }
  debug('window over, drained');
  const received = endpoints.reduce((n, ep) => n + ep.received, 0);
  const jitterUs = endpoints.reduce((n, ep) => n + ep.jitter, 0) / endpoints.length;
  const result = {
    relay: 'rtpengine',
    streams,
    pps: Math.round(received / elapsed),
    cpuUsPerPacket: Number(((cpu1 - cpu0) / Math.max(1, received)).toFixed(2)),
    loss: Number(Math.max(0, 1 - received / Math.max(1, sentAtEnd)).toFixed(4)),
    jitterMs: Number((jitterUs / 1000).toFixed(3)),
    offeredPps: Math.round(sentAtEnd / elapsed),
    rtpengineCpu: Number(((cpu1 - cpu0) / 1e6 / elapsed).toFixed(3)),
    generatorCpu: Number(((own1.user + own1.system) / 1e6 / elapsed).toFixed(3)),
    sendErrors: endpoints.reduce((n, ep) => n + ep.sendErrors, 0),
    setupMs,
    loadavg: Number(loadavg()[0].toFixed(2)),
  };
  await inBatches(calls, 200, (c) => client.request({ command: 'delete', 'call-id': c.id, 'from-tag': 'a' }).catch(() => undefined));
  for (const ep of endpoints) ep.socket.close();
  await client.close();
  debug('calls deleted');
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await new Promise((r) => child.once('exit', r));
  clearTimeout(killer);
  debug('rtpengine stopped');
  if (process.env.BENCH_DEBUG) process.stderr.write(`${log().slice(-2000)}\nreceiving endpoints: ${endpoints.filter((ep) => ep.received > 0).length}/${endpoints.length}, a-sides: ${calls.filter((c) => c.a.received > 0).length}, b-sides: ${calls.filter((c) => c.b.received > 0).length}\n`);
  return result;
}

for (const streams of STEPS) {
  try {
    process.stdout.write(`${JSON.stringify(await step(streams))}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ relay: 'rtpengine', streams, error: String(error.message ?? error) })}\n`);
  }
}
