// Encode + decode throughput of both contact codecs, against the built package (dist/).
//
//   pnpm --filter @sipway/contact-rewriter bench     (builds with tsup first)
//   node bench/codec.bench.mjs --quick
//
// One operation = encode a contact for a packet going from leg 0 to leg 1, then decode the
// token as it comes back on leg 1 (the Request-URI case) — what a proxy does per Contact round
// trip. Contacts rotate over a realistic set. Each figure is the median of several runs of a
// fixed duration after a warm-up; a guard checks every decode before timing.
import { cpus, loadavg } from 'node:os';
import { ContactRewriter, netSipLegKey } from '../dist/index.js';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 3 : 7;
const RUN_MS = quick ? 200 : 1000;
const WARMUP_MS = quick ? 200 : 1000;

const legs = [
  { key: netSipLegKey({ proto: 'udp', addr: '192.0.2.10', port: 5060 }), contact: 'sip:192.0.2.10' },
  { key: netSipLegKey({ proto: 'tcp', addr: '198.51.100.20', port: 5060 }), contact: 'sip:198.51.100.20' },
];
const contacts = [
  'alice@10.0.0.1:5070',
  'bob@192.168.1.20:5060;transport=udp',
  '+4930123456789@gw1.carrier.example.net;user=phone',
  'carol@[2001:db8::1234]:5062;transport=tls;ob',
  '10.0.0.5:5060',
  'dave-pc-7f3a9c21@client.invalid;transport=ws;ob',
  '0049301234@172.16.5.9:5080;transport=tcp',
  'erin@10.1.2.3',
];
const KEY = 'hex:' + '42'.repeat(32);

const codecs = [
  ['rc4-md5 (Net::SIP)', new ContactRewriter({ legs, key: KEY, codec: 'rc4-md5' })],
  ['siv (AES-256-CTR + HMAC-SHA-256, 64-bit tag)', new ContactRewriter({ legs, key: KEY, codec: 'siv' })],
];

for (const [name, rw] of codecs) {
  for (const c of contacts) {
    const back = rw.decode(rw.encode(c, legs[0], legs[1]), legs[1]);
    if (back?.contact !== c || back.leg !== legs[0]) throw new Error(`${name}: round trip failed for ${c}`);
  }
}

let sink = 0;
function timeFor(ms, fn) {
  let ops = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < end) {
    for (let k = 0; k < 256; k++) fn(ops++);
    now = process.hrtime.bigint();
  }
  return ops / (Number(now - start) / 1e9);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const cells = [];
for (const [name, rw] of codecs) {
  const tokens = contacts.map((c) => rw.encode(c, legs[0], legs[1]));
  const workloads = {
    'encode+decode': (i) => {
      const c = contacts[i & 7];
      sink += rw.decode(rw.encode(c, legs[0], legs[1]), legs[1]).contact.length;
    },
    encode: (i) => {
      sink += rw.encode(contacts[i & 7], legs[0], legs[1]).length;
    },
    decode: (i) => {
      sink += rw.decode(tokens[i & 7], legs[1]).contact.length;
    },
  };
  for (const [workload, fn] of Object.entries(workloads)) cells.push({ name, workload, fn, runs: [] });
}
for (const cell of cells) timeFor(WARMUP_MS, cell.fn);
// Runs are interleaved across cells so that a change of machine load hits every cell alike.
for (let r = 0; r < RUNS; r++) for (const cell of cells) cell.runs.push(timeFor(RUN_MS, cell.fn));
const rows = codecs.map(([name]) => {
  const row = { name };
  for (const cell of cells.filter((c) => c.name === name)) row[cell.workload] = median(cell.runs);
  return row;
});

const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log(
  `Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} CPUs, load ${loadavg()[0]?.toFixed(1)}; ` +
    `median of ${RUNS} interleaved runs of ${RUN_MS} ms`,
);
console.log('');
console.log('| codec | encode+decode /s | encode /s | decode /s |');
console.log('|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${fmt(r['encode+decode'])} | ${fmt(r.encode)} | ${fmt(r.decode)} |`);
if (sink === 42) console.log('');
