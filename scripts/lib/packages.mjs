// The publishable packages of the workspace and how to pack them as npm would publish them
// (pnpm pack applies publishConfig and turns workspace:* into versions).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every packages/* that is not private: `{ name, dir, manifest }`. */
export function publishablePackages() {
  const out = [];
  for (const entry of readdirSync(join(ROOT, 'packages'), { withFileTypes: true })) {
    const file = join(ROOT, 'packages', entry.name, 'package.json');
    if (!entry.isDirectory() || !existsSync(file)) continue;
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    if (manifest.private === true) continue;
    out.push({ name: manifest.name, dir: join(ROOT, 'packages', entry.name), manifest });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** `pnpm pack` each publishable package into `dest`; returns Map name → tarball path. */
export function packAll(dest) {
  const tarballs = new Map();
  for (const { name, dir, manifest } of publishablePackages()) {
    execFileSync('pnpm', ['pack', '--pack-destination', dest], { cwd: dir, stdio: 'ignore' });
    const file = join(dest, `${name.replace(/^@/, '').replace('/', '-')}-${manifest.version}.tgz`);
    if (!existsSync(file)) throw new Error(`pnpm pack did not write ${file}`);
    tarballs.set(name, file);
  }
  return tarballs;
}

/** The export subpaths of a package as a user imports them: '@sipway/x', '@sipway/x/udp', … */
export function entryPoints(manifest) {
  const exp = manifest.publishConfig?.exports ?? manifest.exports ?? {};
  return Object.keys(exp)
    .filter((k) => k !== './package.json')
    .map((k) => (k === '.' ? manifest.name : `${manifest.name}/${k.slice(2)}`));
}
