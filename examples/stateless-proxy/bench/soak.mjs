// Memory soak: sipway's example proxy under a steady sipp load (UAC → proxy → UAS over loopback,
// the 7-message calls of run.mjs) for a fixed time, its RSS sampled all along. The caches on the
// hot path (Record-Route signatures, resolver, tokens) are bounded; this shows it holds: RSS at
// idle after start-up, every sample under load, and at idle again after the load.
//
// Usage (after `pnpm build`): node bench/soak.mjs [--seconds 600] [--rate 2000] [--transport udp|tcp]
//   [--workers N] [--out soak.md]
// Bounded: the load runs --seconds (at most 3600), sipp has a hard timeout, everything started
// here is killed on the way out.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '600' },
    rate: { type: 'string', default: '2000' },
    transport: { type: 'string', default: 'udp' },
    workers: { type: 'string' },
    'sample-seconds': { type: 'string', default: '10' },
    out: { type: 'string', default: join(here, 'soak.md') },
  },
});
const seconds = Math.min(Math.max(Number(opts.seconds) || 600, 10), 3600);
const rate = Math.min(Math.max(Number(opts.rate) || 2000, 10), 10_000);
const transport = opts.transport === 'tcp' ? 'tcp' : 'udp';
const sampleMs = Math.max(Number(opts['sample-seconds']) || 10, 1) * 1000;
const work = mkdtempSync(join(tmpdir(), 'sipway-soak-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const children = new Set();
function start(cmd, args) {
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.out = '';
  const keep = (d) => (child.out = (child.out + d.toString()).slice(-8000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  children.add(child);
  child.done = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return child;
}
const killAll = () => {
  for (const c of children) {
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
};
process.on('exit', () => {
  killAll();
  rmSync(work, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

/** RSS in KiB of pid and its descendants (the workers of --workers N). */
function treeRssKiB(root) {
  const parents = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      parents.set(Number(d), Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const tree = new Set([root]);
  for (let grew = true, i = 0; grew && i < 5; i++) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (!tree.has(pid) && tree.has(ppid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  let kib = 0;
  for (const pid of tree) {
    try {
      kib += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return kib;
}
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const port = () => 20000 + Math.floor(Math.random() * 20000);

const proxyPort = port();
const uasPort = proxyPort + 1;
const uacPort = proxyPort + 2;
const t = transport === 'udp' ? 'u1' : 't1';
const uas = start('sipp', ['-sf', join(here, 'uas.xml'), '-i', '127.0.0.3', '-p', String(uasPort), '-t', t, '-nostdin', '-max_socket', '4096', '-buff_size', String(4 << 20)]);
const proxyArgs = [join(here, '..', 'dist', 'main.js'), '--leg', `${transport}:127.0.0.1:${proxyPort}`, '--domain', '*', '--rate-limit', 'off', '--log-level', 'warn'];
if (opts.workers !== undefined) proxyArgs.push('--workers', opts.workers);
const proxy = start(process.execPath, proxyArgs);
await sleep(3000);
if (proxy.exitCode !== null) throw new Error(`proxy exited: ${proxy.out}`);
if (uas.exitCode !== null) throw new Error(`sipp UAS exited: ${uas.out}`);
const idleBefore = treeRssKiB(proxy.pid);
const loadBefore = loadavg();
process.stdout.write(`soak: ${rate} calls/s for ${seconds} s over ${transport}; proxy RSS at idle ${(idleBefore / 1024).toFixed(1)} MiB, load ${loadBefore}\n`);

const calls = rate * seconds;
const stat = join(work, 'stat.csv');
const started = Date.now();
const uac = start('sipp', [
  `127.0.0.3:${uasPort}`, '-sf', join(here, 'uac.xml'), '-s', 'bench', '-i', '127.0.0.1', '-p', String(uacPort), '-t', t,
  '-rsa', `127.0.0.1:${proxyPort}`, '-m', String(calls), '-r', String(rate), '-rp', '1000', '-l', String(rate * 4),
  '-recv_timeout', '5000', '-timeout', `${seconds + 60}s`, '-nostdin', '-max_socket', '4096', '-buff_size', String(4 << 20),
  '-trace_stat', '-stf', stat, '-fd', '10',
]);
const samples = [];
const sampler = setInterval(() => {
  const s = { t: Math.round((Date.now() - started) / 1000), rssKiB: treeRssKiB(proxy.pid) };
  samples.push(s);
  process.stdout.write(`  ${String(s.t).padStart(4)} s: RSS ${(s.rssKiB / 1024).toFixed(1)} MiB\n`);
}, sampleMs);
const killer = setTimeout(() => process.kill(-uac.pid, 'SIGKILL'), (seconds + 90) * 1000);
await uac.done;
clearTimeout(killer);
clearInterval(sampler);
const elapsed = (Date.now() - started) / 1000;
let ok = 0;
let failed = 0;
try {
  const lines = readFileSync(stat, 'utf8').trim().split('\n');
  const head = lines[0].split(';');
  const last = lines.at(-1).split(';');
  ok = Number(last[head.indexOf('SuccessfulCall(C)')]);
  failed = Number(last[head.indexOf('FailedCall(C)')]);
} catch {
  /* no stats */
}
await sleep(5000);
const idleAfter = treeRssKiB(proxy.pid);
const loadAfter = loadavg();
killAll();

const mib = (k) => (k / 1024).toFixed(1);
const underLoad = samples.filter((s) => s.t >= 30);
const firstSample = underLoad[0] ?? samples[0];
const firstLoaded = firstSample?.rssKiB ?? 0;
const maxLoaded = Math.max(...samples.map((s) => s.rssKiB), 0);
const lastLoaded = samples.at(-1)?.rssKiB ?? 0;
const growth = firstLoaded > 0 ? ((lastLoaded - firstLoaded) / firstLoaded) * 100 : NaN;
const summary = [
  '# Memory soak',
  '',
  `${new Date().toISOString().slice(0, 16)}Z, ${cpus().length} × ${cpus()[0]?.model.trim()}, node ${process.version}; load average before ${loadBefore}, after ${loadAfter}.`,
  `sipp ${rate} calls/s for ${seconds} s over ${transport.toUpperCase()} through \`${proxyArgs.slice(1).join(' ')}\`: ${ok} calls ok, ${failed} failed, in ${elapsed.toFixed(0)} s.`,
  '',
  '| RSS (proxy and its workers) | MiB |',
  '|---|---:|',
  `| idle after start-up | ${mib(idleBefore)} |`,
  `| under load, at ${firstSample?.t ?? 0} s | ${mib(firstLoaded)} |`,
  `| under load, highest | ${mib(maxLoaded)} |`,
  `| under load, last sample (${samples.at(-1)?.t ?? 0} s) | ${mib(lastLoaded)} |`,
  `| idle, 5 s after the load | ${mib(idleAfter)} |`,
  '',
  `Growth under load from ${firstSample?.t ?? 0} s to the end: ${growth.toFixed(1)}%.`,
  '',
  '<details><summary>Samples</summary>',
  '',
  '| s | RSS MiB |',
  '|---:|---:|',
  ...samples.map((s) => `| ${s.t} | ${mib(s.rssKiB)} |`),
  '',
  '</details>',
  '',
].join('\n');
writeFileSync(opts.out, summary);
process.stdout.write(`\n${summary}\nwritten to ${opts.out}\n`);
process.exit(0);
