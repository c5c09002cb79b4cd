// Benchmark of @sipway/sip-message against the SIP parsers on npm (issue 2 §4).
//
//   node bench/run.mjs            full run (each cell: 1.5 s warm-up, 30 rounds of ~150 ms)
//   node bench/run.mjs --quick    smoke run (each cell: 0.6 s warm-up, 7 rounds of ~80 ms; too
//                                 short for stable figures)
//   SIPWAY_DIST_B=/tmp/other/index.js node bench/run.mjs --only=sipway,sipwayB
//                                 A/B: a second build of ours in the same interleaved rounds
//   node bench/run.mjs --nice     workers ask for a higher CPU priority (nice -10; needs the
//                                 right to do so, else ignored): on a machine shared with other
//                                 jobs this keeps neighbours from taking the timed rounds' CPU
//   node bench/run.mjs --only=sipway,sip
//   node bench/run.mjs --worker=sipway --workload=3   one cell in this process (for --cpu-prof)
//
// Each (parser, workload) cell runs in its own child process so that JIT state and heap left
// by one library cannot slow down another; rounds are taken from the cells in turn. Before any timing, a correctness guard checks that
// every adapter reads the same proxy fields from the corpus and that every forwarded message
// carries the proxy's edits, so that no adapter measures a no-op.
import { execFileSync, fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { corpus, corpusBytes } from './corpus.mjs';
import { PROXY_VIA_BRANCH } from './adapters/proxy-edits.mjs';
import { SETTINGS, measure, summarize, timeRound, warmUp } from './measure.mjs';

const ADAPTERS = {
  sipway: () => import('./adapters/sipway.mjs'),
  sip: () => import('./adapters/sip.mjs'),
  drachtio: () => import('./adapters/drachtio.mjs'),
  jssip: () => import('./adapters/jssip.mjs'),
  sipjs: () => import('./adapters/sipjs.mjs'),
};
// --ab=/path/to/index.js (or SIPWAY_DIST_B): a second build of ours timed alongside, to measure
// a change against the current one with the same interleaved rounds.
const AB_DIST = process.env.SIPWAY_DIST_B;
const AB_ID = 'sipwayB';
if (AB_DIST) ADAPTERS[AB_ID] = () => import('./adapters/sipway.mjs');
const OURS = 'sipway';
const WORKLOADS = [
  { id: 1, title: '1. parse' },
  { id: 2, title: '2. parse + proxy reads' },
  { id: 3, title: '3. forward round trip' },
];

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, v ?? true];
  }),
);
const quick = args.has('quick');
const settings = quick ? SETTINGS.quick : SETTINGS.full;

/** Prevents the JIT from dropping work whose result is unused. */
let sink = 0;

function fresh() {
  return {
    branch: undefined, fromTag: undefined, toTag: undefined, callId: undefined,
    cseq: undefined, method: undefined, maxForwards: undefined, routes: 0,
    routeUri: undefined, contact: undefined, ruriHost: undefined,
  };
}

/** The function one workload times for one adapter: called once per message. */
function workloadFn(adapter, workload) {
  const { parse, read, forward } = adapter;
  const out = fresh();
  if (workload === 1) {
    return (input) => {
      if (parse(input) !== undefined) sink++;
    };
  }
  if (workload === 2) {
    return (input) => {
      read(parse(input), out);
      sink += out.callId.length;
    };
  }
  return (input) => {
    const m = parse(input);
    read(m, out);
    sink += forward(m, out).length;
  };
}

async function loadAdapter(id) {
  const mod = await ADAPTERS[id]();
  return id === AB_ID ? mod.load({ dist: AB_DIST, id: AB_ID }) : mod.load();
}

/** Raises this process's priority (on a busy shared machine); false when not permitted. */
function raisePriority() {
  try {
    setPriority(0, -10);
    return true;
  } catch {
    return false;
  }
}

/**
 * One cell in this process. `--serve` (used by the parent through fork): warm up, report
 * ready, then time one round each time the parent asks, so that the parent can take rounds
 * from every cell in turn. Without it: warm-up and all rounds here, result on stdout (for
 * `node --cpu-prof bench/run.mjs --worker=sipway --workload=2`).
 */
