// UDP receive → parse → send throughput of one UdpLeg against a plain node:dgram relay that
// does not parse (the ceiling for Node on this machine). Runs against dist/ (build first).
//
//   node bench/udp-throughput.mjs [--messages 40000] [--window 64] [--rounds 3]
//
// Each relay runs in its own worker thread; the load generator and the sink share the main
// thread. The generator keeps at most `window` datagrams in flight (closed loop), so nothing is
// dropped by the kernel and the rate measured is what the relay sustains. Every run is bounded
// by a message count and a 30 s deadline.
import { createSocket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const args = new Map(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const MESSAGES = Number(args.get('messages') ?? 40_000);
const WINDOW = Number(args.get('window') ?? 128);
const ROUNDS = Number(args.get('rounds') ?? 5);
const DEADLINE_MS = 30_000;

const SDP = 'v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
const INVITE = [
  'INVITE sip:bob@192.0.2.20:5060 SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>',
  'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@192.0.2.10:5060>',
  'User-Agent: sipway-bench',
  'Allow: INVITE, ACK, OPTIONS, CANCEL, BYE',
  'Content-Type: application/sdp',
  `Content-Length: ${SDP.length}`,
  '',
  SDP,
].join('\r\n');

if (!isMainThread) {
  // ---- relay worker ----
  const { mode, sinkPort } = workerData;
  if (mode === 'dgram') {
    const socket = createSocket('udp4');
    socket.on('message', (msg) => socket.send(msg, sinkPort, '127.0.0.1'));
    socket.bind(0, '127.0.0.1', () => parentPort.postMessage({ port: socket.address().port }));
    control(() => new Promise((r) => socket.close(r)));
  } else {
    const { UdpLeg } = await import('../dist/udp/index.js');
    const destination = { transport: 'udp', address: '127.0.0.1', port: sinkPort, family: 4 };
    const leg = new UdpLeg({ address: '127.0.0.1', port: 0 });
    leg.onReceive = (message) => {
      if (mode === 'leg-via') {
        // What a proxy does at least: read the routing headers and add its own Via on top.
        void message.topVia;
        void message.callId;
        message.insertHeader('Via', leg.via());
      }
      void leg.send(message, destination);
    };
    await leg.start();
    parentPort.postMessage({ port: leg.port });
    control(() => leg.close());
  }
}

/** 'mark' starts the event-loop-utilization window; 'stop' reports it, closes and exits. */
function control(close) {
  let mark;
  parentPort.on('message', async (m) => {
    if (m === 'mark') mark = performance.eventLoopUtilization();
    else {
      const elu = performance.eventLoopUtilization(mark);
      parentPort.postMessage({ activeMs: elu.active, utilization: elu.utilization });
      await close();
      process.exit(0);
    }
  });
}

async function runOnce(mode) {
  const sink = createSocket('udp4');
  let received = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  await new Promise((r) => sink.bind(0, '127.0.0.1', r));
  const worker = new Worker(new URL(import.meta.url), { workerData: { mode, sinkPort: sink.address().port } });
  const relayPort = await new Promise((resolve) => worker.once('message', (m) => resolve(m.port)));
  const gen = createSocket('udp4');
  await new Promise((r) => gen.bind(0, '127.0.0.1', r));
  const payload = Buffer.from(INVITE);
  let sent = 0;
  let lost = 0;
  const pump = () => {
    while (sent < MESSAGES && sent - received - lost < WINDOW) {
      sent++;
      gen.send(payload, relayPort, '127.0.0.1');
    }
  };
  // Warm-up is the first 10 % of messages; the clock starts after them.
  const warm = Math.floor(MESSAGES / 10);
  let t0 = 0n;
  sink.on('message', () => {
    received++;
    if (received === warm) {
      t0 = process.hrtime.bigint();
      worker.postMessage('mark');
    }
    if (received + lost >= MESSAGES) done();
    else pump();
  });
  // A datagram lost on loopback would stall the window: count the window as lost after 200 ms
  // without progress and go on.
  let seen = -1;
  const refill = setInterval(() => {
    if (received === seen && sent < MESSAGES) {
      lost = sent - received;
      pump();
    } else if (received === seen) done();
    seen = received;
  }, 200);
  const deadline = setTimeout(done, DEADLINE_MS);
  pump();
  await finished;
  const t1 = process.hrtime.bigint();
  clearInterval(refill);
  clearTimeout(deadline);
  lost = sent - received;
  const seconds = t0 === 0n ? 0 : Number(t1 - t0) / 1e9;
  const rate = seconds === 0 ? 0 : (received - warm) / seconds;
  const usage = new Promise((resolve) => worker.once('message', resolve));
  worker.postMessage('stop');
  const { activeMs, utilization } = await usage;
  await new Promise((r) => worker.once('exit', r));
  gen.close();
  sink.close();
  // Capacity: messages per second of the relay thread's busy time (robust to a loaded machine
  // and to the generator being the bottleneck).
  const capacity = activeMs > 0 ? ((received - warm) / activeMs) * 1000 : 0;
  return { mode, messages: received, lost, seconds, rate, capacity, utilization };
}

if (isMainThread) {
  const modes = ['dgram', 'leg', 'leg-via'];
  const best = {};
  const capacity = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of modes) {
      const r = await runOnce(mode);
      best[mode] = Math.max(best[mode] ?? 0, r.rate);
      (capacity[mode] ??= []).push(r.capacity);
      console.log(
        `round ${round + 1} ${mode.padEnd(8)} wall ${Math.round(r.rate).toString().padStart(7)} msg/s, relay capacity ${Math.round(r.capacity).toString().padStart(7)} msg/s busy (${(r.utilization * 100).toFixed(0)} % loop use; ${r.messages} relayed, ${r.lost} lost)`,
      );
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const cap = Object.fromEntries(Object.entries(capacity).map(([k, v]) => [k, Math.round(median(v))]));
  const summary = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model,
    messageBytes: Buffer.byteLength(INVITE),
    messages: MESSAGES,
    window: WINDOW,
    rounds: ROUNDS,
    bestWallRate: Object.fromEntries(Object.entries(best).map(([k, v]) => [k, Math.round(v)])),
    medianCapacity: cap,
    ratio: { leg: +(cap.leg / cap.dgram).toFixed(3), legVia: +(cap['leg-via'] / cap.dgram).toFixed(3) },
  };
  console.log(
    `\nrelay capacity (median of ${ROUNDS}, msg/s of relay-thread busy time): dgram ${cap.dgram}, UdpLeg ${cap.leg} (ratio ${summary.ratio.leg}), UdpLeg + Via ${cap['leg-via']} (ratio ${summary.ratio.legVia})`,
  );
  mkdirSync(new URL('../.bench-results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('../.bench-results/udp-throughput.json', import.meta.url), JSON.stringify(summary, null, 2));
}
