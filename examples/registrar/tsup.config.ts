import { defineConfig } from 'tsup';

// One self-contained file: the workspace packages are bundled from their TypeScript sources
// (the @sipway/source condition), so the example runs, and its end-to-end tests build it, without
// building every package first. npm dependencies (pino, ioredis, prom-client, …) stay external.
export default defineConfig({
  entry: ['src/main.ts'],
  format: ['esm'],
  clean: true,
  sourcemap: true,
  target: 'node20',
  noExternal: [/^@sipway\//],
  esbuildOptions(options) {
    options.conditions = ['@sipway/source', 'module', 'node'];
  },
});
