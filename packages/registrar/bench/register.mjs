// REGISTERs per second through a Registrar on a UDP leg on loopback, with each location store:
// memory, file (snapshot every second) and Redis (a redis-server this script starts on a free
// port, no persistence). Runs against dist/ (build first: `pnpm --filter @sipway/registrar bench`).
//
//   node bench/register.mjs [--registers 20000] [--aors 2000] [--window 32] [--rounds 5] [--stores memory,file,redis]
//
// The registrar runs in a worker thread; the load generator (a plain dgram socket) in the main
// thread keeps at most `window` REGISTERs in flight (closed loop). Each REGISTER refreshes one of
// `aors` AORs (its own Call-ID, CSeq growing), so the first pass creates records and the rest
// read-merge-save them: the full §10.3 path, store included. The first 10 % are warm-up.
// Every round is bounded by the message count and a 60 s deadline. Reported: median of rounds.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

if (!isMainThread) {
  // ---- registrar worker ----
  const { store: kind, redisUrl, filePath, prefix } = workerData;
  const { Dispatcher } = await import('@sipway/sip-leg');
  const { UdpLeg } = await import('@sipway/sip-leg/udp');
  const { Registrar } = await import('../dist/index.js');
  let store;
  if (kind === 'file') {
    const { FileLocationStore } = await import('../dist/stores/file/index.js');
    store = await FileLocationStore.open({ path: filePath, flushIntervalMs: 1000 });
  } else if (kind === 'redis') {
    const { RedisLocationStore } = await import('../dist/stores/redis/index.js');
    store = await RedisLocationStore.connect({ url: redisUrl, prefix });
  }
  const leg = new UdpLeg({ address: '127.0.0.1', port: 0 });
  const dispatcher = new Dispatcher({ legs: [leg] });
  const registrar = new Registrar({ dispatcher, domains: ['example.com'], sweepInterval: 0, ...(store ? { store } : {}) });
  dispatcher.setReceiver(registrar);
  await dispatcher.start();
  parentPort.postMessage({ port: leg.port });
  let mark;
  parentPort.on('message', async (m) => {
    if (m === 'mark') mark = performance.eventLoopUtilization();
    else {
      const elu = performance.eventLoopUtilization(mark);
      const aors = (await registrar.list()).length;
      await registrar.close();
      await dispatcher.close();
      await store?.close();
      parentPort.postMessage({ activeMs: elu.active, aors });
      process.exit(0);
    }
  });
} else {
  await main();
}

