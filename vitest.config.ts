import { defineConfig } from 'vitest/config';

// Kernel tests share one global netns lock-free design: each test file makes its own
// namespaces, so files may run in parallel; the xtables lock serialises legacy commits.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
