// How long the file store's snapshot blocks the event loop with many AORs, before and after
// chunked writing. Runs against dist/ (`pnpm --filter @sipway/registrar bench:flush`).
//
//   node bench/flush-block.mjs [--aors 100000] [--rounds 3]
//
// "before" is the pre-chunking flush, reproduced as it was: one JSON.stringify of every record,
// then one writeFile of the text (temporary file, fsync, rename). "after" is FileLocationStore's
// flush() as shipped. For each, perf_hooks' monitorEventLoopDelay (1 ms resolution) gives the
// longest stall of the event loop during the flush, and eventLoopUtilization() the time the loop
// was busy with JavaScript. Median of rounds.
import { mkdtempSync, rmSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { FileLocationStore } from '../dist/stores/file/index.js';

const { values } = parseArgs({ options: { aors: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '3' } } });
const AORS = Number(values.aors);
const ROUNDS = Number(values.rounds);

const dir = mkdtempSync(join(tmpdir(), 'sipway-flush-bench-'));
const path = join(dir, 'bindings.json');
const now = Date.now();
// flushIntervalMs at its maximum: only the flushes this script asks for are measured.
const store = await FileLocationStore.open({ path, flushIntervalMs: 3_600_000 });
for (let i = 0; i < AORS; i++) {
  const aor = `sip:user${i}@example.com`;
  const binding = {
    contact: `sip:user${i}@192.0.2.${i % 250}:${5060 + (i % 1000)};transport=udp`,
    expires: now + 3_600_000,
    callId: `${i}-3848276298220188511@192.0.2.${i % 250}`,
    cseq: 1 + (i % 50),
    updated: now,
    params: { '+sip.instance': `"<urn:uuid:00000000-0000-0000-0000-${String(i).padStart(12, '0')}>"`, 'reg-id': '1' },
    source: { transport: 'udp', address: `192.0.2.${i % 250}`, port: 5060 + (i % 1000) },
  };
  await store.save(aor, [binding], { expectedVersion: 0, expiresAt: now + 7_200_000 });
}
const records = await store.list();

async function oldFlush() {
  const text = JSON.stringify({ format: 'sipway.location-snapshot', formatVersion: 1, writtenAt: Date.now(), records });
  const temporary = `${path}.old.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  await handle.writeFile(text, 'utf8');
  await handle.sync();
  await handle.close();
  await rename(temporary, `${path}.old`);
  return text.length;
}

async function newFlush() {
  // One change marks the store dirty; flush() then writes every record.
  const r = records[0];
  await store.save(r.aor, r.bindings, { expectedVersion: (await store.lookup(r.aor)).version, expiresAt: r.expiresAt });
  await store.flush();
}

async function measure(flush) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  // A timer keeps the loop ticking, so a stall shows as one late tick.
  const ticker = setInterval(() => {}, 1);
  await new Promise((r) => setTimeout(r, 50));
  histogram.enable();
  const elu = performance.eventLoopUtilization();
  const t0 = performance.now();
  await flush();
  const wall = performance.now() - t0;
  const busy = performance.eventLoopUtilization(elu);
  histogram.disable();
  clearInterval(ticker);
  return { wall, busyMs: busy.active, maxStallMs: histogram.max / 1e6, p99StallMs: histogram.percentile(99) / 1e6 };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = { before: [], after: [] };
for (let round = 0; round < ROUNDS; round++) {
  results.before.push(await measure(oldFlush));
  results.after.push(await measure(newFlush));
}
const rows = Object.entries(results).map(([name, runs]) => ({
  name,
  wall: median(runs.map((r) => r.wall)),
  busy: median(runs.map((r) => r.busyMs)),
  max: median(runs.map((r) => r.maxStallMs)),
  p99: median(runs.map((r) => r.p99StallMs)),
}));
const size = (await open(path)).stat().then((s) => s.size);
console.log(`# File store flush: event-loop blocking at ${AORS.toLocaleString('en')} AORs (one binding each)\n`);
console.log('| flush | wall ms | JS busy ms | longest stall ms | p99 stall ms |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.name} | ${r.wall.toFixed(0)} | ${r.busy.toFixed(0)} | ${r.max.toFixed(1)} | ${r.p99.toFixed(1)} |`);
console.log(`\nsnapshot ${((await size) / 1e6).toFixed(1)} MB, median of ${ROUNDS} rounds; Node ${process.version}`);
await store.close();
rmSync(dir, { recursive: true, force: true });