async function worker(id, workload) {
  const niced = args.has('nice') ? raisePriority() : false;
  const adapter = await loadAdapter(id);
  const inputs = corpus.map((c) => adapter.prepare(c.bytes));
  const fn = workloadFn(adapter, workload);
  if (!args.has('serve')) {
    const result = measure(fn, inputs, settings);
    process.stdout.write(JSON.stringify({ ...result, niced, sink }) + '\n');
    return;
  }
  const passes = warmUp(fn, inputs, settings);
  process.on('message', (msg) => {
    if (msg === 'round') process.send({ round: timeRound(fn, inputs, passes) });
    else process.exit(sink === -1 ? 1 : 0);
  });
  process.send({ ready: true, passes, niced });
}

/** Starts a serving worker and resolves once it has warmed up. */
function startWorker(self, id, workload) {
  const childArgs = [`--worker=${id}`, `--workload=${workload}`, '--serve'];
  if (quick) childArgs.push('--quick');
  if (args.has('nice')) childArgs.push('--nice');
  const child = fork(self, childArgs, { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`worker ${id}/${workload} exited with ${code}`)));
    child.once('message', (msg) => resolve({ child, ...msg }));
  });
}

function askRound(child) {
  return new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`worker exited with ${code} during a round`));
    child.once('exit', onExit);
    child.once('message', (msg) => {
      child.off('exit', onExit);
      resolve(msg.round);
    });
    child.send('round');
  });
}

// ---------------------------------------------------------------- correctness guard

const FIELDS = ['callId', 'cseq', 'method', 'branch', 'fromTag', 'toTag', 'maxForwards', 'routes', 'contact', 'ruriHost'];

/** Contact URIs may be a library's URI object, and some lower-case parameter values. */
function norm(field, v) {
  if (field === 'contact' && v !== undefined) return String(v).toLowerCase();
  return v;
}

/** Reads what the guard checks in a forwarded message, with a parser we trust. */
function makeReference(adapters) {
  const ours = adapters.get(OURS);
  if (ours) {
    return {
      name: ours.name,
      read(bytes) {
        const m = ours.parse(bytes);
        return {
          branches: m.via.map((v) => v.branch), recordRoutes: m.recordRoutes.length,
          routes: m.routes.length, maxForwards: m.maxForwards, callId: m.callId,
          cseq: m.cseq.seq, body: Buffer.from(m.body).toString('latin1'),
        };
      },
    };
  }
  const sip = adapters.get('sip');
  return {
    name: sip.name,
    read(bytes) {
      const m = sip.parse(Buffer.from(bytes).toString('latin1'));
      const h = m.headers;
      return {
        branches: h.via.map((v) => v.params.branch), recordRoutes: (h['record-route'] ?? []).length,
        routes: (h.route ?? []).length,
        maxForwards: h['max-forwards'] === undefined ? undefined : +h['max-forwards'],
        callId: h['call-id'], cseq: h.cseq.seq, body: m.content ?? '',
      };
    },
  };
}

