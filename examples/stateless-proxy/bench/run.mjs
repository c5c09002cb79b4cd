// Proxy benchmark: sipp load UAC → proxy → UAS over loopback, 7 messages per call (INVITE, 100,
// 180, 200, ACK, BYE, 200 — see uac.xml/uas.xml), UDP then TCP, through Kamailio (forward() only),
// Net::SIP's stateless_proxy.pl, a bare node:dgram relay (UDP) and sipway's example proxy.
//
// For each proxy and transport the call rate is stepped up until a step has ≥ 0.1% failed calls
// (or sipp cannot reach the rate); the highest passing step is the max rate. CPU per call is the
// proxy's process tree utime+stime from /proc/<pid>/stat over the load window, divided by calls.
//
// Usage (after `pnpm build`): node bench/run.mjs [--only name,...] [--transport udp|tcp]
//   [--step-seconds N] [--rates r1,r2,...] [--out results.md]
// Every loop is bounded (steps, calls, seconds); every process started here is killed at the end.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const exampleDir = join(here, '..');
const { values: opts } = parseArgs({
  options: {
    only: { type: 'string' },
    transport: { type: 'string' },
    'step-seconds': { type: 'string', default: '4' },
    rates: { type: 'string', default: '100,250,500,1000,1500,2000,3000,4000,5000,6000' },
    'cpu-rates': { type: 'string', default: '1000,2000' },
    out: { type: 'string', default: join(here, 'results.md') },
    // CPU that processes other than this benchmark's may spend during a step, in cores (0.1 = 10% of
    // one core). A step over it is measured again after a pause, and reported as busy if it still is:
    // a loaded box inflates every proxy's CPU per call (Kamailio's most), which flatters the slower one.
    'max-foreign-cpu': { type: 'string', default: '0.1' },
  },
});
const maxForeignCpu = Math.max(Number(opts['max-foreign-cpu']) || 0.1, 0.01);
const stepSeconds = Math.min(Math.max(Number(opts['step-seconds']), 1), 30);
const rates = opts.rates.split(',').map(Number).filter((r) => r > 0).slice(0, 20);
// CPU per call depends on the rate (wake-ups are batched at higher rates), so proxies are compared
// at the same rates; Net::SIP tops out below 1000/s, hence also its max rate column.
const cpuRates = opts['cpu-rates'].split(',').map(Number).filter((r) => r > 0).slice(0, 4);
const warmRate = 100;
const transports = opts.transport ? [opts.transport] : ['udp', 'tcp'];
const only = opts.only ? opts.only.split(',') : undefined;
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim()) || 100;
const FAIL_LIMIT = 0.001;
// sipp's socket buffers (bytes): large, so the load generator's own UDP drops do not count against a
// proxy. The proxies keep their defaults (Kamailio tunes its own; Node uses net.core.rmem_default).
const SIPP_BUFFER = 4 * 1024 * 1024;

const PROXY_HOST = '127.0.0.1';
const UAC_HOST = '127.0.0.1';
const UAS_HOST = '127.0.0.3';
const work = mkdtempSync(join(tmpdir(), 'sipway-bench-'));

