import { describe, expect, it } from "vitest";
import { MEETING_KEYS, NAIVE, startSandbox } from "./helpers.js";

describe("POST /bots (baseline §3.2)", () => {
  it("answers 201 with a MeetingResponse in the baseline key order", async () => {
    const h = await startSandbox();
    const res = await h.api("POST", "/bots", {
      body: {
        platform: "google_meet",
        native_meeting_id: "xdy-txjo-fyh",
        bot_name: "Notes",
        language: "en",
        service_layer_id: "retailer-1",
      },
    });
    expect(res.status, res.text).toBe(201);
    const m = res.body;
    expect(Object.keys(m)).toEqual(MEETING_KEYS);
    expect(m).toMatchObject({
      id: 1,
      user_id: 1,
      platform: "google_meet",
      native_meeting_id: "xdy-txjo-fyh",
      constructed_meeting_url: "https://meet.google.com/xdy-txjo-fyh",
      status: "active",
      end_time: null,
      data: { service_layer_id: "retailer-1" },
    });
    expect(m.bot_container_id).toMatch(/^[0-9a-f]{64}$/);
    for (const k of ["start_time", "created_at", "updated_at"]) expect(m[k]).toMatch(NAIVE);
    expect(m.start_time.startsWith("2026-01-01T10:00:00.")).toBe(true);
  });

  it("data is {} without a service_layer_id; teams has no constructed URL", async () => {
    const h = await startSandbox();
    const res = await h.bot("9876543210123", "teams");
    expect(res.body.data).toEqual({});
    expect(res.body.constructed_meeting_url).toBeNull();
  });

  it("a second live bot for the same meeting is 409 with the baseline message", async () => {
    const h = await startSandbox();
    const first = await h.bot();
    const again = await h.bot();
    expect(again.status).toBe(409);
    expect(again.body).toEqual({
      detail: `An active or requested meeting already exists for this platform and meeting ID, and its container is running. Meeting ID: ${first.body.id}`,
    });
    // Still 409 while stopping; free again once completed.
    await h.api("DELETE", "/bots/google_meet/abc-defg-hij");
    expect((await h.bot()).status).toBe(409);
    h.sandbox.advance?.(1500);
    const next = await h.bot();
    expect(next.status, next.text).toBe(201);
    expect(next.body.id).toBe(first.body.id + 1);
    // Other meetings and platforms are independent.
    expect((await h.bot("abc-defg-hij", "zoom")).status).toBe(201);
  });

  it("past maxConcurrentBots: 403, leaving the baseline's error row behind", async () => {
    const h = await startSandbox({ maxConcurrentBots: 2 });
    expect((await h.bot("aaa-aaaa-aaa")).status).toBe(201);
    expect((await h.bot("bbb-bbbb-bbb")).status).toBe(201);
    const third = await h.bot("ccc-cccc-ccc");
    expect(third.status).toBe(403);
    expect(third.body).toEqual({ detail: "User has reached the maximum concurrent bot limit (2)." });
    const meetings = (await h.api("GET", "/meetings")).body.meetings;
    expect(meetings[0]).toMatchObject({
      native_meeting_id: "ccc-cccc-ccc",
      status: "error",
      bot_container_id: null,
      start_time: null,
    });
    // A stopping bot still counts until its container is gone.
    await h.api("DELETE", "/bots/google_meet/aaa-aaaa-aaa");
    expect((await h.bot("ddd-dddd-ddd")).status).toBe(403);
    h.sandbox.advance?.(1500);
    expect((await h.bot("ddd-dddd-ddd")).status).toBe(201);
  });

  it("limitStatus 429 answers 429 with Retry-After and leaves no row", async () => {
    const h = await startSandbox({ maxConcurrentBots: 1, limitStatus: 429 });
    await h.bot("aaa-aaaa-aaa");
    const res = await h.bot("bbb-bbbb-bbb");
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(res.body).toEqual({ detail: "User has reached the maximum concurrent bot limit (1)." });
    expect((await h.api("GET", "/meetings")).body.meetings).toHaveLength(1);
  });

  it('postStartStatus "requested": 201 says requested, active after the join delay', async () => {
    const h = await startSandbox({ postStartStatus: "requested", joinDelayMs: 3000 });
    const res = await h.bot();
    expect(res.body).toMatchObject({ status: "requested", start_time: null });
    expect((await h.api("DELETE", "/bots/google_meet/abc-defg-hij")).status).toBe(404);
    h.sandbox.advance?.(3000);
    const t = (await h.api("GET", "/transcripts/google_meet/abc-defg-hij")).body;
    expect(t.status).toBe("active");
    expect(t.start_time).toMatch(NAIVE);
  });
});

