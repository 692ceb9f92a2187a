/**
 * Start-up refuses unsafe configuration (issue 12 item 7), through the real process: a wholesaler URL without its
 * key, a short admin token and a bad enum value stop it naming the variable; a database it cannot reach and a port
 * already taken print one line naming the variable (no stack trace) and exit non-zero; with no wholesaler at all
 * the sandbox runs and says so.
 */
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pgliteDataDirCopy } from "../helpers/pglite-template.js";
import { freePort, spawnRetailer } from "../helpers/process.js";
import { waitFor } from "../helpers/wait.js";

const ADMIN = "startup-admin-token-0123456789abcdef";
const base = { LOG_LEVEL: "info", DATA_DIR: "memory://", ADMIN_API_TOKEN: ADMIN, REDIS_URL: "" };
// The cases that get as far as the database open a migrated copy (see pgliteDataDirCopy).
let data: Awaited<ReturnType<typeof pgliteDataDirCopy>>;
beforeAll(async () => {
  data = await pgliteDataDirCopy();
});
afterAll(() => data.remove());

/** Runs the process to its exit; returns the exit code and what it wrote to stderr. */
async function runToExit(env: Record<string, string>) {
  const p = spawnRetailer({ ...base, ...env });
  const timer = setTimeout(() => p.proc.kill("SIGKILL"), 150_000);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, stderr: p.stderr() };
}

const expectOneLine = (stderr: string) => {
  expect(stderr.trim().split("\n"), stderr).toHaveLength(1);
  expect(stderr, "no stack trace").not.toMatch(/\n\s+at /);
};

// Each case starts a real process (tsx, then PGlite on a copied data directory): slow on a loaded machine.
describe("start-up refuses unsafe configuration", { timeout: 180_000 }, () => {
  it("a wholesaler URL without VEXA_INFRA_API_KEY exits non-zero naming the key", async () => {
    const { code, stderr } = await runToExit({ VEXA_INFRA_API_URL: "https://wholesaler.example.com" });
    expect(code, stderr).not.toBe(0);
    expect(stderr).toMatch(/VEXA_INFRA_API_KEY=\(unset\): is required when VEXA_INFRA_API_URL/);
  });

  it("a bad enum value lists the allowed values; a short admin token names the fix and is not echoed", async () => {
    const { code, stderr } = await runToExit({ ROLE: "boss", ADMIN_API_TOKEN: "hunter2" });
    expect(code, stderr).not.toBe(0);
    expect(stderr).toContain('ROLE="boss": must be one of: all, api-gateway, admin-api, bot-manager');
    expect(stderr).toContain("ADMIN_API_TOKEN=<redacted>: must be at least 32 characters");
    expect(stderr).toContain("openssl rand -hex 32");
    expect(stderr).not.toContain("hunter2");
  });

  it("an unreachable database is one line naming DATABASE_URL, without its password", async () => {
    const port = await freePort();
    const { code, stderr } = await runToExit({
      DATABASE_URL: `postgresql://postgres:s3cret-pw@127.0.0.1:${port}/vexa`,
    });
    expect(code, stderr).not.toBe(0);
    expectOneLine(stderr);
    expect(stderr).toContain(`fatal: cannot use the database at 127.0.0.1:${port}/vexa (check DATABASE_URL)`);
    expect(stderr).toContain("ECONNREFUSED");
    expect(stderr).not.toContain("s3cret-pw");
  });

  describe("with a port already taken", () => {
    let blocker: Server;
    let port: number;
    beforeAll(async () => {
      blocker = createServer();
      await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
      port = (blocker.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((r) => blocker.close(() => r())));

    it("is one line naming the port's variable", async () => {
      const { code, stderr } = await runToExit({
        HOST: "127.0.0.1",
        DATA_DIR: data.dir,
        ROLE: "admin-api",
        ADMIN_API_PORT: String(port),
      });
      expect(code, stderr).not.toBe(0);
      expectOneLine(stderr);
      expect(stderr).toContain(`fatal: port ${port} is already in use (set ADMIN_API_PORT to a free port)`);
    }, 180_000);
  });

  it("with no wholesaler URL and no key runs the sandbox and announces it", async () => {
    const port = await freePort();
    const p = spawnRetailer({
      ...base,
      DATA_DIR: data.dir,
      HOST: "127.0.0.1",
      ROLE: "api-gateway",
      API_GATEWAY_PORT: String(port),
    });
    try {
      await p.waitReady(`http://127.0.0.1:${port}/health`, 150_000);
      // Lines reach stdout in batches (4 KB or 250 ms): wait for it rather than expect it with /health's answer.
      const notice = await waitFor(
        () => p.logs.find((l) => String(l.msg).startsWith("SANDBOX MODE")),
        10_000,
        "the SANDBOX MODE notice",
      );
      expect(notice, JSON.stringify(p.logs)).toMatchObject({ level: 40, explicit: false });
    } finally {
      await p.stop();
    }
  }, 180_000);
});
