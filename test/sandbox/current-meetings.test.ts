import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CURRENT_TRANSCRIPT_KEYS } from "../helpers/vexa-shapes.js";
import { startReceiver, startSandbox } from "./helpers.js";

/** Current Vexa as the sandbox imitates it: transcripts, meetings, deletion and the webhook.v1 envelope. */

const PATH = "/transcripts/google_meet/abc-defg-hij";
const SECRET = "whsec-current";
const current = (opts = {}) => startSandbox({ flavor: "current", joinDelayMs: 1000, ...opts });

describe("current Vexa: transcripts", () => {
  it("segments carry segment_id and completed; live ones the bot's times, flushed ones start_time + start", async () => {
    const h = await current();
    await h.bot();
    h.sandbox.advance?.(90_000);
    const t = (await h.api("GET", PATH)).body;
    expect(Object.keys(t)).toEqual(CURRENT_TRANSCRIPT_KEYS);
    const segs = t.segments as any[];
    expect(segs.length).toBeGreaterThan(5);
    for (const s of segs) {
      expect(Object.keys(s)).toEqual([
        "start",
        "end",
        "text",
        "language",
        "speaker",
        "completed",
        "segment_id",
        "absolute_start_time",
        "absolute_end_time",
      ]);
    }
    expect(new Set(segs.map((s) => s.segment_id)).size).toBe(segs.length);
    const startMs = Date.parse(t.start_time);
    // Flushed (older) segments: recomputed from the meeting start, Python's microsecond Z format.
    const old = segs[0];
    expect(old.completed).toBe(true);
    expect(old.absolute_start_time).toMatch(/\d{2}Z$/);
    expect(Date.parse(old.absolute_start_time)).toBeCloseTo(startMs + old.start * 1000, -1);
    // The newest one is still being spoken: the bot's own time (toISOString), not yet completed.
    const last = segs.at(-1);
    expect(last.completed).toBe(false);
    expect(last.absolute_start_time).toMatch(/\.\d{3}Z$/);
    expect(Date.parse(last.absolute_start_time)).not.toBeCloseTo(startMs + last.start * 1000, -1);
  });

  it("at the end every segment is flushed: completed, times from start_time, still no created_at", async () => {
    const h = await current();
    await h.bot();
    h.sandbox.advance?.(30_000);
    await h.api("DELETE", "/bots/google_meet/abc-defg-hij");
    h.sandbox.advance?.(1500);
    const t = (await h.api("GET", PATH)).body;
    expect(t.status).toBe("completed");
    const startMs = Date.parse(t.start_time);
    for (const s of t.segments) {
      expect(s.completed).toBe(true);
      expect(s).not.toHaveProperty("created_at");
      expect(Date.parse(s.absolute_start_time)).toBeCloseTo(startMs + s.start * 1000, -1);
    }
  });
});

describe("current Vexa: meetings", () => {
  it("GET /meetings: rows with shared, newest first, 50 by default, limit and offset", async () => {
    const h = await current();
    for (let i = 0; i < 3; i++) await h.bot(`abc-defg-hi${i}`);
    const all = (await h.api("GET", "/meetings")).body.meetings;
    expect(all.map((m: any) => m.native_meeting_id)).toEqual([
      "abc-defg-hi2",
      "abc-defg-hi1",
      "abc-defg-hi0",
    ]);
    expect(all[0]).toMatchObject({ shared: false });
    const page = (await h.api("GET", "/meetings?limit=1&offset=1")).body.meetings;
    expect(page.map((m: any) => m.native_meeting_id)).toEqual(["abc-defg-hi1"]);
    expect((await h.api("GET", "/meetings?limit=101")).status).toBe(422);
  });

  it("DELETE /meetings: 409 while live; 200 deleted once finished, transcript gone, meeting still listed", async () => {
    const h = await current();
    const { body: m } = await h.bot();
    const DEL = "/meetings/google_meet/abc-defg-hij";
    const live = await h.api("DELETE", DEL);
    expect(live.status).toBe(409);
    expect(live.body).toEqual({
      detail: "Meeting artifacts can only be deleted after the lifecycle is terminal",
    });
    h.sandbox.advance?.(20_000);
    await h.api("DELETE", "/bots/google_meet/abc-defg-hij");
    h.sandbox.advance?.(1500);
    const res = await h.api("DELETE", DEL);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({
      status: "deleted",
      id: m.id,
      platform: "google_meet",
      native_meeting_id: "abc-defg-hij",
      deleted: "completed_meeting_artifacts",
      objects_deleted: 0,
      backup_residuals: "expire_under_deployment_retention_policy",
    });
    const gone = await h.api("GET", PATH);
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ detail: "Meeting not found for platform google_meet and ID abc-defg-hij" });
    const listed = (await h.api("GET", "/meetings")).body.meetings[0];
    expect(listed).toMatchObject({ id: m.id, status: "completed" });
    expect(listed.data.artifact_deletion).toMatchObject({ state: "completed" });
    expect((await h.api("DELETE", DEL)).status).toBe(200);
    expect((await h.api("DELETE", "/meetings/google_meet/nope")).status).toBe(404);
  });

  it("PATCH /meetings edits planned meetings only: a meeting with a bot is 409", async () => {
    const h = await current();
    await h.bot();
    const P = "/meetings/google_meet/abc-defg-hij";
    expect((await h.api("PATCH", P, { body: { data: { name: "x" } } })).body).toEqual({
      detail: "no editable fields in body",
    });
    expect(await h.api("PATCH", P, { body: { title: "Weekly" } })).toMatchObject({
      status: 409,
      body: { detail: "Meeting is no longer planned (bot lifecycle owns it)" },
    });
  });
});

