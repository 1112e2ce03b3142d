import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    exclude: ['node_modules/**', 'dist/**', 'cdktf.out/**', '.local/**'],
    // Several suites start real engines (kinesis-local, dynalite) and child processes.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The machines run Node 20; the deployed functions run Node 22. The SDK's notice about
    // Node 20 would otherwise repeat in every test process.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    maxWorkers: 2,
  },
});
