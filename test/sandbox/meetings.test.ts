import { describe, expect, it } from "vitest";
import { MEETING_KEYS, NAIVE, startSandbox } from "./helpers.js";

describe("GET /meetings (baseline §3.6)", () => {
  it("every meeting, newest first, MeetingResponse keys", async () => {
    const h = await startSandbox();
    await h.bot("aaa-aaaa-aaa");
    h.clock.advance(1000);
    await h.bot("bbb-bbbb-bbb");
    const res = await h.api("GET", "/meetings");
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(["meetings"]);
    expect(res.body.meetings.map((m: any) => m.native_meeting_id)).toEqual(["bbb-bbbb-bbb", "aaa-aaaa-aaa"]);
    for (const m of res.body.meetings) expect(Object.keys(m)).toEqual(MEETING_KEYS);
  });
});

describe("PATCH /meetings (baseline §3.8)", () => {
  it("shallow-merges the allowed keys, drops nulls, bumps updated_at; data keys come back in JSONB order", async () => {
    const h = await startSandbox();
    const created = (
      await h.api("POST", "/bots", {
        body: { platform: "google_meet", native_meeting_id: "abc-defg-hij", service_layer_id: "r1" },
      })
    ).body;
    h.clock.advance(5);
    const res = await h.api("PATCH", "/meetings/google_meet/abc-defg-hij", {
      body: { data: { name: "Weekly", notes: null, participants: ["A"], unknown: 1 } },
    });
    expect(res.status, res.text).toBe(200);
    expect(Object.keys(res.body)).toEqual(MEETING_KEYS);
    expect(res.text).toContain('"data":{"name":"Weekly","participants":["A"],"service_layer_id":"r1"}');
    expect(res.body.updated_at > created.updated_at).toBe(true);
    const second = await h.api("PATCH", "/meetings/google_meet/abc-defg-hij", {
      body: { data: { name: "Renamed" } },
    });
    expect(second.body.data).toEqual({ name: "Renamed", participants: ["A"], service_layer_id: "r1" });
  });

  it("400 when nothing is left, 404 for an unknown meeting", async () => {
    const h = await startSandbox();
    await h.bot();
    const empty = await h.api("PATCH", "/meetings/google_meet/abc-defg-hij", {
      body: { data: { name: null } },
    });
    expect(empty.status).toBe(400);
    expect(empty.body).toEqual({ detail: "No data provided for update." });
    const unknown = await h.api("PATCH", "/meetings/teams/123", { body: { data: { name: "x" } } });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ detail: "Meeting not found for platform teams and ID 123" });
  });
});

describe("DELETE /meetings (baseline §3.9)", () => {
  it("hard-deletes the latest meeting; the transcript is gone too", async () => {
    const h = await startSandbox();
    await h.bot();
    await h.api("DELETE", "/bots/google_meet/abc-defg-hij");
    h.sandbox.advance?.(1500);
    const res = await h.api("DELETE", "/meetings/google_meet/abc-defg-hij");
    expect(res.status).toBe(200);
    expect(res.text).toBe(
      '{"message":"Meeting google_meet/abc-defg-hij and all its transcripts have been deleted"}',
    );
    const t = await h.api("GET", "/transcripts/google_meet/abc-defg-hij");
    expect(t.status).toBe(404);
    expect(t.body).toEqual({ detail: "Meeting not found for platform google_meet and ID abc-defg-hij" });
    expect((await h.api("GET", "/meetings")).body.meetings).toEqual([]);
    expect((await h.api("DELETE", "/meetings/google_meet/abc-defg-hij")).status).toBe(404);
  });
});

describe("PUT /user/webhook (baseline §3.10)", () => {
  it("stores the URL in the user's data and answers a UserResponse", async () => {
    const h = await startSandbox({ maxConcurrentBots: 7 });
    const res = await h.api("PUT", "/user/webhook", {
      body: { webhook_url: "https://example.com/hook", webhook_secret: "s3cret" },
    });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual([
      "email",
      "name",
      "image_url",
      "max_concurrent_bots",
      "data",
      "id",
      "created_at",
    ]);
    expect(res.body).toMatchObject({
      max_concurrent_bots: 7,
      data: { webhook_url: "https://example.com/hook" },
      id: 1,
    });
    expect(res.text).not.toContain("s3cret");
    expect(res.body.created_at).toMatch(NAIVE);
  });
});
