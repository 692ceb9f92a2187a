import { describe, expect, it } from "vitest";
import type { Segment } from "../meetings/transcript-store.js";
import { transcriptBytes, windowed } from "./transcript-body.js";

const at = (s: number) => new Date(Date.UTC(2026, 2, 2, 10, 0, s)).toISOString().slice(0, 23);
const segments: Segment[] = Array.from({ length: 200 }, (_, i) => ({
  start: i,
  end: i + 1,
  text: `segment ${i}`,
  language: "en",
  created_at: null,
  speaker: "A",
  absolute_start_time: at(60 + i),
  absolute_end_time: at(61 + i),
}));

describe("shared transcript bytes", () => {
  it("keeps the windows and heads of 60 readers who all see the whole transcript: nothing is rebuilt per read", () => {
    // Each reader attached at its own second before the first segment, so every window covers everything and
    // every head (its own start_time) differs: 60 windows and 60 heads on the one shared array.
    const readers = Array.from({ length: 60 }, (_, i) => ({
      window: { from: at(i), to: null },
      head: { id: 1, status: "active", start_time: at(i) },
    }));
    const first = readers.map((r) => {
      const cut = windowed(segments, r.window, null);
      expect(cut).toBe(segments); // the shared array, not a copy
      return transcriptBytes(r.head, cut);
    });
    readers.forEach((r, i) => {
      const again = transcriptBytes(r.head, windowed(segments, r.window, null));
      expect(again, `reader ${i}`).toBe(first[i]); // the same bytes object: not serialised again
    });
    expect(JSON.parse(first[59]?.toString() ?? "").segments).toHaveLength(200);
  });

  it("serves a large transcript from its one encoding, whatever the head", () => {
    const big: Segment[] = Array.from({ length: 3000 }, (_, i) => ({
      ...(segments[i % 200] as Segment),
      start: i,
      text: `sägment ${i} ${"x".repeat(100)}`,
    }));
    const partsA = transcriptBytes({ id: 1, status: "completed", start_time: at(0) }, big);
    const partsB = transcriptBytes({ id: 1, status: "completed", start_time: at(1) }, big);
    // Each reader's own head, then the one shared encoding itself: nothing copied per request.
    if (!Array.isArray(partsA) || !Array.isArray(partsB))
      throw new Error("expected the parts of a large body");
    expect(partsB[1]).toBe(partsA[1]);
    const a = Buffer.concat(partsA);
    const b = Buffer.concat(partsB);
    expect(a.length).toBeGreaterThan(256 * 1024);
    expect(JSON.parse(a.toString())).toEqual({
      id: 1,
      status: "completed",
      start_time: at(0),
      segments: big,
    });
    expect(JSON.parse(b.toString()).start_time).toBe(at(1));
    expect(b.subarray(b.indexOf('"segments":'))).toEqual(a.subarray(a.indexOf('"segments":')));
  });

  it("cuts a late reader's window once and shares the cut", () => {
    const late = { from: at(60 + 150), to: null };
    const cut = windowed(segments, late, null);
    expect(cut).toHaveLength(50);
    expect(windowed(segments, late, null)).toBe(cut);
  });
});
