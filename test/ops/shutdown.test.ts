import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { pgliteDataDirCopy } from "../helpers/pglite-template.js";
import { freePort, type RetailerProcess, spawnRetailer } from "../helpers/process.js";
import { waitFor } from "../helpers/wait.js";

const ADMIN = "shutdown-admin-token-0123456789abcdef";
const SLOW_MS = 2000;
const BOUND_MS = 8000;

describe("graceful shutdown of a real process", () => {
  let sandbox: Sandbox;
  let sandboxUrl: string;
  // Each process opens its own copy of the migrated template (a `memory://` database would run initdb first).
  let data: Awaited<ReturnType<typeof pgliteDataDirCopy>>[] = [];
  beforeAll(async () => {
    sandbox = createSandbox({ apiKey: "sbx-shutdown" });
    sandboxUrl = await sandbox.listen(0, "127.0.0.1");
    data = [await pgliteDataDirCopy(), await pgliteDataDirCopy()];
  });
  afterAll(async () => {
    await sandbox.close();
    for (const d of data) d.remove();
  });

  it("on SIGTERM stops taking requests, finishes the one in flight, and exits 0 within SHUTDOWN_TIMEOUT_MS", async () => {
    const [gw, admin] = [await freePort(), await freePort()];
    const p: RetailerProcess = spawnRetailer({
      API_GATEWAY_PORT: String(gw),
      ADMIN_API_PORT: String(admin),
      HOST: "127.0.0.1",
      DATA_DIR: data[0]?.dir ?? "",
      ADMIN_API_TOKEN: ADMIN,
      VEXA_INFRA_API_URL: sandboxUrl,
      VEXA_INFRA_API_KEY: "sbx-shutdown",
      WHOLESALER_WEBHOOK_SECRET: "s",
      UPSTREAM_TIMEOUT_MS: "5000",
      SHUTDOWN_TIMEOUT_MS: String(BOUND_MS),
      LOG_LEVEL: "info",
    });
    try {
      const base = `http://127.0.0.1:${gw}`;
      await p.waitReady(`${base}/ready`);
      const user = (await (
        await fetch(`${base}/admin/users`, {
          method: "POST",
          headers: { "x-admin-api-key": ADMIN, "content-type": "application/json" },
          body: JSON.stringify({ email: "slow@example.com" }),
        })
      ).json()) as { id: number };
      const token = (await (
        await fetch(`${base}/admin/users/${user.id}/tokens`, {
          method: "POST",
          headers: { "x-admin-api-key": ADMIN },
        })
      ).json()) as { token: string };

      sandbox.faults.set("POST /bots", { latencyMs: SLOW_MS });
      const started = Date.now();
      const slow = fetch(`${base}/bots`, {
        method: "POST",
        headers: { "x-api-key": token.token, "content-type": "application/json" },
        body: JSON.stringify({ platform: "google_meet", native_meeting_id: "slo-wreq-abc" }),
      });
      // Wait until the request is inside the retailer, waiting on the wholesaler.
      while (sandbox.calls()["POST /bots"] === 0) await new Promise((r) => setTimeout(r, 20));
      p.proc.kill("SIGTERM");
      // Logged in the same tick as the servers start closing (main.ts installShutdown).
      await waitFor(() => p.logs.some((l) => l.msg === "shutting down"), 10_000, "the shutdown to begin");
      const refused = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.status,
        () => "refused",
      );
      expect(refused === "refused" || refused === 503, `a new request during shutdown: ${refused}`).toBe(
        true,
      );

      const res = await slow;
      expect(res.status, await res.clone().text()).toBe(201);
      expect(Date.now() - started).toBeGreaterThanOrEqual(SLOW_MS - 100);
      const code = await p.exited;
      expect(code, p.stderr() + JSON.stringify(p.logs.map((l) => [l.time, l.msg]))).toBe(0);
      expect(Date.now() - started).toBeLessThan(BOUND_MS);
      const msgs = p.logs.map((l) => l.msg);
      expect(msgs).toContain("shutting down");
      expect(msgs).toContain("shut down cleanly");
    } finally {
      sandbox.faults.reset();
      await p.stop();
    }
  }, 150_000);

  it("exits 1 once SHUTDOWN_TIMEOUT_MS has passed, even if a request is still running", async () => {
    const [gw, admin] = [await freePort(), await freePort()];
    const p = spawnRetailer({
      ROLE: "api-gateway",
      API_GATEWAY_PORT: String(gw),
      ADMIN_API_PORT: String(admin),
      HOST: "127.0.0.1",
      DATA_DIR: data[1]?.dir ?? "",
      ADMIN_API_TOKEN: ADMIN,
      VEXA_INFRA_API_URL: sandboxUrl,
      VEXA_INFRA_API_KEY: "sbx-shutdown",
      UPSTREAM_TIMEOUT_MS: "20000",
      SHUTDOWN_TIMEOUT_MS: "1000",
      LOG_LEVEL: "info",
    });
    try {
      const base = `http://127.0.0.1:${gw}`;
      await p.waitReady(`${base}/health`);
      const u = (await (
        await fetch(`${base}/admin/users`, {
          method: "POST",
          headers: { "x-admin-api-key": ADMIN, "content-type": "application/json" },
          body: JSON.stringify({ email: "stuck@example.com" }),
        })
      ).json()) as { id: number };
      const tok = (await (
        await fetch(`${base}/admin/users/${u.id}/tokens`, {
          method: "POST",
          headers: { "x-admin-api-key": ADMIN },
        })
      ).json()) as { token: string };
      sandbox.resetCalls();
      sandbox.faults.set("POST /bots", { latencyMs: 15_000 });
      const stuck = fetch(`${base}/bots`, {
        method: "POST",
        headers: { "x-api-key": tok.token, "content-type": "application/json" },
        body: JSON.stringify({ platform: "google_meet", native_meeting_id: "stu-ckre-qst" }),
      }).catch(() => "dropped");
      while (sandbox.calls()["POST /bots"] === 0) await new Promise((r) => setTimeout(r, 20));
      const started = Date.now();
      p.proc.kill("SIGTERM");
      expect(await p.exited).toBe(1);
      // Timed by the process's own clock: the exit itself takes a loaded machine another second or two.
      const at = (msg: string) => Date.parse(p.logs.find((l) => l.msg === msg)?.time);
      expect(at("shutdown timed out; exiting") - at("shutting down"), JSON.stringify(p.logs)).toBeLessThan(
        2000,
      );
      expect(Date.now() - started, "gone long before the stuck request could end").toBeLessThan(10_000);
      await stuck;
    } finally {
      sandbox.faults.reset();
      await p.stop();
    }
  }, 150_000);
});
