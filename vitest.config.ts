import { defineConfig } from "vitest/config";

/**
 * Test files share their worker processes (isolate: false): a fresh process per file cost ~1.4 s of start-up on
 * this 2-core machine (vitest's own estimate over 58 files: ~40 s), and a shared worker also keeps the PGlite
 * template and the service probes read once. What must not leak runs isolated: a file that replaces a module
 * with vi.mock (the module graph that saw the mock would be reused by the next file).
 */
const ISOLATED = ["test/reliability/ssrf.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // vitest's default on 2 cores is one file at a time; most files spend much of their time waiting (timers,
    // sockets, child processes): on the 2-core machine three at once keep both cores busy (quiet machine, same
    // tree: 187 s with two workers, 142 s with three).
    maxWorkers: 3,
    globalSetup: ["test/helpers/global-setup.ts"],
    projects: [
      {
        extends: true,
        test: {
          name: "shared",
          include: ["src/**/*.test.ts", "test/**/*.test.ts"],
          exclude: ["test/chaos/**", "node_modules/**", ...ISOLATED],
          isolate: false,
        },
      },
      { extends: true, test: { name: "isolated", include: ISOLATED } },
    ],
  },
});
