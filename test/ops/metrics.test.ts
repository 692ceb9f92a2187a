import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { waitFor } from "../helpers/wait.js";

/** The value of one sample line, e.g. sample(text, 'retailer_http_requests_total{app="gateway",...}'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("Prometheus metrics", () => {
  let t: TestApp;
  let clock: ManualClock;
  const scrape = async () => {
    const res = await t.call("GET", "/metrics");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.raw;
  };
  beforeAll(async () => {
    clock = new ManualClock(Date.parse("2026-03-02T10:00:00Z"));
    t = await startTestApp("pglite", { TRANSCRIPT_CACHE_TTL_MS: "1000" }, { clock });
  });
  afterAll(async () => t.close());

  it("counts and times requests per app, method, route pattern and status; unmatched URLs share one label", async () => {
    const u = await t.newUser();
    await t.call("GET", "/meetings", { key: u.key });
    await t.call("GET", "/meetings", { key: u.key });
    await t.call("GET", "/meetings");
    await t.call("DELETE", "/meetings/google_meet/abc-defg-hij", { key: u.key });
    await t.call("GET", "/no/such/path/123");
    await t.call("GET", "/admin/users", { app: "admin" });
    const text = await scrape();
    const series = (app: string, method: string, route: string, status: number) =>
      `{app="${app}",method="${method}",route="${route}",status_code="${status}"}`;
    expect(sample(text, `retailer_http_requests_total${series("gateway", "GET", "/meetings", 200)}`)).toBe(2);
    expect(sample(text, `retailer_http_requests_total${series("gateway", "GET", "/meetings", 403)}`)).toBe(1);
    expect(
      sample(
        text,
        `retailer_http_requests_total${series("gateway", "DELETE", "/meetings/:platform/:native_meeting_id", 404)}`,
      ),
    ).toBe(1);
    expect(sample(text, `retailer_http_requests_total${series("gateway", "GET", "unmatched", 404)}`)).toBe(1);
    expect(sample(text, `retailer_http_requests_total${series("admin", "GET", "/admin/users", 403)}`)).toBe(
      1,
    );
    expect(
      sample(
        text,
        `retailer_http_request_duration_seconds_count${series("gateway", "GET", "/meetings", 200)}`,
      ),
    ).toBe(2);
    expect(text).toContain(
      'retailer_http_request_duration_seconds_bucket{le="0.005",app="gateway",method="GET",route="/meetings"',
    );
    expect(text).not.toContain("abc-defg-hij");
  });

  it("counts wholesaler calls by route and outcome, and live-transcript cache hits and misses", async () => {
    const u = await t.newUser();
    const native = "met-rics-abc";
    expect(
      (
        await t.call("POST", "/bots", {
          key: u.key,
          body: { platform: "google_meet", native_meeting_id: native },
        })
      ).status,
    ).toBe(201);
    clock.advance(60_000);
    for (let i = 0; i < 3; i++)
      expect((await t.call("GET", `/transcripts/google_meet/${native}`, { key: u.key })).status).toBe(200);
    clock.advance(1500);
    await t.call("GET", `/transcripts/google_meet/${native}`, { key: u.key });
    const text = await scrape();
    expect(
      sample(text, 'retailer_wholesaler_calls_total{route="POST /bots",outcome="ok",status_code="201"}'),
    ).toBe(1);
    const transcriptCalls = sample(
      text,
      'retailer_wholesaler_calls_total{route="GET /transcripts/{platform}/{native_meeting_id}",outcome="ok",status_code="200"}',
    );
    expect(transcriptCalls).toBe(2);
    expect(sample(text, 'retailer_live_transcript_cache_requests_total{result="miss"}')).toBe(2);
    expect(sample(text, 'retailer_live_transcript_cache_requests_total{result="hit"}')).toBe(2);
    expect(
      sample(text, 'retailer_wholesaler_call_duration_seconds_count{route="POST /bots",outcome="ok"}'),
    ).toBe(1);
    expect(sample(text, 'retailer_wholesaler_breaker_state{state="closed"}')).toBe(1);
    expect(sample(text, "retailer_wholesaler_auth_failing")).toBe(0);
  });

  it("reports job queue depth and failures per queue, read from the database at scrape time", async () => {
    await t.deps.queue.send("notify-user", { meetingId: 0, userId: 0 }, { startAfterSeconds: 3600 });
    const text = await scrape();
    expect(sample(text, 'retailer_job_queue_depth{queue="notify-user"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'retailer_job_queue_depth{queue="finalize-meeting"}')).toBe(0);
    expect(sample(text, 'retailer_job_queue_failed{queue="finalize-meeting"}')).toBe(0);
    expect(text).toContain("retailer_process_resident_memory_bytes");
    expect(text).toContain("retailer_nodejs_eventloop_lag_seconds");
  });

  it("keeps a registry per instance: another instance's counters are its own", async () => {
    const other = await startTestApp("pglite");
    try {
      const text = await other.call("GET", "/metrics");
      expect(
        sample(
          text.raw,
          'retailer_wholesaler_calls_total{route="POST /bots",outcome="ok",status_code="201"}',
        ),
      ).toBeUndefined();
    } finally {
      await other.close();
    }
  });
});

describe("webhook delivery metrics", () => {
  let t: TestApp;
  let hook: Server;
  let hookBase: string;
  beforeAll(async () => {
    hook = createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(req.url === "/ok" ? 200 : 410).end());
    });
    await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
    hookBase = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
    t = await startTestApp("pglite", {}, { listen: true, sandbox: { stopDelayMs: 100 } });
  });
  afterAll(async () => {
    await t.close();
    hook.close();
  });

  it("counts outbound deliveries to users by outcome", async () => {
    const a = await t.newUser();
    const b = await t.newUser();
    const native = "hoo-kmet-ric";
    for (const [u, path] of [
      [a, "/ok"],
      [b, "/gone"],
    ] as const) {
      expect(
        (await t.call("PUT", "/user/webhook", { key: u.key, body: { webhook_url: `${hookBase}${path}` } }))
          .status,
      ).toBe(200);
      const res = await t.call("POST", "/bots", {
        key: u.key,
        body: { platform: "google_meet", native_meeting_id: native },
      });
      expect(res.status, res.raw).toBe(201);
    }
    for (const u of [b, a])
      expect((await t.call("DELETE", `/bots/google_meet/${native}`, { key: u.key })).status).toBe(202);
    const text = await waitFor(
      async () => {
        const raw = (await t.call("GET", "/metrics")).raw;
        const done = (o: string) => sample(raw, `retailer_webhook_deliveries_total{outcome="${o}"}`) === 1;
        return done("delivered") && done("rejected") ? raw : undefined;
      },
      30_000,
      "both deliveries",
    );
    expect(sample(text ?? "", 'retailer_webhook_deliveries_total{outcome="failed"}')).toBe(0);
  });
});