describe("current Vexa: webhooks", () => {
  it("meeting.completed envelope to the URL set before the bot, Bearer + signature", async () => {
    const rx = await startReceiver();
    const h = await current({ webhookSecret: SECRET });
    await h.api("PUT", "/user/webhook", { body: { webhook_url: rx.url } });
    const { body: m } = await h.bot();
    h.sandbox.advance?.(20_000);
    await h.api("DELETE", "/bots/google_meet/abc-defg-hij");
    h.sandbox.advance?.(1500);
    await h.sandbox.idle();
    expect(rx.received).toHaveLength(1);
    const { headers, body } = rx.received[0]!;
    expect(headers.authorization).toBe(`Bearer ${SECRET}`);
    const ts = headers["x-webhook-timestamp"] as string;
    expect(headers["x-webhook-signature"]).toBe(
      `sha256=${createHmac("sha256", SECRET).update(`${ts}.${body}`).digest("hex")}`,
    );
    const env = JSON.parse(body);
    expect(Object.keys(env)).toEqual(["event_id", "event_type", "api_version", "created_at", "data"]);
    expect(env).toMatchObject({ event_type: "meeting.completed", api_version: "2026-03-01" });
    expect(env.event_id).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(Object.keys(env.data)).toEqual(["meeting"]);
    expect(env.data.meeting).toMatchObject({ id: m.id, status: "completed", completion_reason: "stopped" });
    expect(env.data.meeting.data).not.toHaveProperty("webhook_url");
  });

  it("a URL set after the bot started is not used; bot.failed is sent only when subscribed", async () => {
    const rx = await startReceiver();
    const h = await current({ webhookSecret: SECRET });
    await h.bot();
    await h.api("PUT", "/user/webhook", { body: { webhook_url: rx.url } });
    await h.sandbox.endMeeting("google_meet", "abc-defg-hij");
    await h.api("PUT", "/user/webhook", {
      body: { webhook_url: rx.url, webhook_events: { "bot.failed": true } },
    });
    await h.bot("xyz-abcd-efg");
    await h.sandbox.endMeeting("google_meet", "xyz-abcd-efg", "failed");
    await h.sandbox.idle();
    expect(rx.received.map((r) => JSON.parse(r.body).event_type)).toEqual(["bot.failed"]);
    expect(JSON.parse(rx.received[0]!.body).data).toHaveProperty("status_change");
  });

  it("with blockPrivateWebhooks, a loopback or internal target gets nothing, as current Vexa's SSRF guard", async () => {
    const rx = await startReceiver();
    const h = await current({ webhookSecret: SECRET, blockPrivateWebhooks: true });
    for (const [i, url] of [rx.url, "http://api-gateway:8056/hook", "http://[::1]:9/hook"].entries()) {
      await h.api("PUT", "/user/webhook", { body: { webhook_url: url } });
      const nativeId = `abc-defg-hi${i}`;
      await h.bot(nativeId);
      await h.sandbox.endMeeting("google_meet", nativeId);
    }
    await h.sandbox.idle();
    expect(rx.received).toEqual([]);
    const log = (await h.api("GET", "/_sandbox/webhooks")).body;
    expect(log.deliveries).toEqual([]);
    expect(log.blocked).toEqual([rx.url, "http://api-gateway:8056/hook", "http://[::1]:9/hook"]);
  });
});
