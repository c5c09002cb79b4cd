// `pnpm release:check`: rehearse a release without touching this tree. In a temporary copy of the
// working tree (tracked and untracked files, not ignored ones; node_modules linked, dist copied):
// `changeset version` (versions and CHANGELOG.md from .changeset/*.md), then
// `pnpm publish -r --dry-run --no-git-checks` (changeset publish has no dry run). Fails when
// versioning fails, a publishable package is not packed, or this tree changed.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT, publishablePackages } from './lib/packages.mjs';

const sh = (cmd, args, cwd, opts = {}) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
const status = () => sh('git', ['status', '--porcelain', '--untracked-files=all'], ROOT);

const before = status();
sh('pnpm', ['exec', 'turbo', 'run', 'build', '--filter=./packages/*', '--output-logs=errors-only'], ROOT, { stdio: 'inherit' });
const afterBuild = status();
const copy = mkdtempSync(join(tmpdir(), 'sipway-release-'));
let failed = false;
try {
  const files = sh('git', ['ls-files', '-co', '--exclude-standard', '-z'], ROOT).split('\0').filter(Boolean);
  for (const file of files) {
    if (!existsSync(join(ROOT, file))) continue; // deleted, not yet committed
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    cpSync(join(ROOT, file), join(copy, file));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  for (const group of ['packages', 'examples']) {
    for (const name of readdirSync(join(ROOT, group))) {
      const dir = join(ROOT, group, name);
      if (existsSync(join(dir, 'node_modules')) && existsSync(join(copy, group, name))) symlinkSync(join(dir, 'node_modules'), join(copy, group, name, 'node_modules'));
      if (existsSync(join(dir, 'dist')) && existsSync(join(copy, group, name))) cpSync(join(dir, 'dist'), join(copy, group, name, 'dist'), { recursive: true });
    }
  }

  const pending = readdirSync(join(copy, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
  console.log(`release:check: ${pending.length} changesets → changeset version`);
  process.stdout.write(sh('pnpm', ['exec', 'changeset', 'version'], copy));

  const versions = [];
  for (const { name, dir } of publishablePackages()) {
    const rel = dir.slice(ROOT.length + 1);
    const manifest = JSON.parse(readFileSync(join(copy, rel, 'package.json'), 'utf8'));
    const changelog = existsSync(join(copy, rel, 'CHANGELOG.md'));
    versions.push(`${name}@${manifest.version}${changelog ? '' : ' (no CHANGELOG.md: no changeset names it)'}`);
  }
  console.log(versions.join('\n'));

  // What would be uploaded: each versioned package packed from the copy must carry its build,
  // its new CHANGELOG.md and LICENSE, and no src/.
  const packed = join(copy, '.release-tarballs');
  mkdirSync(packed);
  for (const { name, dir, manifest } of publishablePackages()) {
    const rel = dir.slice(ROOT.length + 1);
    const version = JSON.parse(readFileSync(join(copy, rel, 'package.json'), 'utf8')).version;
    sh('pnpm', ['pack', '--pack-destination', packed], join(copy, rel));
    const tarball = join(packed, `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`);
    const list = sh('tar', ['tzf', tarball], copy).split('\n');
    const bin = Object.values(manifest.bin ?? {}).map((b) => `package/${b.replace(/^\.\//, '')}`);
    const want = ['package/LICENSE', 'package/README.md', ...bin];
    if (version !== manifest.version) want.push('package/CHANGELOG.md');
    const lacking = want.filter((f) => !list.includes(f));
    if (!list.some((f) => f.startsWith('package/dist/'))) lacking.push('package/dist/');
    if (list.some((f) => f.startsWith('package/src/'))) lacking.push('(ships src/)');
    if (lacking.length > 0) {
      failed = true;
      console.error(`release:check: ${name}@${version} tarball lacks ${lacking.join(', ')}`);
    }
  }

  const out = sh('pnpm', ['publish', '-r', '--dry-run', '--no-git-checks', '--report-summary'], copy, { stdio: ['ignore', 'pipe', 'pipe'] });
  const summary = JSON.parse(readFileSync(join(copy, 'pnpm-publish-summary.json'), 'utf8'));
  const published = new Set(summary.publishedPackages.map((p) => p.name));
  for (const { name } of publishablePackages()) {
    if (!published.has(name)) {
      failed = true;
      console.error(`release:check: ${name} would not be published`);
    }
  }
  for (const p of summary.publishedPackages) if (p.name.startsWith('@sipway/example') || p.name === '@sipway/test-peers') {
    failed = true;
    console.error(`release:check: private ${p.name} would be published`);
  }
  if (process.env.RELEASE_CHECK_VERBOSE) console.log(out);
  console.log(`release:check: pnpm publish --dry-run would publish ${summary.publishedPackages.map((p) => `${p.name}@${p.version}`).join(', ')}`);
} catch (error) {
  failed = true;
  console.error(error.stderr ?? '', error.stdout ?? '', error.message);
} finally {
  rmSync(copy, { recursive: true, force: true });
}
if (status() !== afterBuild || afterBuild !== before) {
  failed = true;
  console.error(`release:check: the working tree changed:\n${before}\n---\n${status()}`);
}
if (failed) process.exit(1);
console.log('release:check: ok, tree untouched');
