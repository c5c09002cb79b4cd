import { readdirSync, readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

// The examples are private workspace packages, so their code is bundled into dist (from their
// TypeScript sources); so is any private workspace package they import (a shared helper). The
// published @sipway/* packages and npm packages stay dependencies, resolved at run time.
function privateWorkspacePackages(): string[] {
  const names: string[] = [];
  for (const dir of ['../../packages', '../../examples']) {
    for (const entry of readdirSync(new URL(dir, import.meta.url), { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      try {
        const pkg = JSON.parse(readFileSync(new URL(`${dir}/${entry.name}/package.json`, import.meta.url), 'utf8'));
        if (pkg.private === true && pkg.name !== '@sipway/test-peers') names.push(pkg.name);
      } catch {
        // not a package
      }
    }
  }
  return names;
}

export default defineConfig({
  entry: ['src/cli.ts'],
  format: ['esm'],
  clean: true,
  sourcemap: true,
  target: 'node20',
  platform: 'node',
  noExternal: privateWorkspacePackages(),
  esbuildOptions(options) {
    options.conditions = ['@sipway/source', 'module', 'node'];
  },
});