function checkForward(ref, original, forwarded, isRequest) {
  const a = ref.read(original);
  const b = ref.read(forwarded);
  const problems = [];
  const expectEq = (what, got, want) => {
    if (got !== want) problems.push(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  };
  expectEq('Call-ID', b.callId, a.callId);
  expectEq('CSeq', b.cseq, a.cseq);
  expectEq('body', b.body, a.body);
  if (isRequest) {
    expectEq('top Via branch', b.branches[0], PROXY_VIA_BRANCH);
    expectEq('Via count', b.branches.length, a.branches.length + 1);
    expectEq('second Via branch', b.branches[1], a.branches[0]);
    expectEq('Record-Route count', b.recordRoutes, a.recordRoutes + 1);
    expectEq('Max-Forwards', b.maxForwards, a.maxForwards - 1);
    expectEq('Route count', b.routes, Math.max(0, a.routes - 1));
  } else {
    expectEq('Via count', b.branches.length, a.branches.length - 1);
    expectEq('top Via branch', b.branches[0], a.branches[1]);
  }
  return problems;
}

/** @returns {Map<string, Set<number>>} the workloads each adapter passed */
function guard(adapters) {
  const ref = makeReference(adapters);
  const passed = new Map();
  console.log(`Correctness guard (forwarded messages re-read with ${ref.name}):`);
  for (const [id, adapter] of adapters) {
    const ok = new Set([1, 2, 3]);
    const problems = [];
    for (const c of corpus) {
      let m;
      const out = fresh();
      try {
        m = adapter.parse(adapter.prepare(c.bytes));
        if (m === undefined || m === null) throw new Error('parse returned nothing');
        adapter.read(m, out);
      } catch (err) {
        problems.push(`${c.name}: ${err.message}`);
        ok.clear();
        continue;
      }
      for (const f of FIELDS) {
        if (norm(f, out[f]) !== norm(f, c.expect[f])) {
          problems.push(`${c.name}: ${f} = ${JSON.stringify(norm(f, out[f]))}, want ${JSON.stringify(c.expect[f])}`);
          ok.delete(2);
          ok.delete(3);
        }
      }
      if (out.routes > 0 && out.routeUri === undefined) {
        problems.push(`${c.name}: top Route not read`);
        ok.delete(2);
        ok.delete(3);
      }
      if (!adapter.forward) {
        ok.delete(3);
        continue;
      }
      try {
        const bytes = adapter.forward(m, out);
        const bad = checkForward(ref, c.bytes, bytes, c.expect.ruriHost !== undefined);
        for (const p of bad) problems.push(`${c.name}: forwarded ${p}`);
        if (bad.length > 0) ok.delete(3);
      } catch (err) {
        problems.push(`${c.name}: forward threw ${err.message}`);
        ok.delete(3);
      }
    }
    const verdict = problems.length === 0 ? 'ok' : `${problems.length} problem(s)`;
    console.log(`  ${adapter.name}: ${verdict}${adapter.forward ? '' : ' (cannot serialize edits: workload 3 n/a)'}`);
    for (const p of problems) console.log(`    - ${p}`);
    passed.set(id, ok);
  }
  return passed;
}

// ---------------------------------------------------------------- report

/** Which build of ours was measured: the commit of src/ (and whether src/ had local edits). */
function describeBuild() {
  if (process.env.SIPWAY_DIST) return `ours loaded from ${process.env.SIPWAY_DIST}`;
  try {
    const src = fileURLToPath(new URL('../src', import.meta.url));
    const git = (...a) => execFileSync('git', a, { cwd: src, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git('log', '-1', '--format=%h %s', '--', '.');
    const dirty = git('status', '--porcelain', '--', '.') !== '';
    return `ours built from src/ at ${commit}${dirty ? ' (plus uncommitted edits)' : ''}`;
  } catch {
    return 'ours built from src/ (git not available)';
  }
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');

function table(adapters, results, passed, notes) {
  const lines = [];
  lines.push(`| Parser | Input | ${WORKLOADS.map((w) => w.title).join(' | ')} |`);
  lines.push(`|---|---|${WORKLOADS.map(() => '--:').join('|')}|`);
  for (const [id, adapter] of adapters) {
    const cells = WORKLOADS.map((w) => {
      const r = results.get(`${id}:${w.id}`);
      if (r) return `**${fmt(r.median)}** (${fmt(r.min)}–${fmt(r.max)})${r.clean < r.rounds ? ' ⚠' : ''}`;
      if (w.id === 3 && !adapter.forward) return 'n/a';
      return passed.get(id)?.has(w.id) ? 'failed' : 'excluded (guard)';
    });
    const name = id === OURS ? `**${adapter.name}** (ours)` : adapter.name;
    lines.push(`| ${name} | ${adapter.input} | ${cells.join(' | ')} |`);
  }
  if (adapters.has(OURS)) {
    // On medians (the figure the target is about), and on best rounds: a neighbour's load only
    // ever slows a round down, so the best rounds are the least disturbed comparison.
    const ratioRow = (label, stat) => {
      const ratios = WORKLOADS.map((w) => {
        const ours = results.get(`${OURS}:${w.id}`);
        let best;
        for (const [id, adapter] of adapters) {
          const r = results.get(`${id}:${w.id}`);
          if (id !== OURS && id !== AB_ID && r && (!best || r[stat] > best.r[stat])) best = { r, name: adapter.name };
        }
        if (!ours || !best) return '–';
        return `**${(ours[stat] / best.r[stat]).toFixed(2)}×** vs ${best.name}`;
      });
      lines.push(`| ${label} | | ${ratios.join(' | ')} |`);
    };
    ratioRow('ours ÷ fastest competitor (medians)', 'median');
    ratioRow('same on best rounds (max)', 'max');
  }
  for (const n of notes) lines.push('', n);
  return lines.join('\n');
}

async function main() {
  const only = typeof args.get('only') === 'string' ? args.get('only').split(',') : Object.keys(ADAPTERS);
  const adapters = new Map();
  const notes = [];
  for (const id of only) {
    if (!ADAPTERS[id]) throw new Error(`unknown adapter ${id}; known: ${Object.keys(ADAPTERS).join(', ')}`);
    try {
      adapters.set(id, await loadAdapter(id));
    } catch (err) {
      const msg = `${id} not loaded: ${err.message.split('\n')[0]}`;
      console.log(msg);
      notes.push(`_${msg}_`);
    }
  }
  if (adapters.size === 0) throw new Error('no adapter could be loaded');
  const passed = guard(adapters);

  // Every cell is its own process (no JIT state or heap shared between libraries). They warm
  // up one after the other, then the parent takes one round from each in turn, `rounds`
  // times: a busy spell on this shared machine then falls on every parser alike.
  const results = new Map();
  const self = fileURLToPath(import.meta.url);
  const cells = [];
  let niced = false;
  console.log(`\nTiming (${quick ? 'quick' : 'full'}: ${settings.warmupMs} ms warm-up per cell, then ${settings.rounds} rounds of ~${settings.roundMs} ms from each cell in turn)`);
  for (const w of WORKLOADS) {
    for (const [id, adapter] of adapters) {
      if (!passed.get(id).has(w.id)) continue;
      const started = await startWorker(self, id, w.id);
      if (started.niced) niced = true;
      cells.push({ key: `${id}:${w.id}`, name: adapter.name, title: w.title, child: started.child, passes: started.passes, rounds: [] });
    }
  }
  for (let r = 0; r < settings.rounds; r++) {
    // Rotate the starting cell so no cell always runs right after the same neighbour.
    for (let k = 0; k < cells.length; k++) {
      const cell = cells[(r + k) % cells.length];
      cell.rounds.push(await askRound(cell.child));
    }
  }
  for (const cell of cells) {
    cell.child.removeAllListeners('exit');
    cell.child.send('done');
    const r = summarize(cell.rounds);
    results.set(cell.key, r);
    const shaky = r.clean < r.rounds ? `, only ${r.clean} uncontended` : '';
    console.log(`  ${cell.name.padEnd(26)} ${cell.title.padEnd(24)} ${fmt(r.median).padStart(10)} msgs/s  (min ${fmt(r.min)}, max ${fmt(r.max)}, ${r.rounds} rounds × ${cell.passes} passes kept, ${r.dropped} contended dropped${shaky})`);
  }

  const cpu = cpus();
  const header = [
    '# @sipway/sip-message benchmark',
    '',
    `Run ${new Date().toISOString()} · Node ${process.version} · ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'} · ${quick ? 'quick run' : 'full run'} · ${describeBuild()}`,
    '',
    `Corpus: ${corpus.length} messages, ${corpusBytes} bytes (${corpus.map((c) => c.name).join('; ')}).`,
    `Each cell: median msgs/s of its rounds (min–max in brackets). Each cell is a separate Node process warmed up for ${settings.warmupMs} ms; then ${settings.rounds} rounds of ~${settings.roundMs} ms are taken from every cell in turn.`,
    'Workload 2 reads top Via branch, From/To tags, Call-ID, CSeq, Max-Forwards, Route (URI), Contact and Request-URI host through each library\'s accessors.',
    'Workload 3 adds the proxy edits (requests: Via and Record-Route inserted on top, Max-Forwards − 1, top Route removed; responses: top Via removed) and serialization to bytes.',
    'Inputs: ours gets the datagram Buffer; string-fed libraries get a string decoded before timing (decoding is not counted for them).',
    'Rounds in which the process got less than 90 % of a CPU (a busy machine) are left out while at least half the rounds are clean; ⚠ marks a cell that had to keep contended rounds.',
    niced ? 'Workers ran at raised CPU priority (nice −10, `--nice`) because other jobs shared the machine.' : 'Workers ran at normal priority.',
    '',
    '',
  ];
  const md = header.join('\n') + table(adapters, results, passed, notes) + '\n';
  console.log('\n' + md);
  if (!args.has('no-write')) {
    writeFileSync(new URL('./results.md', import.meta.url), md);
    console.log('written to bench/results.md');
  }
}

if (args.has('worker')) {
  await worker(args.get('worker'), Number(args.get('workload') ?? 1));
} else {
  await main();
}
