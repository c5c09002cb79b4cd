import { defineConfig } from 'tsup';

// Self-contained: workspace packages bundled from their sources (see examples/stateless-proxy).
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
