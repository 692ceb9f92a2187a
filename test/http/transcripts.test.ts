import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { SEGMENT_KEYS } from "../helpers/vexa-shapes.js";
import { startBot, startTestApp, type TestApp, VEXA_FLAVORS } from "../helpers/app.js";
import { legs } from "../helpers/db.js";
import { waitFor } from "../helpers/wait.js";

const TRANSCRIPT_KEYS = [
  "id",
  "platform",
  "native_meeting_id",
  "constructed_meeting_url",
  "status",
  "start_time",
  "end_time",
  "segments",
];
const MIN = 60_000;
const calls = (t: TestApp, route: string) => t.sandbox.calls()[route] ?? 0;
const GET_T = "GET /transcripts/{platform}/{native_meeting_id}";
const DEL_M = "DELETE /meetings/{platform}/{native_meeting_id}";

async function userStatus(t: TestApp, key: string, native: string): Promise<string | undefined> {
  const res = await t.call("GET", "/meetings", { key });
  return res.body.meetings.find((m: { native_meeting_id: string }) => m.native_meeting_id === native)?.status;
}

describe.each(await legs())("transcripts and completion on %s", (leg) => {
  describe.each(VEXA_FLAVORS)("against %s Vexa", (vexa) => {
    let t: TestApp;
    let clock: ManualClock;
    beforeAll(async () => {
      clock = new ManualClock(Date.parse("2026-03-02T10:00:00Z"));
      t = await startTestApp(leg, {}, { clock, vexa, listen: true, sandbox: { stopDelayMs: 1000 } });
    });
    afterAll(async () => t.close());

    it("sends a transcript over 256 KB whole over HTTP, its shared segment bytes behind the reader's head", async () => {
      const u = await t.newUser();
      const native = "big-tran-scr";
      await startBot(t, u.key, native);
      clock.advance(120 * MIN);
      t.sandbox.addSegments("google_meet", native, 1000);
      const res = await fetch(`${t.gatewayUrl}/transcripts/google_meet/${native}`, {
        headers: { "x-api-key": u.key },
      });
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(res.status).toBe(200);
      expect(bytes.length).toBeGreaterThan(256 * 1024);
      expect(Number(res.headers.get("content-length"))).toBe(bytes.length);
      expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
      const body = JSON.parse(bytes.toString());
      expect(Object.keys(body)).toEqual(TRANSCRIPT_KEYS);
      expect(body).toMatchObject({ native_meeting_id: native, status: "active" });
      expect(body.segments.length).toBeGreaterThanOrEqual(1000);
    });

    it("serves a live meeting from the wholesaler and the finished one from the store, with identical segments", async () => {
      const u = await t.newUser();
      const native = "liv-eone-abc";
      const started = await t.call("POST", "/bots", {
        key: u.key,
        body: { platform: "google_meet", native_meeting_id: native },
      });
      expect(started.status, started.raw).toBe(201);
      clock.advance(10 * MIN);
      const live = await t.call("GET", `/transcripts/google_meet/${native}`, { key: u.key });
      expect(live.status, live.raw).toBe(200);
      expect(Object.keys(live.body)).toEqual(TRANSCRIPT_KEYS);
      expect(live.body.segments.length).toBeGreaterThan(50);
      expect(Object.keys(live.body.segments[0])).toEqual(SEGMENT_KEYS);
      // Absolute times exactly as the wholesaler prints them: `+00:00` in the baseline, `Z` in current Vexa.
      expect(live.body.segments[0].absolute_start_time).toMatch(vexa === "baseline" ? /\+00:00$/ : /Z$/);
      expect(live.body).toMatchObject({ id: started.body.id, status: "active", native_meeting_id: native });
      const direct = await fetch(`${t.sandboxUrl}/transcripts/google_meet/${native}`, {
        headers: { "x-api-key": t.sandboxKey },
      });
      // Served in the baseline's shape: its keys only (current Vexa adds segment_id and completed), nulls printed.
      const asBaseline = (seg: Record<string, unknown>) =>
        Object.fromEntries(SEGMENT_KEYS.map((k) => [k, seg[k] ?? null]));
      const upstreamSegments = ((await direct.json()) as { segments: Record<string, unknown>[] }).segments;
      expect(upstreamSegments.map(asBaseline)).toEqual(live.body.segments);

      expect((await t.call("DELETE", `/bots/google_meet/${native}`, { key: u.key })).status).toBe(202);
      clock.advance(2000); // the bot leaves; the wholesaler sends its webhook
      const lastLive = await t.call("GET", `/transcripts/google_meet/${native}`, { key: u.key });
      await waitFor(async () => (await userStatus(t, u.key, native)) === "completed", 30_000, "finalization");
      await waitFor(() => calls(t, DEL_M) > 0, 10_000, "upstream delete");
      const stored = await t.call("GET", `/transcripts/google_meet/${native}`, { key: u.key });
      expect(stored.status).toBe(200);
      expect(stored.body.status).toBe("completed");
      const strip = (s: Record<string, unknown>[]) => s.map(({ created_at: _c, ...rest }) => rest);
      expect(strip(stored.body.segments)).toEqual(strip(lastLive.body.segments));
      // The wholesaler's copy is gone, and reads no longer reach it.
      const before = calls(t, GET_T);
      await t.call("GET", `/transcripts/google_meet/${native}`, { key: u.key });
      expect(calls(t, GET_T)).toBe(before);
      const meeting = (await t.call("GET", "/meetings", { key: u.key })).body.meetings[0];
      expect(meeting.data.participants.length).toBeGreaterThan(0);
      expect(meeting.data.languages.length).toBeGreaterThan(0);
      expect(meeting.end_time).not.toBeNull();
      const rows = await t.deps.db.query<{ n: number; d: number }>(
        "SELECT count(*)::int AS n, count(DISTINCT segment_key)::int AS d FROM transcriptions WHERE meeting_id = $1",
        [started.body.id],
      );
      expect(rows.rows[0]?.n).toBe(stored.body.segments.length);
      expect(rows.rows[0]?.d).toBe(rows.rows[0]?.n);
    });

    it("coalesces 200 concurrent readers of one live meeting into a handful of upstream calls", async () => {
      const users = await Promise.all(Array.from({ length: 4 }, () => t.newUser()));
      const native = "coa-lesc-ing";
      for (const u of users)
        await t.call("POST", "/bots", {
          key: u.key,
          body: { platform: "google_meet", native_meeting_id: native },
        });
      clock.advance(5 * MIN);
      const before = calls(t, GET_T);
      const reads = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          t.call("GET", `/transcripts/google_meet/${native}`, { key: users[i % users.length]!.key }),
        ),
      );
      expect(reads.every((r) => r.status === 200)).toBe(true);
      expect(calls(t, GET_T) - before).toBeLessThanOrEqual(3);
    });

    it("shows each user only the window in which they held the bot, live and historical", async () => {
      const a = await t.newUser();
      const b = await t.newUser();
      const native = "win-dowa-bcd";
      await t.call("POST", "/bots", {
        key: a.key,
        body: { platform: "google_meet", native_meeting_id: native },
      });
      clock.advance(15 * MIN);
      const joinedAt = clock.now();
      await t.call("POST", "/bots", {
        key: b.key,
        body: { platform: "google_meet", native_meeting_id: native },
      });
      clock.advance(25 * MIN);
      const leftAt = clock.now();
      expect((await t.call("DELETE", `/bots/google_meet/${native}`, { key: b.key })).status).toBe(202);
      clock.advance(20 * MIN);
      const inWindow = (segs: { absolute_start_time: string }[]) =>
        segs.every(
          (s) => Date.parse(s.absolute_start_time) >= joinedAt && Date.parse(s.absolute_start_time) <= leftAt,
        );
      const bLive = (await t.call("GET", `/transcripts/google_meet/${native}`, { key: b.key })).body;
      const aLive = (await t.call("GET", `/transcripts/google_meet/${native}`, { key: a.key })).body;
      expect(bLive.segments.length).toBeGreaterThan(100);
      expect(inWindow(bLive.segments)).toBe(true);
      expect(aLive.segments.length).toBeGreaterThan(bLive.segments.length);
      await t.call("DELETE", `/bots/google_meet/${native}`, { key: a.key });
      clock.advance(2000);
      await waitFor(async () => (await userStatus(t, a.key, native)) === "completed", 30_000, "finalization");
      const bStored = (await t.call("GET", `/transcripts/google_meet/${native}`, { key: b.key })).body;
      expect(bStored.segments.length).toBe(bLive.segments.length);
      expect(inWindow(bStored.segments)).toBe(true);
    });

    it("serves the last checkpoint, marked stale, while the wholesaler is down", async () => {
      const u = await t.newUser();
      const native = "sta-lech-eck";
      await t.call("POST", "/bots", {
        key: u.key,
        body: { platform: "google_meet", native_meeting_id: native },
      });
      clock.advance(10 * MIN);
      const live = await t.call("GET", `/transcripts/google_meet/${native}`, { key: u.key });
      expect(live.headers["x-transcript-stale"]).toBeUndefined();
      await waitFor(
        async () => {
          const r = await t.deps.db.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM transcriptions t JOIN meetings m ON m.id = t.meeting_id WHERE m.platform_specific_id = $1",
            [native],
          );
          return (r.rows[0]?.n ?? 0) >= live.body.segments.length;
        },
        10_000,
        "checkpoint",
      );
      t.sandbox.faults.set(GET_T, { outage: true });
      try {
        clock.advance(5000);
        const stale = await t.call("GET", `/transcripts/google_meet/${native}`, { key: u.key });
        expect(stale.status).toBe(200);
        expect(stale.headers["x-transcript-stale"]).toBe("true");
        expect(stale.body.segments.map((s: { text: string }) => s.text).slice(0, -2)).toEqual(
          live.body.segments.map((s: { text: string }) => s.text).slice(0, -2),
        );
      } finally {
        t.sandbox.faults.reset();
      }
    });

    it("404s another user's transcript and an unknown meeting with Vexa's message", async () => {
      const a = await t.newUser();
      const b = await t.newUser();
      await t.call("POST", "/bots", {
        key: a.key,
        body: { platform: "google_meet", native_meeting_id: "iso-late-abc" },
      });
      const res = await t.call("GET", "/transcripts/google_meet/iso-late-abc", { key: b.key });
      expect([res.status, res.body]).toEqual([
        404,
        { detail: "Meeting not found for platform google_meet and ID iso-late-abc" },
      ]);
    });
  });
});
