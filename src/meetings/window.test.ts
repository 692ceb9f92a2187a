import { describe, expect, it } from "vitest";
import { inWindow } from "./window.js";

const seg = (start: number, abs: string | null) => ({
  start,
  absolute_start_time: abs,
  text: `at ${start}`,
});
const at = (s: number) =>
  new Date(Date.parse("2026-01-01T10:00:00Z") + s * 1000).toISOString().replace("Z", "+00:00");
const naive = (s: number) => at(s).slice(0, 23);
const anchor = Date.parse("2026-01-01T10:00:00Z");

describe("inWindow", () => {
  const segments = [seg(0, at(0)), seg(10, at(10)), seg(20, at(20)), seg(30, at(30))];

  it("an unbounded window keeps the shared array itself, even segments it cannot place", () => {
    const unplaced = [seg(0, null), seg(5, null)];
    expect(inWindow(segments, { from: null, to: null }, anchor)).toBe(segments);
    expect(inWindow(unplaced, { from: null, to: null }, null)).toBe(unplaced);
  });

  it("cuts on the wholesaler's timeline, bounds inclusive", () => {
    expect(inWindow(segments, { from: naive(10), to: naive(20) }, anchor).map((s) => s.start)).toEqual([
      10, 20,
    ]);
    expect(inWindow(segments, { from: null, to: naive(15) }, anchor).map((s) => s.start)).toEqual([0, 10]);
    expect(inWindow(segments, { from: naive(15), to: null }, anchor).map((s) => s.start)).toEqual([20, 30]);
  });

  it("a window covering everything returns the same array (no copy)", () => {
    expect(inWindow(segments, { from: naive(-5), to: naive(35) }, anchor)).toBe(segments);
  });

  it("places a segment without absolute times by its relative start from the anchor, never lets all through", () => {
    const mixed = [seg(0, null), seg(10, null), seg(20, at(20)), seg(30, null)];
    expect(inWindow(mixed, { from: naive(5), to: naive(25) }, anchor).map((s) => s.start)).toEqual([10, 20]);
    // Without an anchor an unplaced segment belongs to no bounded window.
    expect(inWindow(mixed, { from: naive(5), to: null }, null).map((s) => s.start)).toEqual([20]);
  });

  it("reads zoned and naive absolute times alike", () => {
    const z = [seg(0, "2026-01-01T10:00:00Z"), seg(10, "2026-01-01T10:00:10.000000")];
    expect(inWindow(z, { from: naive(5), to: null }, anchor).map((s) => s.start)).toEqual([10]);
  });
});