async function main() {
  const args = new Map(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
  const REGISTERS = Number(args.get('registers') ?? 20_000);
  const AORS = Number(args.get('aors') ?? 2000);
  const WINDOW = Number(args.get('window') ?? 32);
  const ROUNDS = Number(args.get('rounds') ?? 5);
  const STORES = (args.get('stores') ?? 'memory,file,redis').split(',');
  const dir = mkdtempSync(join(tmpdir(), 'sipway-register-bench-'));
  let redis;
  try {
    if (STORES.includes('redis')) redis = await startRedis(dir).catch((error) => console.error(`redis: ${error.message}; its row is skipped`));
    const stores = STORES.filter((store) => store !== 'redis' || redis !== undefined);
    const runs = new Map(stores.map((store) => [store, []]));
    // Rounds interleave the stores, so a load change on the machine hits each of them alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const store of stores) runs.get(store).push(await runOnce({ store, round, dir, redisUrl: redis?.url, REGISTERS, AORS, WINDOW }));
    }
    const rows = stores.map((store) => summarize(store, runs.get(store)));
    const table = [
      '| store | REGISTER/s (median) | min–max | per busy registrar-thread second | non-200 / lost |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...rows.map((r) => `| ${r.store} | ${r.median} | ${r.min}–${r.max} | ${r.capacity} | ${r.errors} / ${r.lost} |`),
    ].join('\n');
    const about = `${REGISTERS} REGISTERs per round (first 10 % warm-up) over ${AORS} AORs, window ${WINDOW}, ${ROUNDS} rounds, UDP on 127.0.0.1; Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}${redis ? `, ${redis.version}` : ''}`;
    console.log(`${table}\n\n${about}`);
    writeFileSync(new URL('./results.md', import.meta.url), `# REGISTER benchmark\n\n${table}\n\n${about}\n`);
  } finally {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function registerText(user, cseq, port, n) {
  return [
    'REGISTER sip:example.com SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-bench-${n};rport`,
    'Max-Forwards: 70',
    `From: <sip:u${user}@example.com>;tag=b${user}`,
    `To: <sip:u${user}@example.com>`,
    `Call-ID: bench-${user}@127.0.0.1`,
    `CSeq: ${cseq} REGISTER`,
    `Contact: <sip:u${user}@127.0.0.1:${port}>`,
    'Expires: 300',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

async function runOnce({ store, round, dir, redisUrl, REGISTERS, AORS, WINDOW }) {
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { store, redisUrl, prefix: `bench${round}:`, filePath: join(dir, `bindings-${round}.json`) },
  });
  const port = await new Promise((resolve, reject) => {
    worker.once('message', (m) => resolve(m.port));
    worker.once('error', reject);
  });
  const gen = createSocket('udp4');
  await new Promise((r) => gen.bind(0, '127.0.0.1', r));
  const genPort = gen.address().port;
  let sent = 0;
  let answered = 0;
  let errors = 0;
  let lost = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  const pump = () => {
    while (sent < REGISTERS && sent - answered - lost < WINDOW) {
      const user = sent % AORS;
      const cseq = Math.floor(sent / AORS) + 1;
      gen.send(registerText(user, cseq, genPort, sent), port, '127.0.0.1');
      sent++;
    }
  };
  const warm = Math.floor(REGISTERS / 10);
  let t0 = 0n;
  gen.on('message', (data) => {
    answered++;
    if (data.toString('latin1', 0, 11) !== 'SIP/2.0 200') errors++;
    if (answered === warm) {
      t0 = process.hrtime.bigint();
      worker.postMessage('mark');
    }
    if (answered + lost >= REGISTERS) done();
    else pump();
  });
  // A datagram lost on loopback would stall the window: after 500 ms without progress count
  // what is in flight as lost and go on.
  let seen = -1;
  const refill = setInterval(() => {
    if (answered === seen && sent < REGISTERS) {
      lost = sent - answered;
      pump();
    } else if (answered === seen) done();
    seen = answered;
  }, 500);
  const deadline = setTimeout(done, 60_000);
  pump();
  await finished;
  const t1 = process.hrtime.bigint();
  clearInterval(refill);
  clearTimeout(deadline);
  lost = sent - answered;
  const seconds = t0 === 0n ? 0 : Number(t1 - t0) / 1e9;
  const usage = new Promise((resolve) => worker.once('message', resolve));
  worker.postMessage('stop');
  const { activeMs, aors } = await usage;
  await new Promise((r) => worker.once('exit', r));
  gen.close();
  if (aors !== Math.min(AORS, REGISTERS)) errors += Math.abs(Math.min(AORS, REGISTERS) - aors);
  return {
    rate: seconds === 0 ? 0 : (answered - warm) / seconds,
    capacity: activeMs > 0 ? ((answered - warm) / activeMs) * 1000 : 0,
    errors,
    lost,
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function summarize(store, runs) {
  const rates = runs.map((r) => r.rate);
  const round = (x) => Math.round(x).toLocaleString('en-US');
  return {
    store,
    median: round(median(rates)),
    min: round(Math.min(...rates)),
    max: round(Math.max(...rates)),
    capacity: round(median(runs.map((r) => r.capacity))),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    lost: runs.reduce((n, r) => n + r.lost, 0),
  };
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server on a free loopback port, no persistence; rejects if it is not installed. */
async function startRedis(dir) {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  const failed = new Promise((_, reject) => {
    child.once('error', (e) => reject(new Error(`cannot run redis-server (${e.message})`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  failed.catch(() => undefined);
  const deadline = Date.now() + 5000;
  const ping = () =>
    new Promise((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
    });
  for (;;) {
    const ok = await Promise.race([ping(), failed]);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('redis-server did not answer within 5 s');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const version = /Redis version=([\d.]+)/.exec(output)?.[1] ?? /v=([\d.]+)/.exec(output)?.[1];
  return {
    url: `redis://127.0.0.1:${port}/0`,
    version: `redis-server ${version ?? '(version unknown)'}`,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
