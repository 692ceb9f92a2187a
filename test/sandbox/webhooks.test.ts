import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signWebhook } from "../../src/sandbox/index.js";
import { MEETING_KEYS, NAIVE, startReceiver, startSandbox } from "./helpers.js";

const SECRET = "whsec-test";

async function stopAndFinish(h: Awaited<ReturnType<typeof startSandbox>>, delay = 1500) {
  await h.api("DELETE", "/bots/google_meet/abc-defg-hij");
  h.sandbox.advance?.(delay);
  await h.sandbox.idle();
}

describe("meeting-finished webhook (baseline §12.1, signed like newer Vexa)", () => {
  it("stop → completed → one signed flat POST to the registered URL", async () => {
    const rx = await startReceiver();
    const h = await startSandbox({ webhookSecret: SECRET });
    await h.api("PUT", "/user/webhook", { body: { webhook_url: rx.url } });
    await h.bot();
    h.sandbox.advance?.(20_000);
    await stopAndFinish(h);
    expect(rx.received).toHaveLength(1);
    const { headers, body } = rx.received[0]!;
    expect(headers["content-type"]).toBe("application/json");
    expect(headers.authorization).toBeUndefined();
    const ts = headers["x-webhook-timestamp"] as string;
    expect(ts).toBe(String(Math.floor(Date.parse("2026-01-01T10:00:21.5Z") / 1000)));
    const expected = `sha256=${createHmac("sha256", SECRET).update(`${ts}.${body}`).digest("hex")}`;
    expect(headers["x-webhook-signature"]).toBe(expected);
    expect(signWebhook(SECRET, ts, body)).toBe(expected);
    const meeting = JSON.parse(body);
    expect(Object.keys(meeting)).toEqual(MEETING_KEYS);
    expect(meeting).toMatchObject({
      status: "completed",
      platform: "google_meet",
      native_meeting_id: "abc-defg-hij",
    });
    expect(meeting.end_time).toMatch(NAIVE);
    expect(meeting.data.participants.length).toBeGreaterThan(0);
    // The webhook says what GET /meetings says; the data stays until DELETE /meetings.
    const listed = (await h.api("GET", "/meetings")).body.meetings[0];
    expect(listed).toEqual(meeting);
    expect((await h.api("GET", "/transcripts/google_meet/abc-defg-hij")).status).toBe(200);
    const log = h.sandbox.webhookDeliveries();
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ url: rx.url, status: 200, body });
    expect(log[0]!.headers["x-webhook-signature"]).toBe(expected);
  });

  it("unsigned without a secret; the webhookUrl option is the default target; sent once even if it fails", async () => {
    const rx = await startReceiver(500);
    const h = await startSandbox({ webhookUrl: rx.url });
    await h.bot();
    await stopAndFinish(h);
    h.sandbox.advance?.(600_000);
    await h.sandbox.idle();
    expect(rx.received).toHaveLength(1);
    expect(rx.received[0]!.headers["x-webhook-signature"]).toBeUndefined();
    expect(h.sandbox.webhookDeliveries().map((d) => d.status)).toEqual([500]);
  });

  it("PUT /user/webhook with webhook_secret signs; Bearer is optional", async () => {
    const rx = await startReceiver();
    const h = await startSandbox({ webhookBearer: true });
    await h.api("PUT", "/user/webhook", { body: { webhook_url: rx.url, webhook_secret: "from-put" } });
    await h.bot();
    await stopAndFinish(h);
    const { headers, body } = rx.received[0]!;
    expect(headers["x-webhook-signature"]).toBe(
      signWebhook("from-put", headers["x-webhook-timestamp"] as string, body),
    );
    expect(headers.authorization).toBe("Bearer from-put");
  });

  it("envelope format: event_id deterministic per meeting + status", async () => {
    const run = async () => {
      const rx = await startReceiver();
      const h = await startSandbox({ webhookFormat: "envelope", webhookUrl: rx.url });
      await h.bot();
      await stopAndFinish(h);
      return JSON.parse(rx.received[0]!.body);
    };
    const a = await run();
    expect(Object.keys(a)).toEqual(["event_id", "event_type", "api_version", "created_at", "data"]);
    expect(a.event_id).toMatch(/^evt_[0-9a-f]{24}$/);
    expect(a).toMatchObject({ event_type: "meeting.completed", api_version: "2026-03-01" });
    expect(a.created_at).toMatch(/\+00:00$/);
    expect(Object.keys(a.data)).toEqual(["meeting"]);
    expect(Object.keys(a.data.meeting)).toEqual(MEETING_KEYS);
    expect(a.data.meeting.status).toBe("completed");
    expect((await run()).event_id).toBe(a.event_id);
  });

  it("maxMeetingMs ends a meeting by itself; endMeeting can fail one", async () => {
    const rx = await startReceiver();
    const h = await startSandbox({ webhookUrl: rx.url, maxMeetingMs: 600_000 });
    await h.bot("aaa-aaaa-aaa");
    await h.bot("bbb-bbbb-bbb");
    await h.sandbox.endMeeting("google_meet", "bbb-bbbb-bbb", "failed");
    expect(JSON.parse(rx.received[0]!.body).status).toBe("failed");
    h.sandbox.advance?.(599_999);
    await h.sandbox.idle();
    expect(rx.received).toHaveLength(1);
    h.sandbox.advance?.(1);
    await h.sandbox.idle();
    expect(rx.received).toHaveLength(2);
    expect(JSON.parse(rx.received[1]!.body)).toMatchObject({
      native_meeting_id: "aaa-aaaa-aaa",
      status: "completed",
    });
    await expect(h.sandbox.endMeeting("google_meet", "aaa-aaaa-aaa")).rejects.toThrow(/No live meeting/);
    // The same through the control API.
    await h.bot("ccc-cccc-ccc");
    const res = await h.api("POST", "/_sandbox/meetings/google_meet/ccc-cccc-ccc/end", {
      body: { status: "completed" },
    });
    expect(res.body).toEqual({ ok: true });
    expect(rx.received).toHaveLength(3);
    expect((await h.api("POST", "/_sandbox/meetings/google_meet/ccc-cccc-ccc/end")).status).toBe(404);
  });

  it("a deleted or lost meeting never sends its webhook", async () => {
    const rx = await startReceiver();
    const h = await startSandbox({ webhookUrl: rx.url });
    await h.bot("aaa-aaaa-aaa");
    await h.bot("bbb-bbbb-bbb");
    await h.api("DELETE", "/bots/google_meet/aaa-aaaa-aaa");
    await h.api("DELETE", "/bots/google_meet/bbb-bbbb-bbb");
    await h.api("DELETE", "/meetings/google_meet/aaa-aaaa-aaa");
    h.sandbox.faults.loseMeeting("google_meet", "bbb-bbbb-bbb");
    h.sandbox.advance?.(10_000);
    await h.sandbox.idle();
    expect(rx.received).toHaveLength(0);
  });
});

