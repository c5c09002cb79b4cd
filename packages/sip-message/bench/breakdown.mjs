// Where our parser spends its time in a proxy's reads and edits: the cost of each typed
// accessor or edit on top of parseMessage, in ns per message over the corpus (median of
// rounds, fresh parse each time, each step in its own process so JIT state is not shared,
// rounds taken from all steps in turn).
//
//   node bench/breakdown.mjs [--quick]        (after tsup; SIPWAY_DIST=… for another build)
import { fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { corpus } from './corpus.mjs';
import { PROXY_RECORD_ROUTE, PROXY_VIA } from './adapters/proxy-edits.mjs';
import { timeRound, warmUp } from './measure.mjs';

const quick = process.argv.includes('--quick');
const lib = process.env.SIPWAY_DIST
  ? await import(pathToFileURL(process.env.SIPWAY_DIST).href)
  : await import('../dist/index.js');
const { parseMessage, serializeMessage } = lib;

let sink = 0;
const touch = (v) => {
  if (v !== undefined && v !== null) sink++;
};

const steps = {
  'parseMessage only': () => {},
  'topVia.branch': (m) => touch(m.topVia?.branch),
  'from.tag': (m) => touch(m.from?.tag),
  'to.tag': (m) => touch(m.to?.tag),
  callId: (m) => touch(m.callId),
  'cseq.seq': (m) => touch(m.cseq?.seq),
  maxForwards: (m) => touch(m.maxForwards),
  'routes[0].uri': (m) => touch(m.routes[0]?.uri),
  'contacts[0].uri': (m) => touch(m.contacts[0]?.uri),
  'requestUri.host': (m) => touch(m.isRequest ? m.requestUri.host : undefined),
  "getHeader('call-id')": (m) => touch(m.getHeader('call-id')),
  'serialize unmodified': (m) => touch(serializeMessage(m).length),
  'insertHeader Via': (m) => {
    if (m.isRequest) m.insertHeader('Via', PROXY_VIA);
  },
  'insertHeader Record-Route': (m) => {
    if (m.isRequest) m.insertHeader('Record-Route', PROXY_RECORD_ROUTE);
  },
  "setHeader('Max-Forwards')": (m) => {
    if (m.isRequest) m.setHeader('Max-Forwards', '69');
  },
  'removeHeaderValue Route 0': (m) => {
    if (m.isRequest) m.removeHeaderValue('Route', 0);
  },
  'edits (Via, RR, MF) + serialize': (m) => {
    if (m.isRequest) {
      m.insertHeader('Via', PROXY_VIA);
      m.insertHeader('Record-Route', PROXY_RECORD_ROUTE);
      m.setHeader('Max-Forwards', '69');
    } else m.removeHeaderValue('Via', 0);
    touch(serializeMessage(m).length);
  },
};

const inputs = corpus.map((c) => c.bytes);
const settings = quick ? { warmupMs: 600, rounds: 7, roundMs: 80 } : { warmupMs: 1000, rounds: 25, roundMs: 100 };
const stepArg = process.argv.find((a) => a.startsWith('--step='));

if (stepArg) {
  // A worker for one step: warm up, then one timed round per request from the parent.
  const step = steps[stepArg.slice('--step='.length)];
  const fn = (b) => step(parseMessage(b));
  const passes = warmUp(fn, inputs, settings);
  process.on('message', (msg) => {
    if (msg === 'round') process.send(timeRound(fn, inputs, passes));
    else process.exit(sink === -1 ? 1 : 0);
  });
  process.send('ready');
} else {
  // One process per step, rounds taken from all of them in turn; each step's cost is the
  // median over cycles of (its ns/msg − the bare parse's ns/msg in the same cycle), so a busy
  // spell on the machine cancels out instead of landing on one step.
  const self = fileURLToPath(import.meta.url);
  const names = Object.keys(steps);
  const workers = [];
  for (const name of names) {
    const args = [`--step=${name}`];
    if (quick) args.push('--quick');
    const child = fork(self, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise((resolve) => child.once('message', resolve));
    workers.push(child);
  }
  const ns = names.map(() => []);
  for (let r = 0; r < settings.rounds; r++) {
    for (let k = 0; k < workers.length; k++) {
      const i = (r + k) % workers.length;
      const round = await new Promise((resolve) => {
        workers[i].once('message', resolve);
        workers[i].send('round');
      });
      ns[i].push(1e9 / round.rate);
    }
  }
  for (const w of workers) w.send('done');
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  console.log(`parseMessage only: ${median(ns[0]).toFixed(0)} ns/msg (corpus average, median of ${settings.rounds} rounds)`);
  console.log('accessor / edit                      ns/msg on top of parseMessage (median of per-cycle differences)');
  for (let i = 1; i < names.length; i++) {
    const diffs = ns[i].map((v, r) => v - ns[0][r]);
    console.log(`  ${names[i].padEnd(34)} ${median(diffs).toFixed(0).padStart(6)}`);
  }
}
