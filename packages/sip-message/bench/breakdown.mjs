// Where our parser spends its time in a proxy's reads and edits: the cost of each typed
// accessor or edit on top of parseMessage, in ns per message over the corpus (median of
// rounds, fresh parse each time, each step in its own process so JIT state is not shared).
//
//   node bench/breakdown.mjs [--quick]        (after tsup; SIPWAY_DIST=… for another build)
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { corpus } from './corpus.mjs';
import { PROXY_RECORD_ROUTE, PROXY_VIA } from './adapters/proxy-edits.mjs';
import { measure } from './measure.mjs';

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
const settings = quick ? { warmupMs: 300, rounds: 5, roundMs: 100 } : { warmupMs: 1000, rounds: 11, roundMs: 200 };

function time(step) {
  const r = measure((b) => step(parseMessage(b)), inputs, settings);
  return 1e9 / r.median;
}

const stepArg = process.argv.find((a) => a.startsWith('--step='));
if (stepArg) {
  const ns = time(steps[stepArg.slice('--step='.length)]);
  process.stdout.write(JSON.stringify({ ns, sink }) + '\n');
} else {
  const run = (name) => {
    const args = ['--expose-gc', fileURLToPath(import.meta.url), `--step=${name}`];
    if (quick) args.push('--quick');
    const out = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    return JSON.parse(out.trim().split('\n').pop()).ns;
  };
  const base = run('parseMessage only');
  console.log(`parseMessage only: ${base.toFixed(0)} ns/msg (corpus average)`);
  console.log('accessor / edit                      ns/msg on top of parseMessage');
  for (const name of Object.keys(steps)) {
    if (name === 'parseMessage only') continue;
    console.log(`  ${name.padEnd(34)} ${(run(name) - base).toFixed(0).padStart(6)}`);
  }
}
