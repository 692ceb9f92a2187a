import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildOpsApp } from "../../src/http/ops-app.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";

// A baseline wholesaler has no GET /auth/me: its key is assumed to be allowed everything.
const ASSUMED = { source: "assumed", scopes: null, manage_bots: true, read_transcripts: true };

describe.each(await legs())("health and readiness on %s", (leg) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(leg, {}, { vexa: "baseline" });
    await t.deps.capabilities.settled();
  });
  afterAll(async () => t.close());

  it("GET /health answers 200 {status: ok} on both ports, with a request id", async () => {
    for (const app of ["gateway", "admin"] as const) {
      const res = await t.call("GET", "/health", { app });
      expect(res.status, res.raw).toBe(200);
      expect(res.body).toEqual({ status: "ok" });
      expect(res.headers["x-request-id"]).toMatch(/^[\w-]{8,}$/);
    }
  });

  it("GET /ready answers 200 with every check ok on both ports", async () => {
    for (const app of ["gateway", "admin"] as const) {
      const res = await t.call("GET", "/ready", { app });
      expect(res.status, res.raw).toBe(200);
      expect(res.body).toEqual({
        status: "ready",
        checks: {
          database: { status: "ok", latency_ms: expect.any(Number), read_only: false },
          migrations: { status: "ok", pending: 0 },
          wholesaler: { status: "ok", breaker: "closed", auth_failing: false, capabilities: ASSUMED },
          queue: { status: "ok", schema: t.deps.queue.schema },
          process: { status: "ok", shutting_down: false },
        },
      });
    }
  });

  it("a rejected service key is reported as auth_failing", async () => {
    t.sandbox.faults.set("GET /meetings", { errorStatus: 401, detail: "Invalid API key" });
    try {
      await t.deps.client.listMeetings().catch(() => undefined);
      const res = await t.call("GET", "/ready");
      expect(res.body.checks.wholesaler.auth_failing, res.raw).toBe(true);
      expect(res.body.status).toBe("degraded");
    } finally {
      t.sandbox.faults.reset();
    }
    await t.deps.client.listMeetings();
    expect(t.deps.client.authFailing()).toBe(false);
  });

  it("a failing wholesaler degrades readiness but keeps the instance in rotation (local reads still work)", async () => {
    t.sandbox.faults.set("*", { errorStatus: 503 });
    try {
      await Promise.allSettled(Array.from({ length: 8 }, () => t.deps.client.getBotsStatus()));
      expect(t.deps.client.breakerState()).toBe("open");
      const res = await t.call("GET", "/ready");
      expect(res.status, res.raw).toBe(200);
      expect(res.body.status).toBe("degraded");
      expect(res.body.checks.wholesaler).toEqual({
        status: "degraded",
        breaker: "open",
        auth_failing: false,
        capabilities: ASSUMED,
      });
      const metrics = await t.call("GET", "/metrics");
      expect(metrics.raw).toContain('retailer_wholesaler_breaker_state{state="open"} 1');
      expect(metrics.raw).toMatch(/retailer_wholesaler_breaker_transitions_total\{to="open"\} [1-9]/);
    } finally {
      t.sandbox.faults.reset();
    }
  });

  it("a pending migration makes the instance unavailable (503)", async () => {
    const { rows } = await t.deps.db.query<{ name: string }>(
      "SELECT name FROM schema_migrations ORDER BY name DESC LIMIT 1",
    );
    const last = rows[0]?.name ?? "";
    await t.deps.db.query("DELETE FROM schema_migrations WHERE name = $1", [last]);
    try {
      const res = await t.call("GET", "/ready", { app: "admin" });
      expect(res.status, res.raw).toBe(503);
      expect(res.body.status).toBe("unavailable");
      expect(res.body.checks.migrations).toEqual({ status: "fail", pending: 1 });
    } finally {
      await t.deps.db.query("INSERT INTO schema_migrations (name) VALUES ($1)", [last]);
    }
    expect((await t.call("GET", "/ready")).status).toBe(200);
  });

  it("a bot-manager-only process serves the probes and metrics, and nothing else", async () => {
    const ops = await buildOpsApp({ ops: t.deps.ops, metrics: t.deps.metrics });
    try {
      expect((await ops.inject({ url: "/health" })).json()).toEqual({ status: "ok" });
      const ready = await ops.inject({ url: "/ready" });
      expect(ready.statusCode, ready.body).toBe(200);
      const metrics = await ops.inject({ url: "/metrics" });
      expect(metrics.headers["content-type"]).toMatch(/^text\/plain/);
      expect(metrics.body).toContain(
        'retailer_http_requests_total{app="bot-manager",method="GET",route="/ready",status_code="200"} 1',
      );
      const bots = await ops.inject({ method: "POST", url: "/bots", payload: {} });
      expect(bots.statusCode).toBe(404);
      expect(bots.json()).toEqual({ detail: "Not Found" });
    } finally {
      await ops.close();
    }
  });

  it("once shutdown begins, /ready answers 503 while /health still answers 200", async () => {
    t.deps.beginShutdown();
    const res = await t.call("GET", "/ready");
    expect(res.status, res.raw).toBe(503);
    expect(res.body.checks.process).toEqual({ status: "fail", shutting_down: true });
    expect((await t.call("GET", "/health")).status).toBe(200);
  });
});

describe("readiness reports what a current Vexa key may do", () => {
  let t: TestApp;
  beforeAll(async () => {
    const leg = (await legs()).at(-1) ?? "pglite";
    t = await startTestApp(leg, {}, { vexa: "current", sandbox: { tweaks: { scopes: ["bot"] } } });
    await t.deps.capabilities.settled();
  });
  afterAll(async () => t.close());

  it("a key without the tx scope: degraded, with the reason, and the instance stays in rotation", async () => {
    const res = await t.call("GET", "/ready");
    expect(res.status, res.raw).toBe(200);
    expect(res.body.status).toBe("degraded");
    expect(res.body.checks.wholesaler).toEqual({
      status: "degraded",
      breaker: "closed",
      auth_failing: false,
      capabilities: { source: "auth_me", scopes: ["bot"], manage_bots: true, read_transcripts: false },
      reason: "the wholesaler key cannot read transcripts (it lacks scope tx)",
    });
  });
});
