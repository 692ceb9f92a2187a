import { describe, expect, it, onTestFinished } from "vitest";
import { createWholesalerClient } from "../../src/upstream/client.js";
import { KEY, startSandbox } from "./helpers.js";

/** The sandbox's tweaks (a skewed clock, final times that differ from live ones, null times) and bulk segments. */

const PATH = "/transcripts/google_meet/abc-defg-hij";
const FLAVORS = ["baseline", "current"] as const;
const ms = (iso: string) => Date.parse(/Z|[+-]\d{2}:\d{2}$/.test(iso) ? iso : `${iso}Z`);
/** Microseconds since the epoch from any of the sandbox's UTC formats (the fraction kept whole). */
const us = (iso: string) => {
  const m = /^(.{19})(?:\.(\d+))?/.exec(iso);
  return Date.parse(`${m?.[1]}Z`) * 1000 + Number((m?.[2] ?? "").padEnd(6, "0").slice(0, 6));
};

describe.each(FLAVORS)("%s sandbox: clock skew", (flavor) => {
  it.each([30_000, -30_000])("skew %i ms moves its Date header and every time it prints", async (skew) => {
    const h = await startSandbox({ flavor, tweaks: { clockSkewMs: skew } });
    const res = await h.bot();
    const now = h.clock.now();
    expect(Date.parse(res.headers.get("date") ?? "")).toBe(Math.floor((now + skew) / 1000) * 1000);
    expect(Math.abs(ms(res.body.created_at) - (now + skew))).toBeLessThan(5);
    h.sandbox.advance?.(20_000);
    const t = (await h.api("GET", PATH)).body;
    expect(Math.abs(ms(t.start_time) - (now + skew))).toBeLessThan(3_000);
  });

  it("the wholesaler client measures it, from the Date header then exactly from created_at", async () => {
    for (const skew of [30_000, -30_000]) {
      const h = await startSandbox({ flavor, tweaks: { clockSkewMs: skew } });
      const client = createWholesalerClient({
        baseUrl: h.url,
        apiKey: KEY,
        serviceLayerId: "r",
        wallClock: h.clock,
      });
      onTestFinished(() => client.close());
      await client.listMeetings();
      expect(Math.abs(client.clockOffsetMs() - skew)).toBeLessThanOrEqual(1000);
      await client.requestBot({ platform: "google_meet", native_meeting_id: "abc-defg-hij" });
      // The manual clock stands still during the call: created_at pins the offset to the millisecond.
      expect(Math.abs(client.clockOffsetMs() - skew)).toBeLessThanOrEqual(1);
      expect(client.clockOffset().source).toBe("created_at");
    }
  });
});

describe.each(FLAVORS)("%s sandbox: transcript times", (flavor) => {
  it("finalTimeShiftMs shifts the absolute times of flushed segments by a constant", async () => {
    const h = await startSandbox({ flavor });
    await h.bot();
    h.sandbox.advance?.(120_000);
    const before = (await h.api("GET", PATH)).body.segments as any[];
    h.sandbox.tweaks.set({ finalTimeShiftMs: 1500 });
    const after = (await h.api("GET", PATH)).body.segments as any[];
    expect(after.map((s) => s.text)).toEqual(before.map((s) => s.text));
    const deltas = after.map((s, i) => ms(s.absolute_start_time) - ms(before[i].absolute_start_time));
    // Old (flushed) segments moved by exactly the shift; the newest, still live, did not.
    expect(deltas[0]).toBe(1500);
    expect(deltas.at(-1)).toBe(0);
  });

  it("nullAbsoluteTimes serves every segment with null absolute times", async () => {
    const h = await startSandbox({ flavor, tweaks: { nullAbsoluteTimes: true } });
    await h.bot();
    h.sandbox.advance?.(60_000);
    const segs = (await h.api("GET", PATH)).body.segments as any[];
    expect(segs.length).toBeGreaterThan(3);
    for (const s of segs) {
      expect(s.absolute_start_time ?? null).toBeNull();
      expect(s.absolute_end_time ?? null).toBeNull();
      expect(typeof s.start).toBe("number");
    }
  });

  it("bulk segments stay inside the meeting, unless asked to run past its end", async () => {
    const h = await startSandbox({ flavor, joinDelayMs: 1000 });
    await h.bot();
    h.sandbox.advance?.(30_000);
    // End it mid-utterance (2 s into a 4 s slot), where the newest content ends exactly at end_time.
    const live = (await h.api("GET", PATH)).body.segments.at(-1);
    const sessionStartMs = us(live.absolute_start_time) / 1000 - live.start * 1000;
    const slot = Math.ceil((h.clock.now() - sessionStartMs) / 4000);
    h.sandbox.advance?.(sessionStartMs + slot * 4000 + 2000 - h.clock.now());
    await h.sandbox.endMeeting("google_meet", "abc-defg-hij");
    h.sandbox.addSegments("google_meet", "abc-defg-hij", 6);
    let t = (await h.api("GET", PATH)).body;
    const endMs = ms(t.end_time);
    const lastEnd = Math.max(...(t.segments as any[]).map((s) => us(s.absolute_end_time)));
    expect(lastEnd).toBeLessThanOrEqual(us(t.end_time));
    const res = await h.api("POST", "/_sandbox/meetings/google_meet/abc-defg-hij/segments", {
      body: { count: 6, past_end_ms: 2000 },
    });
    expect(res.body).toEqual({ ok: true, added: 6 });
    const spokenUntil = Math.max(...(t.segments as any[]).map((s) => s.end));
    t = (await h.api("GET", PATH)).body;
    const past = (t.segments as any[]).filter((s) => s.start > spokenUntil);
    expect(past).toHaveLength(6);
    expect(Math.min(...past.map((s) => s.start))).toBeGreaterThanOrEqual(spokenUntil + 2);
    // Current Vexa recomputes flushed times from start_time, a little before the bot's own clock.
    expect(ms(past[0].absolute_start_time)).toBeGreaterThan(endMs + (flavor === "baseline" ? 2000 : -1000));
  });
});

describe("tweaks control API", () => {
  it("merges, clears with null, refuses unknown names and bad values", async () => {
    const h = await startSandbox();
    expect((await h.api("PUT", "/_sandbox/tweaks", { body: { clockSkewMs: 5000 } })).body).toEqual({
      clockSkewMs: 5000,
    });
    expect(
      (await h.api("PUT", "/_sandbox/tweaks", { body: { nullAbsoluteTimes: true, clockSkewMs: null } })).body,
    ).toEqual({ nullAbsoluteTimes: true });
    expect((await h.api("PUT", "/_sandbox/tweaks", { body: { skew: 1 } })).status).toBe(400);
    expect((await h.api("PUT", "/_sandbox/tweaks", { body: { clockSkewMs: "x" } })).status).toBe(400);
    expect((await h.api("DELETE", "/_sandbox/tweaks")).body).toEqual({});
    expect((await h.api("GET", "/_sandbox/tweaks", { key: null })).status).toBe(403);
  });
});
