import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ["src/index.ts","src/udp/index.ts","src/tcp/index.ts","src/tls/index.ts","src/ws/index.ts","src/testing/index.ts"],
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
});
