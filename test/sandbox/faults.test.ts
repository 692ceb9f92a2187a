import { describe, expect, it } from "vitest";
import { startSandbox } from "./helpers.js";

const T = "GET /transcripts/{platform}/{native_meeting_id}";

describe("route faults", () => {
  it("latency delays the answer by wall time", async () => {
    const h = await startSandbox();
    h.sandbox.faults.set("GET /meetings", { latencyMs: 200 });
    const t0 = performance.now();
    const res = await h.api("GET", "/meetings");
    expect(res.status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    const t1 = performance.now();
    await h.api("GET", "/bots/status");
    expect(performance.now() - t1).toBeLessThan(150);
  });

  it("errorStatus answers instead of handling, with Retry-After; times counts down", async () => {
    const h = await startSandbox();
    h.sandbox.faults.set("POST /bots", { errorStatus: 503, retryAfter: 7, times: 2 });
    for (let i = 0; i < 2; i++) {
      const res = await h.bot();
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("7");
      expect(res.body).toEqual({ detail: "Service unavailable: All connection attempts failed" });
    }
    expect((await h.api("GET", "/meetings")).body.meetings).toHaveLength(0);
    expect((await h.bot()).status).toBe(201);
    h.sandbox.faults.set("GET /meetings", { errorStatus: 500 });
    expect((await h.api("GET", "/meetings")).body).toEqual({ detail: "Internal Server Error" });
  });

  it("outage destroys the connection: fetch throws, nothing is handled", async () => {
    const h = await startSandbox();
    h.sandbox.faults.set("POST /bots", { outage: true });
    await expect(h.bot()).rejects.toThrow();
    h.sandbox.faults.clear("POST /bots");
    expect((await h.api("GET", "/meetings")).body.meetings).toHaveLength(0);
    expect((await h.bot()).status).toBe(201);
  });

  it('"*" hits every upstream route but not the control API; a route\'s own fault wins', async () => {
    const h = await startSandbox();
    h.sandbox.faults.set("*", { errorStatus: 502 });
    h.sandbox.faults.set("GET /", { errorStatus: 504 });
    expect((await h.api("GET", "/meetings")).status).toBe(502);
    expect((await h.api("GET", "/transcripts/zoom/1")).status).toBe(502);
    expect((await h.api("GET", "/")).status).toBe(504);
    expect((await h.api("GET", "/_sandbox/calls")).status).toBe(200);
    const cleared = await h.api("DELETE", "/_sandbox/faults");
    expect(cleared.body).toEqual({ routes: {}, webhooks: {} });
    expect((await h.api("GET", "/meetings")).status).toBe(200);
  });

  it("the control API sets faults over HTTP and refuses unknown route keys", async () => {
    const h = await startSandbox();
    const set = await h.api("PUT", "/_sandbox/faults", {
      body: { routes: { [T]: { errorStatus: 503 } }, webhooks: { duplicateWebhooks: 2 } },
    });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({
      routes: { [T]: { errorStatus: 503 } },
      webhooks: { duplicateWebhooks: 2 },
    });
    expect((await h.api("GET", "/transcripts/zoom/1")).status).toBe(503);
    await h.api("PUT", "/_sandbox/faults", { body: { routes: { [T]: null } } });
    expect((await h.api("GET", "/transcripts/zoom/1")).status).toBe(404);
    expect((await h.api("PUT", "/_sandbox/faults", { body: { routes: { "GET /nope": {} } } })).status).toBe(
      400,
    );
    expect(() => h.sandbox.faults.set("GET /nope" as never, {})).toThrow(/unknown/);
  });

  it("loseMeeting: the upstream forgets the meeting and its transcript", async () => {
    const h = await startSandbox();
    await h.bot();
    h.sandbox.advance?.(60_000);
    expect(
      (await h.api("GET", "/transcripts/google_meet/abc-defg-hij")).body.segments.length,
    ).toBeGreaterThan(5);
    expect(h.sandbox.faults.loseMeeting("google_meet", "abc-defg-hij")).toBe(1);
    expect((await h.api("GET", "/transcripts/google_meet/abc-defg-hij")).status).toBe(404);
    expect((await h.api("DELETE", "/bots/google_meet/abc-defg-hij")).status).toBe(404);
    expect((await h.api("GET", "/meetings")).body.meetings).toEqual([]);
    expect((await h.api("GET", "/bots/status")).body.running_bots).toEqual([]);
    await h.bot();
    const res = await h.api("PUT", "/_sandbox/faults", {
      body: { lose: [{ platform: "google_meet", native_meeting_id: "abc-defg-hij" }] },
    });
    expect(res.body.lost).toBe(1);
    expect((await h.api("POST", "/_sandbox/meetings/google_meet/x/lose")).body).toEqual({ lost: 0 });
  });
});

describe("call counters", () => {
  it("count every call per route, faulted or refused ones included; reset clears", async () => {
    const h = await startSandbox();
    await h.bot();
    await h.bot();
    await h.api("GET", "/transcripts/google_meet/abc-defg-hij");
    await h.api("GET", "/transcripts/google_meet/abc-defg-hij", { key: null });
    h.sandbox.faults.set(T, { errorStatus: 500 });
    await h.api("GET", "/transcripts/google_meet/abc-defg-hij");
    await h.api("DELETE", "/bots/google_meet/abc-defg-hij");
    await h.api("DELETE", "/meetings/google_meet/abc-defg-hij");
    await h.api("GET", "/_sandbox/calls");
    const calls = h.sandbox.calls();
    expect(calls["POST /bots"]).toBe(2);
    expect(calls[T]).toBe(3);
    expect(calls["DELETE /bots/{platform}/{native_meeting_id}"]).toBe(1);
    expect(calls["DELETE /meetings/{platform}/{native_meeting_id}"]).toBe(1);
    expect(calls["GET /meetings"]).toBe(0);
    expect((await h.api("GET", "/_sandbox/calls")).body).toEqual(calls);
    await h.api("POST", "/_sandbox/calls/reset");
    expect(Object.values(h.sandbox.calls()).every((n) => n === 0)).toBe(true);
    await h.bot("x");
    h.sandbox.resetCalls();
    expect(h.sandbox.calls()["POST /bots"]).toBe(0);
  });
});

describe("control API: clock", () => {
  it("advance moves a manual clock; refused on the system clock", async () => {
    const h = await startSandbox({ stopDelayMs: 5000 });
    await h.bot();
    await h.api("DELETE", "/bots/google_meet/abc-defg-hij");
    const res = await h.api("POST", "/_sandbox/clock/advance", { body: { ms: 5000 } });
    expect(res.body).toEqual({ ok: true, advanced_ms: 5000 });
    expect((await h.api("GET", "/meetings")).body.meetings[0].status).toBe("completed");
    expect((await h.api("POST", "/_sandbox/clock/advance", { body: { ms: -1 } })).status).toBe(400);

    const { createSandbox } = await import("../../src/sandbox/index.js");
    const real = createSandbox({ apiKey: "k" });
    try {
      expect(real.advance).toBeUndefined();
      const r = await real.app.inject({
        method: "POST",
        url: "/_sandbox/clock/advance",
        headers: { "x-api-key": "k" },
        payload: { ms: 1 },
      });
      expect(r.statusCode).toBe(409);
    } finally {
      await real.close();
    }
  });
});
