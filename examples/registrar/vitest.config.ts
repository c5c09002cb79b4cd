import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.js';

export default mergeConfig(
  sharedConfig,
  defineConfig({
    test: {
      // The end-to-end tests run the built example (node dist/main.js): the global setup builds it once.
      globalSetup: ['test/global-setup.ts'],
      // Registrars, sipp and redis-server are real processes: one file at a time keeps a small CI box calm.
      fileParallelism: false,
      testTimeout: 60_000,
    },
  }),
);