// ---- process bookkeeping: every child in its own process group, all killed on the way out ----
const children = new Set();
function start(cmd, args, { cwd = here, name = cmd } = {}) {
  const child = spawn(cmd, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.label = name;
  child.out = '';
  const keep = (d) => {
    child.out = (child.out + d.toString()).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  children.add(child);
  child.done = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  child.done.then(() => children.delete(child));
  return child;
}
function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}
async function stop(child, graceMs = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  killGroup(child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
  await child.done;
  clearTimeout(timer);
  killGroup(child, 'SIGKILL'); // forked workers (Kamailio) that outlived their parent
}
function killAllNow() {
  for (const c of children) killGroup(c, 'SIGKILL');
}
process.on('exit', () => {
  killAllNow();
  if (!process.env.BENCH_KEEP) rmSync(work, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killAllNow();
    process.exit(130);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- /proc helpers ----
function procStat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // after "pid (comm) ": state=0 ppid=1 … utime=11 stime=12
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}
function allStats() {
  const stats = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = procStat(Number(d));
    if (st) stats.set(Number(d), st);
  }
  return stats;
}
/** The pids of root and every descendant. */
function descendants(stats, root) {
  const inTree = new Set([root]);
  let grew = true;
  for (let i = 0; grew && i < 10; i++) {
    grew = false;
    for (const [pid, st] of stats) {
      if (!inTree.has(pid) && inTree.has(st.ppid)) {
        inTree.add(pid);
        grew = true;
      }
    }
  }
  return inTree;
}
/** utime+stime (clock ticks) of pid and every descendant. */
function treeTicks(root) {
  const stats = allStats();
  let ticks = 0;
  for (const pid of descendants(stats, root)) ticks += stats.get(pid)?.ticks ?? 0;
  return ticks;
}
/**
 * Ticks of every process that is not this benchmark or one of its children (other jobs on the box).
 * Compared between two snapshots: a process seen in both counts its delta, a new one all its ticks.
 */
function foreignSnapshot() {
  const stats = allStats();
  const ours = descendants(stats, process.pid);
  const ticks = new Map();
  for (const [pid, st] of stats) if (!ours.has(pid)) ticks.set(pid, st.ticks);
  return ticks;
}
function foreignTicksSince(before) {
  let sum = 0;
  for (const [pid, t] of foreignSnapshot()) sum += Math.max(0, t - (before.get(pid) ?? 0));
  return sum;
}
function loadavg() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
function listening(port, transport) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const file = transport === 'udp' ? '/proc/net/udp' : '/proc/net/tcp';
  return readFileSync(file, 'utf8')
    .split('\n')
    .some((l) => {
      const cols = l.trim().split(/\s+/);
      return cols[1]?.endsWith(`:${hex}`) && (transport === 'udp' || cols[3] === '0A');
    });
}
async function waitListening(child, port, transport, ms = 10_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${child.label} exited early: ${child.out}`);
    if (listening(port, transport)) return;
    await sleep(50);
  }
  throw new Error(`${child.label} not listening on ${transport}:${port} after ${ms} ms: ${child.out}`);
}
let nextPort = 20000 + Math.floor(Math.random() * 20000);
function freePort() {
  for (let i = 0; i < 200; i++) {
    const p = nextPort++;
    if (!listening(p, 'udp') && !listening(p, 'tcp')) return p;
  }
  throw new Error('no free port');
}

// ---- the proxies ----
// Debian ships it under the package's doc examples (uncompressed in libnet-sip-perl 0.83x).
const netsipScript = [
  '/usr/share/doc/libnet-sip-perl/examples/bin/stateless_proxy.pl',
  '/usr/share/doc/libnet-sip-perl/examples/stateless_proxy.pl',
].find((p) => existsSync(p));
const sipwayMain = join(exampleDir, 'dist', 'main.js');

const proxies = [
  // Kamailio twice: with Debian's build defaults (q_malloc for shared and private memory), and
  // with TLSF, the allocator an operator picks for load (-x/-X). q_malloc's free-list search is
  // most of its CPU per call here (perf: 57% in qm_malloc), so the second row is the one to beat.
  ...[
    { name: 'Kamailio', alloc: [], note: 'q_malloc, the Debian default' },
    { name: 'Kamailio-tlsf', alloc: ['-x', 'tlsf', '-X', 'tlsf'], note: '-x tlsf -X tlsf' },
  ].map(({ name, alloc, note }) => ({
    name,
    label: () => `Kamailio ${(spawnSync('kamailio', ['-v']).stdout?.toString().match(/kamailio (\S+)/) ?? [])[1] ?? '?'} (forward() only, 1 worker, ${note})`,
    available: () => spawnSync('kamailio', ['-v']).status === 0 || 'kamailio not installed',
    transports: ['udp', 'tcp'],
    start(port) {
      const dir = mkdtempSync(join(work, 'kamailio-'));
      const cfg = readFileSync(join(here, 'kamailio.cfg.tmpl'), 'utf8').replaceAll('@HOST@', PROXY_HOST).replaceAll('@PORT@', String(port));
      writeFileSync(join(dir, 'kamailio.cfg'), cfg);
      return start('kamailio', ['-f', join(dir, 'kamailio.cfg'), '-DD', '-E', '-Y', dir, '-m', '64', '-M', '8', ...alloc], { name: 'kamailio' });
    },
  })),
  {
    name: 'Net::SIP',
    label: (transport) => (transport === 'udp' ? 'Net::SIP stateless_proxy.pl (Perl)' : 'Net::SIP StatelessProxy on a TCP leg (Perl)'),
    available: () => (netsipScript ? true : 'stateless_proxy.pl not found (apt install libnet-sip-perl)'),
    transports: ['udp', 'tcp'],
    start(port, transport) {
      // stateless_proxy.pl legs are UDP only; TCP runs the same StatelessProxy class on a TCP leg.
      return transport === 'udp'
        ? start('perl', [netsipScript, '--leg', `${PROXY_HOST}:${port}`], { name: 'stateless_proxy.pl' })
        : start('perl', [join(here, 'netsip-tcp-proxy.pl'), PROXY_HOST, String(port)], { name: 'netsip-tcp-proxy.pl' });
    },
  },
  {
    name: 'dgram',
    label: () => 'bare node:dgram relay (parses nothing)',
    available: () => true,
    transports: ['udp'],
    start(port, _t, uasPort) {
      return start(process.execPath, [join(here, 'dgram-relay.mjs'), PROXY_HOST, String(port), UAS_HOST, String(uasPort)], { name: 'dgram-relay' });
    },
  },
  // sipway with one worker (one process, as Kamailio's one worker above) and with one per core.
  ...[1, 2].map((workers) => ({
    name: workers === 1 ? 'sipway' : `sipway-w${workers}`,
    label: () => `sipway example proxy (Node.js, ${workers === 1 ? '1 process' : `--workers ${workers}`})`,
    available: () =>
      !existsSync(sipwayMain)
        ? 'examples/stateless-proxy not built (pnpm build)'
        : workers === 1 || spawnSync(process.execPath, [sipwayMain, '--help']).stdout?.toString().includes('--workers') || 'this build has no --workers',
    transports: ['udp', 'tcp'],
    start(port, transport) {
      // The load comes from one address: the default per-source rate limit (50/s) is off here,
      // as Kamailio's forward() has none either.
      const args = [sipwayMain, '--leg', `${transport}:${PROXY_HOST}:${port}`, '--domain', '*', '--rate-limit', 'off', '--log-level', 'warn'];
      if (spawnSync(process.execPath, [sipwayMain, '--help']).stdout?.toString().includes('--workers')) args.push('--workers', String(workers));
      return start(process.execPath, args, { name: 'sipway' });
    },
  })),
];

// ---- one load step ----
async function step({ transport, proxyPort, uasPort, rate, proxyPid, seconds = stepSeconds }) {
  const calls = Math.max(10, Math.round(rate * seconds));
  const statFile = join(work, `stat-${proxyPort}-${rate}-${transport}.csv`);
  const hardLimitS = seconds + 20;
  const uacPort = freePort();
  const t0 = Date.now();
  const foreign0 = foreignSnapshot();
  const ticks0 = treeTicks(proxyPid);
  const uac = start('sipp', [
    `${UAS_HOST}:${uasPort}`, '-sf', join(here, 'uac.xml'), '-s', 'bench', '-i', UAC_HOST, '-p', String(uacPort),
    '-t', transport === 'udp' ? 'u1' : 't1', '-rsa', `${PROXY_HOST}:${proxyPort}`,
    '-m', String(calls), '-r', String(rate), '-rp', '1000', '-l', String(Math.max(100, rate * 4)),
    '-recv_timeout', '5000', '-timeout', `${hardLimitS}s`, '-nostdin', '-max_socket', '4096', '-buff_size', String(SIPP_BUFFER),
    '-trace_stat', '-stf', statFile, '-fd', '1', '-trace_err', '-error_file', `${statFile}.err`,
  ], { name: 'sipp uac' });
  const killer = setTimeout(() => killGroup(uac, 'SIGKILL'), (hardLimitS + 5) * 1000);
  const { code } = await uac.done;
  clearTimeout(killer);
  const elapsed = (Date.now() - t0) / 1000;
  // A proxy that died mid-step leaves the tree: its ticks vanish and the delta is meaningless.
  const alive = procStat(proxyPid) !== undefined;
  const ticks = alive ? Math.max(0, treeTicks(proxyPid) - ticks0) : NaN;
  const foreignCpu = foreignTicksSince(foreign0) / CLK_TCK / elapsed;
  let ok = 0;
  let failed = calls;
  try {
    const lines = readFileSync(statFile, 'utf8').trim().split('\n');
    const head = lines[0].split(';');
    const last = lines[lines.length - 1].split(';');
    ok = Number(last[head.indexOf('SuccessfulCall(C)')]);
    failed = Number(last[head.indexOf('FailedCall(C)')]);
  } catch {
    /* no stats: counted as all failed */
  }
  const unfinished = Math.max(0, calls - ok - failed);
  const failRatio = (failed + unfinished) / calls;
  return {
    rate, calls, ok, failed: failed + unfinished, unfinished, elapsed, sippCode: code,
    achieved: ok / elapsed,
    cpuMsPerCall: ok > 0 ? (ticks * 1000) / CLK_TCK / ok : NaN,
    cpuShare: (ticks / CLK_TCK) / elapsed,
    foreignCpu,
    busy: foreignCpu > maxForeignCpu,
    pass: alive && failRatio < FAIL_LIMIT,
  };
}

async function runOne(proxy, transport) {
  const uasPort = freePort();
  const proxyPort = freePort();
  const uas = start('sipp', ['-sf', join(here, 'uas.xml'), '-i', UAS_HOST, '-p', String(uasPort), '-t', transport === 'udp' ? 'u1' : 't1', '-nostdin', '-max_socket', '4096', '-buff_size', String(SIPP_BUFFER)], { name: 'sipp uas' });
  const px = proxy.start(proxyPort, transport, uasPort);
  const steps = [];
  try {
    await waitListening(uas, uasPort, transport);
    await waitListening(px, proxyPort, transport);
    await sleep(300);
    // Warm-up, not counted: JIT compilation (Node, Perl's first calls) and connection set-up
    // would otherwise be billed to the first measured step.
    const warm = await step({ transport, proxyPort, uasPort, rate: warmRate, proxyPid: px.pid, seconds: 2 });
    process.stdout.write(`  ${proxy.name} ${transport} warm-up ${warmRate}/s: ${warm.ok}/${warm.calls} ok\n`);
    await sleep(500);
    for (const rate of rates) {
      let r = await step({ transport, proxyPort, uasPort, rate, proxyPid: px.pid });
      for (let retry = 0; r.busy && retry < 2; retry++) {
        process.stdout.write(`  ${proxy.name} ${transport} ${rate}/s: box busy (others used ${(r.foreignCpu * 100).toFixed(0)}% of a core), measuring again\n`);
        await sleep(5000);
        r = await step({ transport, proxyPort, uasPort, rate, proxyPid: px.pid });
      }
      steps.push(r);
      process.stdout.write(
        `  ${proxy.name} ${transport} ${rate}/s: ${r.ok}/${r.calls} ok, ${r.failed} failed (${r.unfinished} unfinished, sipp exit ${r.sippCode}), ${r.cpuMsPerCall.toFixed(3)} ms CPU/call, proxy CPU ${(r.cpuShare * 100).toFixed(0)}%, others ${(r.foreignCpu * 100).toFixed(0)}%\n`,
      );
      // A step measured on a busy box says nothing about the proxy: not reported, and the rate
      // sweep ends there rather than counting it as a pass or a failure.
      if (r.busy) break;
      if (!r.pass) break;
      if (px.exitCode !== null) throw new Error(`${px.label} died: ${px.out}`);
      await sleep(500);
    }
  } catch (err) {
    process.stdout.write(`  ${proxy.name} ${transport}: ${err.message.split('\n')[0]}\n`);
    return { error: err.message.split('\n')[0], steps };
  } finally {
    await stop(px);
    await stop(uas);
  }
  return { steps };
}

function summarize(res) {
  if (!res) return { max: '—', cpu: cpuRates.map(() => '—'), cpuAtMax: '—' };
  const passed = res.steps.filter((s) => s.pass && !s.busy);
  const best = passed.at(-1);
  const topped = best && best === res.steps.at(-1) && best.rate === rates.at(-1);
  const busyAt = res.steps.find((s) => s.busy);
  return {
    max: busyAt ? `busy at ${busyAt.rate}` : best ? `${best.rate}${topped ? '+' : ''}` : res.error ? 'error' : '< ' + rates[0],
    cpu: cpuRates.map((r) => {
      const s = res.steps.find((x) => x.rate === r && x.pass && !x.busy);
      return s ? s.cpuMsPerCall.toFixed(3) : '—';
    }),
    cpuAtMax: best ? best.cpuMsPerCall.toFixed(3) : '—',
  };
}

const results = new Map();
const loadBefore = loadavg();
const header = `Proxy benchmark, ${new Date().toISOString().slice(0, 16)}Z, ${cpus().length} × ${cpus()[0]?.model.trim()}, node ${process.version}, load average before ${loadBefore}\n`;
process.stdout.write(header);
for (const transport of transports) {
  for (const proxy of proxies) {
    if (only && !only.includes(proxy.name)) continue;
    if (!proxy.transports.includes(transport)) continue;
    const avail = proxy.available();
    if (avail !== true) {
      process.stdout.write(`  ${proxy.name} ${transport}: skipped, ${avail}\n`);
      results.set(`${proxy.name}/${transport}`, { skipped: avail });
      continue;
    }
    results.set(`${proxy.name}/${transport}`, await runOne(proxy, transport));
  }
}

const lines = [
  `| Proxy | Transport | Max calls/s (< 0.1% failed) | ${cpuRates.map((r) => `CPU ms/call at ${r}/s`).join(' | ')} | CPU ms/call at max rate |`,
  `|---|---|---:|${cpuRates.map(() => '---:|').join('')}---:|`,
];
for (const transport of transports) {
  for (const proxy of proxies) {
    const res = results.get(`${proxy.name}/${transport}`);
    if (!res) continue;
    if (res.skipped) {
      lines.push(`| ${proxy.label(transport)} | ${transport.toUpperCase()} | skipped: ${res.skipped} |${cpuRates.map(() => ' |').join('')} |`);
      continue;
    }
    const s = summarize(res);
    lines.push(`| ${proxy.label(transport)} | ${transport.toUpperCase()} | ${s.max} | ${s.cpu.join(' | ')} | ${s.cpuAtMax} |`);
  }
}
// Ratios of CPU per call in this run: sipway over each peer, at each measured rate.
const cpuAt = (name, transport, rate) => {
  const res = results.get(`${name}/${transport}`);
  const step = res?.steps?.find((x) => x.rate === rate && x.pass && !x.busy);
  return step?.cpuMsPerCall;
};
const ratioLines = [];
for (const transport of transports) {
  for (const rate of cpuRates) {
    const ours = cpuAt('sipway', transport, rate);
    if (ours === undefined) continue;
    const parts = ['Kamailio-tlsf', 'Kamailio', 'dgram']
      .map((peer) => [peer, cpuAt(peer, transport, rate)])
      .filter(([, v]) => v !== undefined)
      .map(([peer, v]) => `${(ours / v).toFixed(2)}× ${peer}`);
    if (parts.length > 0) ratioLines.push(`- ${transport.toUpperCase()} at ${rate}/s: sipway ${ours.toFixed(3)} ms/call = ${parts.join(', ')}`);
  }
}
const table = lines.join('\n');
const loadAfter = loadavg();
const md = [
  '# Proxy benchmark results',
  '',
  header.trim(),
  '',
  table,
  '',
  'CPU per call, sipway (1 process) over the peers in this run:',
  '',
  ...ratioLines,
  '',
  `sipp UAC → proxy → sipp UAS on loopback (UAC ${UAC_HOST}, proxy ${PROXY_HOST}, UAS ${UAS_HOST}); 7 messages per call`,
  '(INVITE, 100, 180, 200, ACK, BYE, 200), each through the proxy once. Steps of ' + stepSeconds + ' s at ' + rates.join(', ') + ' calls/s;',
  'a step passes with under 0.1% failed or unfinished calls; "+" means the last step passed (sipp, not the proxy, is the limit).',
  'CPU is utime+stime of the proxy process and its children from /proc over the step, divided by successful calls;',
  'each proxy first gets an unmeasured 2 s warm-up at ' + warmRate + ' calls/s. "—": that rate was not reached.',
  'sipp UAC, sipp UAS and the proxy share the same cores, so the max rate also reflects sipp\'s own load.',
  `Load average (1, 5, 15 min) before the run ${loadBefore}, after ${loadAfter} (the run's own load included).`,
  `A step during which other processes used more than ${(maxForeignCpu * 100).toFixed(0)}% of a core is measured again after 5 s (twice at most),`,
  'and if the box is still busy, reported as "busy at <rate>" instead of a figure.',
  '',
  '<details><summary>All steps</summary>',
  '',
  '| Proxy | Transport | Rate | Calls | OK | Failed | s | CPU ms/call | proxy CPU % | others CPU % |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...[...results].flatMap(([k, r]) =>
    (r.steps ?? []).map((s) => `| ${k.split('/')[0]} | ${k.split('/')[1].toUpperCase()} | ${s.rate} | ${s.calls} | ${s.ok} | ${s.failed} | ${s.elapsed.toFixed(1)} | ${s.cpuMsPerCall.toFixed(3)} | ${(s.cpuShare * 100).toFixed(0)} | ${(s.foreignCpu * 100).toFixed(0)}${s.busy ? ' (busy)' : ''} |`),
  ),
  '',
  '</details>',
  '',
].join('\n');
writeFileSync(opts.out, md);
process.stdout.write('\n' + table + '\n\n' + ratioLines.join('\n') + `\n\nload average before ${loadBefore}, after ${loadAfter}\nwritten to ` + opts.out + '\n');
killAllNow();
process.exit(0);
