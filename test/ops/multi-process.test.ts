import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { createPgSchemaUrl, legs } from "../helpers/db.js";
import { freePort, type RetailerProcess, spawnRetailer } from "../helpers/process.js";
import { waitFor } from "../helpers/wait.js";

const hasPg = (await legs()).includes("pg");
if (!hasPg)
  console.warn(
    "NOTICE: no PostgreSQL answers; the multi-process test (two gateways + a bot-manager) is skipped.",
  );

const ADMIN = "multi-admin-token-0123456789abcdef";
const SECRET = "multi-webhook-secret";
const KEY = "sbx-multi";
const DELETE_MEETING = "DELETE /meetings/{platform}/{native_meeting_id}";

/**
 * Production shape: separate processes per role, one PostgreSQL schema, one Redis and one wholesaler. Nothing a
 * request or job needs may live in one process's memory.
 */
describe.skipIf(!hasPg)("two api-gateway processes and a bot-manager process behave as one system", () => {
  let sandbox: Sandbox;
  let drop: () => Promise<void>;
  let procs: Record<"gw1" | "gw2" | "bm", RetailerProcess>;
  let urls: Record<"gw1" | "gw2" | "bm", string>;

  beforeAll(async () => {
    sandbox = createSandbox({ apiKey: KEY, webhookSecret: SECRET, stopDelayMs: 300 });
    const sandboxUrl = await sandbox.listen(0, "127.0.0.1");
    const db = await createPgSchemaUrl();
    drop = db.drop;
    const [gw1, gw2, bm, unused] = [await freePort(), await freePort(), await freePort(), await freePort()];
    urls = { gw1: `http://127.0.0.1:${gw1}`, gw2: `http://127.0.0.1:${gw2}`, bm: `http://127.0.0.1:${bm}` };
    const env = {
      HOST: "127.0.0.1",
      DATABASE_URL: db.url,
      QUEUE_SCHEMA: `${db.schema}_boss`,
      REDIS_URL: "redis://127.0.0.1:6379",
      VEXA_INFRA_API_URL: sandboxUrl,
      VEXA_INFRA_API_KEY: KEY,
      WHOLESALER_WEBHOOK_SECRET: SECRET,
      RETAILER_PUBLIC_URL: urls.gw1,
      ADMIN_API_TOKEN: ADMIN,
      ADMIN_API_PORT: String(unused),
      LOG_LEVEL: "info",
    };
    // Started together: migrations and the queue schema are created under locks, whoever comes first.
    procs = {
      gw1: spawnRetailer({ ...env, API_GATEWAY_PORT: String(gw1) }, ["--role", "api-gateway"]),
      gw2: spawnRetailer({ ...env, API_GATEWAY_PORT: String(gw2), ROLE: "api-gateway" }),
      bm: spawnRetailer({ ...env, BOT_MANAGER_PORT: String(bm) }, ["--role=bot-manager"]),
    };
    await Promise.all([
      procs.gw1.waitReady(`${urls.gw1}/ready`, 45_000),
      procs.gw2.waitReady(`${urls.gw2}/ready`, 45_000),
      procs.bm.waitReady(`${urls.bm}/ready`, 45_000),
    ]);
  }, 60_000);

  afterAll(async () => {
    const codes = await Promise.all(Object.values(procs ?? {}).map((p) => p.stop()));
    await sandbox?.close();
    await drop?.();
    expect(codes, "every process shuts down cleanly").toEqual(codes.map(() => 0));
  }, 60_000);

  const call = async (
    base: string,
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: unknown,
  ) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, raw: text, body: text ? JSON.parse(text) : null };
  };

  it("each process runs only its role", async () => {
    // The bot-manager has no API, only probes and metrics.
    expect((await call(urls.bm, "GET", "/admin/users", { "x-admin-api-key": ADMIN })).status).toBe(404);
    expect((await call(urls.bm, "GET", "/health", {})).body).toEqual({ status: "ok" });
    const metrics = await fetch(`${urls.bm}/metrics`).then((r) => r.text());
    expect(metrics).toContain('retailer_job_queue_depth{queue="finalize-meeting"}');
    // Log lines reach stdout in batches (every 4 KB or 250 ms): wait for the line rather than expect it at once.
    const said = (p: keyof typeof procs, role: string) =>
      waitFor(
        () => procs[p].logs.some((l) => l.msg === "retailer ready" && l.role === role),
        10_000,
        `${p} ready as ${role}`,
      );
    await said("gw1", "api-gateway");
    await said("gw2", "api-gateway");
    await said("bm", "bot-manager");
  });

  it("a bot requested through one gateway is stoppable through the other, and its finalization runs once", async () => {
    const admin = { "x-admin-api-key": ADMIN };
    const user = await call(urls.gw1, "POST", "/admin/users", admin, { email: "multi@example.com" });
    expect(user.status, user.raw).toBe(201);
    const token = await call(urls.gw2, "POST", `/admin/users/${user.body.id}/tokens`, admin);
    const key = { "x-api-key": token.body.token as string };
    const native = "mul-tipr-ocs";

    const started = await call(urls.gw1, "POST", "/bots", key, {
      platform: "google_meet",
      native_meeting_id: native,
    });
    expect(started.status, started.raw).toBe(201);
    const status = await call(urls.gw2, "GET", "/bots/status", key);
    expect(status.body.running_bots.map((b: { native_meeting_id: string }) => b.native_meeting_id)).toEqual([
      native,
    ]);
    const stopped = await call(urls.gw2, "DELETE", `/bots/google_meet/${native}`, key);
    expect(stopped.status, stopped.raw).toBe(202);

    // The wholesaler's webhook reaches gateway 1; the bot-manager finalizes.
    await waitFor(
      async () => {
        const m = await call(urls.gw2, "GET", "/meetings", key);
        return (
          m.body.meetings.find((x: { native_meeting_id: string }) => x.native_meeting_id === native)
            ?.status === "completed"
        );
      },
      45_000,
      "the meeting to be finalized",
    );
    await waitFor(
      () => (sandbox.calls()[DELETE_MEETING] ?? 0) >= 1,
      15_000,
      "the wholesaler copy to be deleted",
    );
    // Give any duplicate a chance to show up before counting.
    await new Promise((r) => setTimeout(r, 3000));
    expect(sandbox.calls()[DELETE_MEETING]).toBe(1);
    expect(sandbox.calls()["POST /bots"]).toBe(1);
    expect(sandbox.webhookDeliveries().length).toBeGreaterThanOrEqual(1);

    const finalizedBy = Object.entries(procs)
      .filter(([, p]) => p.logs.some((l) => l.msg === "meeting finalized"))
      .map(([name]) => name);
    expect(finalizedBy).toEqual(["bm"]);
    expect(procs.gw1.logs.some((l) => l.msg === "request" && l.url === "/webhooks/meeting-finished")).toBe(
      true,
    );

    const transcript = await call(urls.gw1, "GET", `/transcripts/google_meet/${native}`, key);
    expect(transcript.status, transcript.raw).toBe(200);
    expect(transcript.body.status).toBe("completed");
  }, 90_000);
});
