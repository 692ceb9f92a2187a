import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { finalizeMeeting } from "../../src/jobs/finalize-meeting.js";
import { startTestApp, type TestApp, VEXA_FLAVORS } from "../helpers/app.js";
import { legs } from "../helpers/db.js";

const MIN = 60_000;

interface Seg {
  start: number;
  end: number;
  text: string;
  speaker: string | null;
  created_at: string | null;
  absolute_start_time: string | null;
  absolute_end_time: string | null;
}

interface Final {
  id: number;
  start_time: string | null;
  segments: Seg[];
}

/** What we serve: Vexa's baseline segment keys (current Vexa adds segment_id, completed), created_at aside. */
const withoutCreatedAt = (segs: Seg[]) =>
  segs.map((s) => ({
    start: s.start,
    end: s.end,
    text: s.text,
    speaker: s.speaker,
    // Current Vexa leaves out null times; we print them, as the baseline does.
    absolute_start_time: s.absolute_start_time ?? null,
    absolute_end_time: s.absolute_end_time ?? null,
  }));
const zoned = (ts: string) => (/([zZ]|[+-]\d\d:?\d\d)$/.test(ts) ? ts : `${ts}Z`);

/**
 * Each user's stored transcript against the wholesaler's final one, with the wholesaler's clock skewed and its
 * times misbehaving. Meetings are finalized by the job itself (no webhook, the reconciler idle), so the test can
 * read the wholesaler's final transcript first.
 */
describe.each(await legs())("transcript windows on %s", (leg) => {
  describe.each(VEXA_FLAVORS)("against %s Vexa", (vexa) => {
    let t: TestApp;
    let clock: ManualClock;
    let room = 0;
    beforeAll(async () => {
      clock = new ManualClock(Date.parse("2026-03-02T10:00:00Z"));
      t = await startTestApp(
        leg,
        { RECONCILE_INTERVAL_SECONDS: "3600" },
        { clock, vexa, sandbox: { stopDelayMs: 1000, joinDelayMs: 1000 } },
      );
    });
    afterEach(() => t.sandbox.tweaks.reset());
    afterAll(async () => t.close());

    const native = () => `fd${vexa[0]}-room-${"abcdefghijklmnopqrstuvwxyz"[room++ % 26]}aa`;
    const body = (id: string) => ({ platform: "google_meet", native_meeting_id: id });
    const upstreamFinal = async (id: string): Promise<Final> =>
      (await (
        await fetch(`${t.sandboxUrl}/transcripts/google_meet/${id}`, {
          headers: { "x-api-key": t.sandboxKey },
        })
      ).json()) as Final;
    const finalize = (meetingId: number) =>
      finalizeMeeting(
        { db: t.deps.db, clock, client: t.deps.client, queue: t.deps.queue, serviceLayerId: "retailer-1" },
        meetingId,
      );
    const stored = async (key: string, id: string) =>
      (await t.call("GET", `/transcripts/google_meet/${id}`, { key })).body as {
        status: string;
        segments: Seg[];
      };

    /** A stops its bot after `minutes`; the bot leaves; returns the wholesaler's final transcript, then finalizes. */
    async function soleHolder(minutes: number, before?: (id: string) => void) {
      const u = await t.newUser();
      const id = native();
      const started = await t.call("POST", "/bots", { key: u.key, body: body(id) });
      expect(started.status, started.raw).toBe(201);
      clock.advance(minutes * MIN);
      before?.(id);
      expect((await t.call("DELETE", `/bots/google_meet/${id}`, { key: u.key })).status).toBe(202);
      clock.advance(2000);
      const final = await upstreamFinal(id);
      await finalize(started.body.id);
      return { final, mine: await stored(u.key, id) };
    }

    // The sandbox's clock never runs backwards, so the skews only grow from one test to the next.
    for (const skew of [-30_000, 30_000]) {
      it(`a sole holder's transcript equals the wholesaler's final one (its clock ${skew / 1000} s)`, async () => {
        t.sandbox.tweaks.set({ clockSkewMs: skew, finalTimeShiftMs: 1500 });
        const { final, mine } = await soleHolder(3);
        expect(final.segments.length).toBeGreaterThan(20);
        expect(mine.status).toBe("completed");
        expect(withoutCreatedAt(mine.segments)).toEqual(withoutCreatedAt(final.segments));
        // Vexa's stored rows carry a naive created_at (Python's isoformat: no fraction on a whole second): the
        // wholesaler's, or our storage time where it gave none (current Vexa prints none per segment).
        const naive = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$/);
        expect(mine.segments.map((s) => s.created_at)).toEqual(
          final.segments.map((s) => (vexa === "baseline" ? s.created_at : naive)),
        );
      });
    }

    it("keeps segments stamped after the meeting's end and segments without absolute times", async () => {
      t.sandbox.tweaks.set({ clockSkewMs: 30_000 });
      const past = await soleHolder(2, (id) =>
        t.sandbox.addSegments("google_meet", id, 6, { pastEndMs: 5000 }),
      );
      expect(past.final.segments.length).toBeGreaterThan(6);
      expect(withoutCreatedAt(past.mine.segments)).toEqual(withoutCreatedAt(past.final.segments));
      t.sandbox.tweaks.set({ nullAbsoluteTimes: true });
      const nulls = await soleHolder(2);
      expect(nulls.final.segments.every((s) => (s.absolute_start_time ?? null) === null)).toBe(true);
      expect(withoutCreatedAt(nulls.mine.segments)).toEqual(withoutCreatedAt(nulls.final.segments));
    });

    for (const tweak of [
      { clockSkewMs: 30_000, finalTimeShiftMs: 1500 },
      { clockSkewMs: 60_000, nullAbsoluteTimes: true },
    ]) {
      it(`cuts late joiners and early leavers on the wholesaler's timeline (${JSON.stringify(tweak)})`, async () => {
        t.sandbox.tweaks.set(tweak);
        const skew = tweak.clockSkewMs;
        const [a, b] = [await t.newUser(), await t.newUser()];
        const id = native();
        const first = await t.call("POST", "/bots", { key: a.key, body: body(id) });
        expect(first.status, first.raw).toBe(201);
        clock.advance(MIN);
        const bJoins = clock.now();
        expect((await t.call("POST", "/bots", { key: b.key, body: body(id) })).status).toBe(201);
        clock.advance(MIN);
        const aLeaves = clock.now();
        expect((await t.call("DELETE", `/bots/google_meet/${id}`, { key: a.key })).status).toBe(202);
        clock.advance(MIN);
        expect((await t.call("DELETE", `/bots/google_meet/${id}`, { key: b.key })).status).toBe(202);
        clock.advance(2000);
        const final = await upstreamFinal(id);
        await finalize(first.body.id);
        // A segment's time on the wholesaler's timeline: absolute, else its meeting start + relative start.
        const anchor = Date.parse(zoned(final.start_time ?? ""));
        const at = (s: Seg) =>
          s.absolute_start_time ? Date.parse(zoned(s.absolute_start_time)) : anchor + s.start * 1000;
        const expectA = final.segments.filter((s) => at(s) <= aLeaves + skew);
        const expectB = final.segments.filter((s) => at(s) >= bJoins + skew);
        expect(expectA.length).toBeGreaterThan(5);
        expect(expectB.length).toBeGreaterThan(5);
        expect(expectA.length).toBeLessThan(final.segments.length);
        expect(withoutCreatedAt((await stored(a.key, id)).segments)).toEqual(withoutCreatedAt(expectA));
        expect(withoutCreatedAt((await stored(b.key, id)).segments)).toEqual(withoutCreatedAt(expectB));
      });
    }
  });
});
