import { defineConfig } from "vitest/config";

// The console's load-time measurement (`npm run perf:console`): seeds 1,000 customers and 10,000 meetings, then
// loads each page in headless Chromium. Not part of any gate: a busy machine moves its figures.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.perf.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: "forks",
    globalSetup: ["test/helpers/global-setup.ts"],
    fileParallelism: false,
  },
});