describe("webhook faults", () => {
  it("drop: nothing is sent (all, or the next N)", async () => {
    const rx = await startReceiver();
    const h = await startSandbox({ webhookUrl: rx.url });
    h.sandbox.faults.setWebhooks({ dropWebhooks: 1 });
    await h.bot("aaa-aaaa-aaa");
    await h.bot("bbb-bbbb-bbb");
    await h.sandbox.endMeeting("google_meet", "aaa-aaaa-aaa");
    await h.sandbox.endMeeting("google_meet", "bbb-bbbb-bbb");
    expect(rx.received.map((r) => JSON.parse(r.body).native_meeting_id)).toEqual(["bbb-bbbb-bbb"]);
    expect((await h.api("GET", "/_sandbox/webhooks")).body.dropped).toBe(1);
    h.sandbox.faults.setWebhooks({ dropWebhooks: true });
    await h.bot("ccc-cccc-ccc");
    await h.sandbox.endMeeting("google_meet", "ccc-cccc-ccc");
    expect(rx.received).toHaveLength(1);
    expect(h.sandbox.webhookDeliveries()).toHaveLength(1);
  });

  it("duplicate, unsigned and bad-signature webhooks", async () => {
    const rx = await startReceiver();
    const h = await startSandbox({ webhookUrl: rx.url, webhookSecret: SECRET });
    h.sandbox.faults.setWebhooks({ duplicateWebhooks: 3 });
    await h.bot("aaa-aaaa-aaa");
    await h.sandbox.endMeeting("google_meet", "aaa-aaaa-aaa");
    expect(rx.received).toHaveLength(3);
    expect(new Set(rx.received.map((r) => r.body)).size).toBe(1);

    h.sandbox.faults.reset();
    h.sandbox.faults.setWebhooks({ unsignedWebhooks: true });
    await h.bot("bbb-bbbb-bbb");
    await h.sandbox.endMeeting("google_meet", "bbb-bbbb-bbb");
    expect(rx.received[3]!.headers["x-webhook-signature"]).toBeUndefined();
    expect(rx.received[3]!.headers["x-webhook-timestamp"]).toBeUndefined();

    h.sandbox.faults.setWebhooks({ unsignedWebhooks: undefined, badSignatureWebhooks: true });
    await h.bot("ccc-cccc-ccc");
    await h.sandbox.endMeeting("google_meet", "ccc-cccc-ccc");
    const bad = rx.received[4]!;
    expect(bad.headers["x-webhook-signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(bad.headers["x-webhook-signature"]).not.toBe(
      signWebhook(SECRET, bad.headers["x-webhook-timestamp"] as string, bad.body),
    );
  });

  it("late webhooks arrive after webhookDelayMs of simulated time", async () => {
    const rx = await startReceiver();
    const h = await startSandbox({ webhookUrl: rx.url });
    await h.api("PUT", "/_sandbox/faults", { body: { webhooks: { webhookDelayMs: 120_000 } } });
    await h.bot();
    await stopAndFinish(h);
    expect(rx.received).toHaveLength(0);
    expect((await h.api("GET", "/meetings")).body.meetings[0].status).toBe("completed");
    await h.api("POST", "/_sandbox/clock/advance", { body: { ms: 120_000 } });
    expect(rx.received).toHaveLength(1);
  });

  it("an unreachable target is recorded as an error", async () => {
    const h = await startSandbox({ webhookUrl: "http://127.0.0.1:9/nothing-here" });
    await h.bot();
    await stopAndFinish(h);
    expect(h.sandbox.webhookDeliveries()).toMatchObject([
      { status: "error", url: "http://127.0.0.1:9/nothing-here" },
    ]);
  });
});
