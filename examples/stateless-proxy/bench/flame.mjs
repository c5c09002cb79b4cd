// A flame graph (SVG) and a top-N table (Markdown) from a V8 .cpuprofile (node --cpu-prof).
// Usage: node bench/flame.mjs PROFILE.cpuprofile OUT.svg [--title T] [--top 25] [--md OUT.md]
// Idle time is left out, so the widths are shares of the busy time. No dependencies.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: { title: { type: 'string', default: 'CPU profile' }, top: { type: 'string', default: '25' }, md: { type: 'string' } },
});
const [input, output] = positionals;
if (input === undefined || output === undefined) {
  process.stderr.write('usage: node bench/flame.mjs PROFILE.cpuprofile OUT.svg [--title T] [--top N] [--md OUT.md]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(input, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const name = (n) => {
  const f = n.callFrame;
  const file = f.url ? f.url.split('/').slice(-2).join('/') : '';
  return `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
};
const skip = (n) => n.callFrame.functionName === '(idle)';
// Total (inclusive) time per node, idle excluded.
const total = new Map();
function sum(id) {
  const n = nodes.get(id);
  if (skip(n)) return 0;
  let t = selfUs.get(id) ?? 0;
  for (const c of n.children ?? []) t += sum(c);
  total.set(id, t);
  return t;
}
const root = profile.nodes[0].id;
const busy = sum(root);

// ---- SVG ----
const width = 1200;
const rowH = 16;
const rects = [];
let maxDepth = 0;
function lay(id, x, depth) {
  const n = nodes.get(id);
  const t = total.get(id) ?? 0;
  const w = (t / busy) * width;
  if (w < 0.3) return;
  maxDepth = Math.max(maxDepth, depth);
  rects.push({ x, depth, w, label: name(n), share: t / busy });
  let cx = x;
  for (const c of n.children ?? []) {
    if (skip(nodes.get(c))) continue;
    lay(c, cx, depth + 1);
    cx += ((total.get(c) ?? 0) / busy) * width;
  }
}
lay(root, 0, 0);
const height = (maxDepth + 1) * rowH + 40;
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const colour = (label) => {
  let h = 0;
  for (let i = 0; i < label.length; i++) h = (h * 31 + label.charCodeAt(i)) >>> 0;
  const node = /node:|internal|\(program\)|\(garbage/.test(label);
  return node ? `hsl(${200 + (h % 30)},45%,${70 + (h % 10)}%)` : `hsl(${15 + (h % 40)},80%,${60 + (h % 15)}%)`;
};
const svg = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="monospace" font-size="11">`,
  `<rect width="100%" height="100%" fill="#fff"/>`,
  `<text x="4" y="16" font-size="13">${esc(opts.title)} — busy ${(busy / 1000).toFixed(0)} ms (idle left out)</text>`,
  ...rects.map((r) => {
    const y = height - (r.depth + 1) * rowH - 4;
    const text = r.w > 40 ? `<text x="${(r.x + 3).toFixed(1)}" y="${y + 12}">${esc(r.label.slice(0, Math.floor(r.w / 6.6)))}</text>` : '';
    return `<g><title>${esc(r.label)} ${(r.share * 100).toFixed(1)}%</title><rect x="${r.x.toFixed(1)}" y="${y}" width="${r.w.toFixed(1)}" height="${rowH - 1}" fill="${colour(r.label)}"/>${text}</g>`;
  }),
  '</svg>',
].join('\n');
writeFileSync(output, svg);

// ---- top table (self time) ----
if (opts.md !== undefined) {
  const bySelf = new Map();
  for (const [id, us] of selfUs) {
    const n = nodes.get(id);
    if (skip(n)) continue;
    const k = name(n);
    bySelf.set(k, (bySelf.get(k) ?? 0) + us);
  }
  const top = [...bySelf].sort((a, b) => b[1] - a[1]).slice(0, Number(opts.top) || 25);
  const md = [
    `| self % of busy | ms | function |`,
    `|---:|---:|---|`,
    ...top.map(([k, us]) => `| ${((us / busy) * 100).toFixed(1)} | ${(us / 1000).toFixed(0)} | \`${k}\` |`),
  ].join('\n');
  writeFileSync(opts.md, `${opts.title}, busy ${(busy / 1000).toFixed(0)} ms\n\n${md}\n`);
}
process.stdout.write(`${output}: ${rects.length} frames, busy ${(busy / 1000).toFixed(0)} ms\n`);
