import { describe, expect, it } from "vitest";
import { SEGMENT_KEYS } from "../helpers/vexa-shapes.js";
import { AWARE, NAIVE, startSandbox } from "./helpers.js";

const PATH = "/transcripts/google_meet/abc-defg-hij";

describe("GET /transcripts (baseline §3.7)", () => {
  it("TranscriptionResponse with exactly the baseline keys and formats", async () => {
    const h = await startSandbox();
    const m = (await h.bot()).body;
    const empty = await h.api("GET", PATH);
    expect(Object.keys(empty.body)).toEqual([
      "id",
      "platform",
      "native_meeting_id",
      "constructed_meeting_url",
      "status",
      "start_time",
      "end_time",
      "segments",
    ]);
    expect(empty.body).toMatchObject({
      id: m.id,
      status: "active",
      start_time: m.start_time,
      end_time: null,
      segments: [],
    });
    h.clock.advance(120_000);
    const { segments } = (await h.api("GET", PATH)).body;
    expect(segments.length).toBeGreaterThan(20);
    let sawNull = false;
    let sawImmutable = false;
    for (const s of segments) {
      expect(Object.keys(s)).toEqual(SEGMENT_KEYS);
      expect(typeof s.start).toBe("number");
      expect(s.end).toBeGreaterThan(s.start);
      expect(s.text.length).toBeGreaterThan(0);
      expect(typeof s.language).toBe("string");
      expect(typeof s.speaker).toBe("string");
      expect(s.absolute_start_time).toMatch(AWARE);
      expect(s.absolute_end_time).toMatch(AWARE);
      if (s.created_at === null) sawNull = true;
      else {
        sawImmutable = true;
        expect(s.created_at).toMatch(NAIVE);
      }
      // Absolute = session start + relative start, for every segment.
      const session = Date.parse(s.absolute_start_time) - s.start * 1000;
      expect(
        Math.abs(session - Date.parse(segments[0].absolute_start_time) + segments[0].start * 1000),
      ).toBeLessThan(2);
    }
    expect(sawNull && sawImmutable).toBe(true);
    const starts = segments.map((s: any) => s.absolute_start_time);
    expect([...starts].sort()).toEqual(starts);
  });

  it("404 with the baseline message for an unknown meeting", async () => {
    const h = await startSandbox();
    const res = await h.api("GET", "/transcripts/zoom/123456789");
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ detail: "Meeting not found for platform zoom and ID 123456789" });
  });

  it("segments grow with the clock; live ones are revised in place, then frozen with created_at after ~30 s", async () => {
    const h = await startSandbox();
    await h.bot();
    const history = new Map<
      number,
      { texts: Set<string>; frozen?: { text: string; created_at: string; end: number } }
    >();
    let lastCount = 0;
    let grew = 0;
    for (let step = 0; step < 360; step++) {
      h.clock.advance(500);
      const segs = (await h.api("GET", PATH)).body.segments as any[];
      expect(segs.length).toBeGreaterThanOrEqual(lastCount);
      if (segs.length > lastCount) grew++;
      lastCount = segs.length;
      const nulls = segs.filter((s) => s.created_at === null).length;
      expect(nulls).toBeLessThanOrEqual(14);
      segs.forEach((s, i) => {
        const entry = history.get(s.start) ?? { texts: new Set<string>() };
        history.set(s.start, entry);
        entry.texts.add(s.text);
        if (entry.frozen) {
          expect({ text: s.text, created_at: s.created_at, end: s.end }).toEqual(entry.frozen);
        } else if (s.created_at !== null) {
          entry.frozen = { text: s.text, created_at: s.created_at, end: s.end };
          const ageMs =
            step * 500 + 500 - (Date.parse(`${s.absolute_end_time}`) - Date.parse("2026-01-01T10:00:00Z"));
          expect(ageMs).toBeGreaterThanOrEqual(30_000);
        } else {
          expect(i).toBeGreaterThanOrEqual(segs.length - 14);
        }
      });
    }
    expect(grew).toBeGreaterThan(30);
    const grown = [...history.values()].filter((e) => e.texts.size >= 3);
    expect(grown.length).toBeGreaterThan(10);
    // Revised, not only grown: an earlier text is not a prefix of the final one.
    const revised = [...history.values()].filter((e) => {
      const final = e.frozen?.text;
      return final !== undefined && [...e.texts].some((t) => !final.startsWith(t));
    });
    expect(revised.length).toBeGreaterThan(5);
    const speakers = new Set<string>();
    const h2 = (await h.api("GET", PATH)).body.segments as any[];
    for (const s of h2) speakers.add(s.speaker);
    expect(speakers.size).toBeGreaterThanOrEqual(3);
    expect(speakers.size).toBeLessThanOrEqual(5);
  });

  it("a one-hour meeting on a manual clock runs in milliseconds and stops producing after it ends", async () => {
    const h = await startSandbox();
    await h.bot();
    const t0 = performance.now();
    h.sandbox.advance?.(3_600_000);
    const live = (await h.api("GET", PATH)).body;
    expect(live.segments.length).toBeGreaterThan(850);
    expect(live.segments.length).toBeLessThanOrEqual(900);
    await h.api("DELETE", "/bots/google_meet/abc-defg-hij");
    h.sandbox.advance?.(1500);
    const ended = (await h.api("GET", PATH)).body;
    expect(ended.status).toBe("completed");
    // Vexa flushes what is still unflushed when the meeting ends: the final transcript is stamped at once.
    expect(ended.segments.filter((s: any) => s.created_at === null)).toEqual([]);
    for (const s of ended.segments.slice(-20)) expect(s.created_at <= ended.end_time).toBe(true);
    h.sandbox.advance?.(3_600_000);
    const later = (await h.api("GET", PATH)).body;
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(later.status).toBe("completed");
    expect(later.segments.length).toBe(ended.segments.length);
    expect(later.segments.every((s: any) => s.created_at !== null)).toBe(true);
    const last = later.segments.at(-1);
    expect(last.absolute_end_time.slice(0, 26) <= `${later.end_time}`.padEnd(26, "0")).toBe(true);
    const meeting = (await h.api("GET", "/meetings")).body.meetings[0];
    expect(meeting.data.participants).toEqual([...new Set(later.segments.map((s: any) => s.speaker))].sort());
    expect(meeting.data.languages).toContain("en");
  });

  it("is deterministic per seed", async () => {
    const read = async (seed: number) => {
      const h = await startSandbox({ seed });
      await h.bot();
      h.sandbox.advance?.(600_000);
      return (await h.api("GET", PATH)).text;
    };
    const a = await read(7);
    expect(await read(7)).toBe(a);
    expect(await read(8)).not.toBe(a);
  });

  it("meetings speak mostly English, some with another language", async () => {
    const languages = new Set<string>();
    let english = 0;
    let total = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const h = await startSandbox({ seed });
      await h.bot();
      h.sandbox.advance?.(300_000);
      for (const s of (await h.api("GET", PATH)).body.segments) {
        languages.add(s.language);
        total++;
        if (s.language === "en") english++;
      }
      await h.sandbox.close();
    }
    expect(english / total).toBeGreaterThan(0.6);
    expect(languages.size).toBeGreaterThan(1);
  });

  it("addSegments bulk-loads 10,000 immutable segments in order, with distinct starts", async () => {
    const h = await startSandbox();
    await h.bot();
    h.sandbox.advance?.(60_000);
    const before = (await h.api("GET", PATH)).body.segments.length;
    h.sandbox.addSegments("google_meet", "abc-defg-hij", 10_000);
    const t0 = performance.now();
    const segs = (await h.api("GET", PATH)).body.segments as any[];
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(segs.length).toBeGreaterThanOrEqual(before + 10_000 - 1);
    const starts = segs.map((s) => s.absolute_start_time);
    expect([...starts].sort()).toEqual(starts);
    expect(new Set(segs.map((s) => s.start)).size).toBe(segs.length);
    expect(segs.slice(-10_000).filter((s) => s.created_at === null).length).toBeLessThan(3);
    // The live part carries on afterwards.
    h.sandbox.advance?.(60_000);
    expect((await h.api("GET", PATH)).body.segments.length).toBeGreaterThan(segs.length + 5);
    // Also through the control API.
    const res = await h.api("POST", "/_sandbox/meetings/google_meet/abc-defg-hij/segments", {
      body: { count: 5 },
    });
    expect(res.body).toEqual({ ok: true, added: 5 });
  });
});
