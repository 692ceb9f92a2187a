import { describe, expect, it } from "vitest";
import { ClockOffsetEstimator, parseUpstreamTime } from "./clock-offset.js";

const T0 = Date.parse("2026-01-01T10:00:00Z");
const httpDate = (ms: number) => new Date(ms).toUTCString();

describe("ClockOffsetEstimator", () => {
  it("knows nothing before the first observation", () => {
    expect(new ClockOffsetEstimator().estimate()).toEqual({
      offsetMs: 0,
      uncertaintyMs: Number.POSITIVE_INFINITY,
      samples: 0,
      source: null,
    });
  });

  it("one Date header bounds the offset to about a second", () => {
    const e = new ClockOffsetEstimator();
    const skew = 30_000;
    const sent = T0 + 250;
    e.observeDate(httpDate(sent + 10 + skew), sent, sent + 20);
    const est = e.estimate();
    expect(Math.abs(est.offsetMs - skew)).toBeLessThanOrEqual(510);
    expect(est.uncertaintyMs).toBeLessThanOrEqual(510);
    expect(est.source).toBe("date");
  });

  it("Date headers at different sub-second phases narrow it well below a second", () => {
    const e = new ClockOffsetEstimator();
    const skew = -30_000 + 137;
    for (let i = 0; i < 20; i++) {
      const sent = T0 + i * 1_037; // walks through the second's phases
      e.observeDate(httpDate(sent + 5 + skew), sent, sent + 10);
    }
    const est = e.estimate();
    expect(Math.abs(est.offsetMs - skew)).toBeLessThanOrEqual(60);
    expect(est.samples).toBe(20);
  });

  it("a created_at stamped during the request is as tight as the round trip", () => {
    const e = new ClockOffsetEstimator();
    const skew = 1_234;
    e.observeDate(httpDate(T0 + skew), T0, T0 + 40);
    e.observeStamp(new Date(T0 + 15 + skew).toISOString().replace("Z", "123"), T0, T0 + 40);
    const est = e.estimate();
    expect(Math.abs(est.offsetMs - skew)).toBeLessThanOrEqual(25);
    expect(est.source).toBe("created_at");
  });

  it("follows a wholesaler clock that jumps", () => {
    const e = new ClockOffsetEstimator();
    for (let i = 0; i < 5; i++) e.observeDate(httpDate(T0 + i * 1000), T0 + i * 1000, T0 + i * 1000 + 5);
    expect(Math.abs(e.estimate().offsetMs)).toBeLessThanOrEqual(500);
    e.observeDate(httpDate(T0 + 10_000 + 30_000), T0 + 10_000, T0 + 10_005);
    expect(Math.abs(e.estimate().offsetMs - 30_000)).toBeLessThanOrEqual(510);
    expect(e.estimate().samples).toBe(1);
  });

  it("ignores what it cannot read", () => {
    const e = new ClockOffsetEstimator();
    e.observeDate(undefined, T0, T0);
    e.observeDate("not a date", T0, T0);
    e.observeStamp(null, T0, T0);
    e.observeStamp(new Date(T0).toISOString(), T0 + 5, T0); // our clock went backwards during the call
    expect(e.estimate().samples).toBe(0);
  });
});

describe("parseUpstreamTime", () => {
  it("reads naive UTC, Z and +00:00", () => {
    const ms = Date.parse("2025-06-08T17:11:32.049Z");
    expect(parseUpstreamTime("2025-06-08T17:11:32.049728")).toBe(ms);
    expect(parseUpstreamTime("2025-06-08T17:11:32.049728Z")).toBe(ms);
    expect(parseUpstreamTime("2025-06-08T17:11:32.049728+00:00")).toBe(ms);
    expect(parseUpstreamTime("nope")).toBeUndefined();
    expect(parseUpstreamTime(null)).toBeUndefined();
  });
});
