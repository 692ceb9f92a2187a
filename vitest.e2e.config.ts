import { defineConfig } from "vitest/config";

// Real-browser suites (headless Chromium): `npm run test:e2e`, kept out of `npm test`.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: "forks",
    globalSetup: ["test/helpers/global-setup.ts"],
    fileParallelism: false,
  },
});
