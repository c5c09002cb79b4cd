// Sums the per-package vitest JSON reports into one closing line, so CI reads a single
// "N passed, N failed" figure for the whole monorepo.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

let passed = 0;
let failed = 0;
let skipped = 0;
let notRunTotal = 0;
const missing = [];
for (const group of ['packages', 'examples']) {
  if (!existsSync(group)) continue;
  for (const name of readdirSync(group)) {
    const dir = join(group, name);
    if (!existsSync(join(dir, 'package.json'))) continue;
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (!pkg.scripts?.test) continue;
    const report = join(dir, '.vitest-report.json');
    if (!existsSync(report)) {
      missing.push(dir);
      continue;
    }
    const r = JSON.parse(readFileSync(report, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    // A file whose set-up failed (a beforeAll that could not start redis-server, say) reports its
    // tests as skipped: they did not pass, so they count as failed, never as a silent skip.
    let notRun = 0;
    for (const file of r.testResults ?? []) {
      if (file.status !== 'failed') continue;
      for (const t of file.assertionResults ?? []) if (t.status !== 'passed' && t.status !== 'failed') notRun++;
    }
    failed += notRun;
    notRunTotal += notRun;
    skipped += r.numPendingTests + (r.numTodoTests ?? 0) - notRun;
  }
}
if (missing.length > 0) {
  console.error(`no test report from: ${missing.join(', ')}`);
  failed += missing.length;
}
if (notRunTotal > 0) console.error(`${notRunTotal} tests did not run because their file failed to set up (counted as failed)`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
