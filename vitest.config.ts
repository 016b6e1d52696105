import { defineConfig } from 'vitest/config';

// The global setup (this process) uses the AWS SDK too; its Node 22 notice is not actionable here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // One shared real stack, and some tests stop and restart its Temporal server: files run one
    // at a time so no test sees another's deliberate outage.
    fileParallelism: false,
  },
});
