import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.js';

export default mergeConfig(
  sharedConfig,
  defineConfig({
    test: {
      globalSetup: ['test/global-setup.ts'],
      // sipp, the proxy and Net::SIP are real processes: one file at a time keeps a small CI box calm.
      fileParallelism: false,
      testTimeout: 30_000,
    },
  }),
);
