import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["test/chaos/**", "node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // vitest's default on 2 cores is one file at a time; most files spend much of their time waiting (timers,
    // sockets, child processes), so two at once use the machine better.
    maxWorkers: 2,
    globalSetup: ["test/helpers/global-setup.ts"],
  },
});
