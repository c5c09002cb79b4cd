/**
 * One process of the benchmark's load: a caller socket on 127.0.0.1 and a callee socket on
 * 127.0.0.2 playing its share of the streams (see generator.mjs). Messages from the parent:
 * `{ pairs: [[stream, portForCaller, portForCallee], …], t0, firstTick, endTick, stopTick }`;
 * it answers `{ ports }` once bound and `{ sent, received, jitterSum, jitterCount }` at the end.
 */
import { createSocket } from 'node:dgram';

const PACKET = 172;
const INTERVAL_MS = 20;
const now = () => performance.timeOrigin + performance.now();

async function bind(address) {
  const s = createSocket('udp4');
  await new Promise((resolve) => s.bind(0, address, resolve));
  try {
    s.setRecvBufferSize(4 * 1024 * 1024);
    s.setSendBufferSize(4 * 1024 * 1024);
  } catch {
    // capped by net.core.rmem_max: fine
  }
  return s;
}

const a = await bind('127.0.0.1');
const b = await bind('127.0.0.2');
process.send({ ports: [a.address().port, b.address().port] });

process.once('message', async ({ pairs, t0, firstTick, endTick, stopTick }) => {
  const index = new Map(pairs.map(([stream], k) => [stream, k]));
  const jitter = new Float64Array(pairs.length * 2);
  const last = new Float64Array(pairs.length * 2).fill(Number.NaN);
  let sent = 0;
  let received = 0;
  const onMessage = (buf) => {
    if (buf.length < 24) return;
    const k = index.get(buf.readUInt32BE(8));
    if (k === undefined) return;
    const slot = k * 2 + buf[12];
    const transit = now() - buf.readDoubleBE(16);
    const tick = buf.readUInt32BE(4) / 160;
    if (tick < firstTick || tick >= endTick) return;
    received++;
    if (!Number.isNaN(last[slot])) jitter[slot] += (Math.abs(transit - last[slot]) - jitter[slot]) / 16;
    last[slot] = transit;
  };
  a.on('message', onMessage);
  b.on('message', onMessage);
  let tick = 0;
  while (tick < stopTick) {
    const due = Math.min(stopTick, Math.floor((now() - t0) / INTERVAL_MS) + 1);
    if (tick >= due) {
      await new Promise((r) => setTimeout(r, Math.max(1, t0 + due * INTERVAL_MS - now())));
      continue;
    }
    tick++;
    // Only ticks up to the end of the window carry load; the rest of the run is the drain.
    if (tick < endTick) {
      for (const [stream, toCaller, toCallee] of pairs) {
        for (let dir = 0; dir < 2; dir++) {
          const p = Buffer.allocUnsafe(PACKET);
          p[0] = 0x80;
          p[1] = 0;
          p.writeUInt16BE(tick & 0xffff, 2);
          p.writeUInt32BE(tick * 160, 4);
          p.writeUInt32BE(stream, 8);
          p[12] = dir;
          p.writeDoubleBE(now(), 16);
          if (tick >= firstTick) sent++;
          if (dir === 0) a.send(p, toCaller, '127.0.0.1');
          else b.send(p, toCallee, '127.0.0.2');
        }
      }
    }
    // Let the receive side run between ticks, even when catching up.
    await new Promise((r) => setImmediate(r));
  }
  let jitterSum = 0;
  for (const j of jitter) jitterSum += j;
  process.send({ sent, received, jitterSum, jitterCount: jitter.length }, () => process.exit(0));
});
