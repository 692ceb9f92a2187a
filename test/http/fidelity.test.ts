import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Clock, ManualClock } from "../../src/clock.js";
import { finalizeMeeting } from "../../src/jobs/finalize-meeting.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";

const MIN = 60_000;

/** The wholesaler's clock: the test's manual clock shifted by `skewMs` (its timers run on the same timeline). */
function skewed(base: ManualClock, skewMs: number): Clock {
  return {
    now: () => base.now() + skewMs,
    setTimeout: (fn, ms) => base.setTimeout(fn, ms),
    clearTimeout: (h) => base.clearTimeout(h),
  };
}

interface Seg {
  start: number;
  end: number;
  text: string;
  speaker: string | null;
  created_at: string | null;
  absolute_start_time: string | null;
  absolute_end_time: string | null;
}

async function upstreamTranscript(t: TestApp, native: string): Promise<{ id: number; segments: Seg[] }> {
  const res = await fetch(`${t.sandboxUrl}/transcripts/google_meet/${native}`, {
    headers: { "x-api-key": t.sandboxKey },
  });
  return (await res.json()) as { id: number; segments: Seg[] };
}

const withoutCreatedAt = (segs: Seg[]) => segs.map(({ created_at: _c, ...rest }) => rest);
const absMs = (s: Seg) => Date.parse(s.absolute_start_time ?? "");

/**
 * The wholesaler's clock is 30 s ahead or behind ours; the meeting is finalized by the job itself (no webhook, the
 * reconciler idle) so the test can read the wholesaler's final transcript first.
 */
describe.each(await legs())("transcript windows against a skewed wholesaler on %s", (leg) => {
  for (const skew of [30_000, -30_000]) {
    describe(`wholesaler clock ${skew > 0 ? "+" : ""}${skew / 1000} s`, () => {
      let t: TestApp;
      let clock: ManualClock;
      const finalize = (meetingId: number) =>
        finalizeMeeting(
          { db: t.deps.db, clock, client: t.deps.client, queue: t.deps.queue, serviceLayerId: "retailer-1" },
          meetingId,
        );
      beforeAll(async () => {
        clock = new ManualClock(Date.parse("2026-03-02T10:00:00Z"));
        t = await startTestApp(
          leg,
          { RECONCILE_INTERVAL_SECONDS: "3600" },
          { clock, sandbox: { clock: skewed(clock, skew), stopDelayMs: 1000 } },
        );
      });
      afterAll(async () => t.close());

      it("a sole holder's finished transcript equals the wholesaler's final transcript", async () => {
        const u = await t.newUser();
        const native = skew > 0 ? "sol-ehol-der" : "sol-ehol-dem";
        const started = await t.call("POST", "/bots", {
          key: u.key,
          body: { platform: "google_meet", native_meeting_id: native },
        });
        expect(started.status, started.raw).toBe(201);
        clock.advance(3 * MIN);
        expect((await t.call("DELETE", `/bots/google_meet/${native}`, { key: u.key })).status).toBe(202);
        clock.advance(2000);
        const final = await upstreamTranscript(t, native);
        expect(final.segments.length).toBeGreaterThan(20);
        await finalize(started.body.id);
        const stored = await t.call("GET", `/transcripts/google_meet/${native}`, { key: u.key });
        expect(stored.body.status).toBe("completed");
        expect(withoutCreatedAt(stored.body.segments)).toEqual(withoutCreatedAt(final.segments));
        // Vexa's stored rows carry a naive created_at; ours is the wholesaler's, or our storage time.
        for (const s of stored.body.segments as Seg[])
          expect(s.created_at).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+$/);
      });

      it("late joiners and early leavers are cut on the wholesaler's timeline", async () => {
        const a = await t.newUser();
        const b = await t.newUser();
        const native = skew > 0 ? "sha-redw-ina" : "sha-redw-inb";
        const body = { platform: "google_meet", native_meeting_id: native };
        const first = await t.call("POST", "/bots", { key: a.key, body });
        expect(first.status, first.raw).toBe(201);
        clock.advance(MIN);
        const bJoins = clock.now();
        expect((await t.call("POST", "/bots", { key: b.key, body })).status).toBe(201);
        clock.advance(MIN);
        const aLeaves = clock.now();
        expect((await t.call("DELETE", `/bots/google_meet/${native}`, { key: a.key })).status).toBe(202);
        clock.advance(MIN);
        expect((await t.call("DELETE", `/bots/google_meet/${native}`, { key: b.key })).status).toBe(202);
        clock.advance(2000);
        const final = (await upstreamTranscript(t, native)).segments;
        await finalize(first.body.id);
        const seenBy = async (key: string) =>
          withoutCreatedAt(
            (await t.call("GET", `/transcripts/google_meet/${native}`, { key })).body.segments,
          );
        // The boundaries are our instants moved onto the wholesaler's clock.
        const expectA = final.filter((s) => absMs(s) <= aLeaves + skew);
        const expectB = final.filter((s) => absMs(s) >= bJoins + skew);
        expect(expectA.length).toBeGreaterThan(10);
        expect(expectB.length).toBeGreaterThan(10);
        expect(expectA.length).toBeLessThan(final.length);
        expect(await seenBy(a.key)).toEqual(withoutCreatedAt(expectA));
        expect(await seenBy(b.key)).toEqual(withoutCreatedAt(expectB));
      });
    });
  }
});
