import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The end-to-end tests run the example as a user does, from dist/: build it once (a second with esbuild). */
export default function setup(): void {
  const exampleDir = join(dirname(fileURLToPath(import.meta.url)), '..');
  const require = createRequire(join(exampleDir, 'package.json'));
  const tsupCli = join(dirname(require.resolve('tsup/package.json')), 'dist', 'cli-default.js');
  const r = spawnSync(process.execPath, [tsupCli, '--silent'], { cwd: exampleDir, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`building the example failed:\n${r.stdout}\n${r.stderr}`);
}
