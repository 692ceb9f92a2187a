import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { createMemoryLiveCache } from "./live-cache.js";

describe("memory live cache", () => {
  it("a fresh read skips the cached copy, joins one in flight, and leaves its answer for the others", async () => {
    const clock = new ManualClock();
    const cache = createMemoryLiveCache(clock, 1000);
    let calls = 0;
    const fetch = async () => ++calls;
    expect(await cache.get("k", fetch)).toEqual({ value: 1, fetched: true });
    clock.advance(100);
    expect(await cache.get("k", fetch)).toEqual({ value: 1, fetched: false });
    // The feeder wants what the wholesaler says now, not a copy 100 ms old.
    expect(await cache.get("k", fetch, { fresh: true })).toEqual({ value: 2, fetched: true });
    // ...and pollers get that answer from the cache.
    expect(await cache.get("k", fetch)).toEqual({ value: 2, fetched: false });
    // A fresh read while one is in flight shares it.
    const [a, b] = await Promise.all([
      cache.get("k", fetch, { fresh: true }),
      cache.get("k", fetch, { fresh: true }),
    ]);
    expect([a.value, b.value]).toEqual([3, 3]);
    expect(calls).toBe(3);
  });
});
