#!/usr/bin/env node
/**
 * `pnpm bench:media`: runs every relay driver of this folder (bench/*.mjs but this file), or
 * those named on the command line (`node bench/run.mjs builtin netsip`), one after the other,
 * each at 100, 500 and 1000 concurrent streams (`--streams`, `--seconds` are passed on), and
 * prints their JSON lines as a Markdown table. A driver prints one JSON line
 * `{ relay, streams, pps, cpuUsPerPacket, loss, jitterMs }` per level (see lib/generator.mjs);
 * adding a relay is adding a file here. `--repeat N` runs each driver N times and keeps the best
 * run per level.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const all = process.argv.slice(2).filter((a) => a !== '--');
// --repeat N: run each driver N times and keep, per level, the least disturbed run (most packets
// relayed, then least CPU): on a shared box the other runs measure the neighbours.
const r = all.indexOf('--repeat');
const repeat = r < 0 ? 1 : Math.max(1, Number(all[r + 1]));
const args = r < 0 ? all : [...all.slice(0, r), ...all.slice(r + 2)];
const names = args.filter((a) => !a.startsWith('--') && !/^\d/.test(a));
const passOn = args.filter((a) => !names.includes(a));
const drivers = (names.length > 0 ? names.map((n) => `${n.replace(/\.mjs$/, '')}.mjs`) : readdirSync(here).filter((f) => f.endsWith('.mjs') && f !== 'run.mjs').sort());

function run(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(here, file), ...passOn], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stderr.write(d);
    });
    // Bounded: no driver runs longer than 5 minutes.
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.once('exit', () => {
      clearTimeout(timer);
      const rows = [];
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          rows.push(JSON.parse(line));
        } catch {
          // not a result line
        }
      }
      resolve(rows);
    });
  });
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const before = load();
const rows = [];
for (const file of drivers) {
  const best = new Map();
  for (let i = 0; i < repeat; i++) {
    for (const row of await run(file)) {
      const key = row.streams;
      const old = best.get(key);
      const better =
        old === undefined ||
        (old.error !== undefined && row.error === undefined) ||
        (row.error === undefined && (row.pps > old.pps || (row.pps === old.pps && (row.cpuUsPerPacket ?? Infinity) < (old.cpuUsPerPacket ?? Infinity))));
      if (better) best.set(key, row);
    }
  }
  rows.push(...[...best.values()].sort((x, y) => x.streams - y.streams));
}
const after = load();

const cell = (v, digits) => (v === null || v === undefined ? '—' : typeof v === 'number' && digits !== undefined ? v.toFixed(digits) : String(v));
const lines = [
  '| Relay | Streams | Relayed packets/s | CPU µs per packet | Loss | Added jitter (ms) |',
  '|---|---:|---:|---:|---:|---:|',
  ...rows.map((r) =>
    r.error !== undefined
      ? `| ${r.relay} | ${cell(r.streams)} | failed: ${r.error} | | | |`
      : `| ${r.relay} | ${r.streams} | ${r.pps} of ${cell(r.offeredPps)} | ${cell(r.cpuUsPerPacket, 2)} | ${cell(r.loss === null ? null : r.loss * 100, 2)}% | ${cell(r.jitterMs, 2)} |`,
  ),
];
process.stdout.write(`\n${lines.join('\n')}\n\nLoad average (1, 5, 15 min) before: ${before}; after: ${after}; ${new Date().toISOString()}\n`);