describe("DELETE /bots (baseline §3.3)", () => {
  it("202, stopping, then completed with end_time after stopDelayMs", async () => {
    const h = await startSandbox({ stopDelayMs: 2000 });
    await h.bot();
    const stop = await h.api("DELETE", "/bots/google_meet/abc-defg-hij");
    expect(stop.status).toBe(202);
    expect(stop.text).toBe('{"message":"Stop request accepted and is being processed."}');
    const get = async () => (await h.api("GET", "/meetings")).body.meetings[0];
    expect(await get()).toMatchObject({ status: "stopping", end_time: null });
    const again = await h.api("DELETE", "/bots/google_meet/abc-defg-hij");
    expect(again.status).toBe(404);
    expect(again.body).toEqual({ detail: "Active meeting not found." });
    h.sandbox.advance?.(1999);
    expect((await get()).status).toBe("stopping");
    h.sandbox.advance?.(1);
    const done = await get();
    expect(done.status).toBe("completed");
    expect(done.end_time).toMatch(NAIVE);
    expect(done.end_time > done.start_time).toBe(true);
  });

  it("404 for an unknown meeting", async () => {
    const h = await startSandbox();
    const res = await h.api("DELETE", "/bots/google_meet/nope");
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ detail: "Active meeting not found." });
  });
});

describe("PUT /bots/.../config (baseline §3.4)", () => {
  it("202 when active, 409 with the status once not, 404 when unknown", async () => {
    const h = await startSandbox();
    await h.bot();
    const ok = await h.api("PUT", "/bots/google_meet/abc-defg-hij/config", { body: { language: "de" } });
    expect(ok.status).toBe(202);
    expect(ok.body).toEqual({ message: "Reconfiguration request accepted and sent to the bot." });
    expect((await h.api("PUT", "/bots/google_meet/abc-defg-hij/config", { body: {} })).status).toBe(202);
    await h.api("DELETE", "/bots/google_meet/abc-defg-hij");
    h.sandbox.advance?.(1500);
    const after = await h.api("PUT", "/bots/google_meet/abc-defg-hij/config", { body: { language: "de" } });
    expect(after.status).toBe(409);
    expect(after.body).toEqual({
      detail: "Meeting found but is not active (status: 'completed'). Cannot reconfigure.",
    });
    const unknown = await h.api("PUT", "/bots/google_meet/wrong meeting id/config", {
      body: { language: "de" },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({
      detail: "No active meeting found for platform google_meet and meeting ID wrong meeting id.",
    });
  });
});

describe("GET /bots/status (baseline §3.5)", () => {
  it("lists live bots with Docker-like fields, newest first", async () => {
    const h = await startSandbox();
    const a = (await h.bot("aaa-aaaa-aaa")).body;
    h.clock.advance(37_000);
    const b = (await h.bot("bbb-bbbb-bbb")).body;
    h.clock.advance(1_000);
    const res = await h.api("GET", "/bots/status");
    expect(res.status).toBe(200);
    const bots = res.body.running_bots;
    expect(bots.map((x: any) => x.native_meeting_id)).toEqual(["bbb-bbbb-bbb", "aaa-aaaa-aaa"]);
    const older = bots[1];
    expect(Object.keys(older)).toEqual([
      "container_id",
      "container_name",
      "platform",
      "native_meeting_id",
      "status",
      "created_at",
      "labels",
      "meeting_id_from_name",
    ]);
    expect(older).toMatchObject({
      container_id: a.bot_container_id,
      platform: "google_meet",
      status: "Up 38 seconds",
      created_at: "2026-01-01T10:00:00+00:00",
      labels: { "vexa.user_id": "1" },
      meeting_id_from_name: String(a.id),
    });
    expect(older.container_name).toMatch(new RegExp(`^vexa-bot-${a.id}-[0-9a-f]{8}$`));
    expect(bots[0].status).toBe("Up 1 second");
    expect(bots[0].container_id).toBe(b.bot_container_id);
    await h.api("DELETE", "/bots/google_meet/aaa-aaaa-aaa");
    h.sandbox.advance?.(1500);
    expect((await h.api("GET", "/bots/status")).body.running_bots).toHaveLength(1);
  });
});

describe("baseline corner cases", () => {
  it("an explicit null for a required field is pydantic v1's none error", async () => {
    const h = await startSandbox();
    const res = await h.api("POST", "/bots", { body: { platform: null, native_meeting_id: "x" } });
    expect(res.body).toEqual({
      detail: [
        {
          loc: ["body", "platform"],
          msg: "none is not an allowed value",
          type: "type_error.none.not_allowed",
        },
      ],
    });
  });

  it("a limit 403 error row hears nothing; the duplicate check still names the live meeting", async () => {
    const h = await startSandbox({ maxConcurrentBots: 1 });
    const live = (await h.bot("aaa-aaaa-aaa")).body;
    expect((await h.bot("bbb-bbbb-bbb")).status).toBe(403);
    h.sandbox.advance?.(60_000);
    const errorRow = (await h.api("GET", "/transcripts/google_meet/bbb-bbbb-bbb")).body;
    expect(errorRow).toMatchObject({ status: "error", segments: [] });
    const dup = await h.bot("aaa-aaaa-aaa");
    expect(dup.status).toBe(409);
    expect(dup.body.detail).toMatch(new RegExp(`Meeting ID: ${live.id}$`));
  });
});
