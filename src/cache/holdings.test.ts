import { describe, expect, it } from "vitest";
import { createHoldingsCache } from "./holdings.js";

const row = (id: number) => ({ id });

describe("per-user meeting-view cache", () => {
  const make = (max = 100) =>
    createHoldingsCache<{ id: number }>({ ttlMs: 60_000, maxEntries: max, now: () => 0 });

  it("loads once, then answers from memory until the user's or the meeting's holdings change", async () => {
    const c = make();
    let loads = 0;
    const load = async () => {
      loads++;
      return row(7);
    };
    await c.get(1, "k", load);
    await c.get(1, "k", load);
    expect(loads).toBe(1);
    await c.invalidate({ users: [1] });
    await c.get(1, "k", load);
    expect(loads).toBe(2);
    await c.invalidate({ meetings: [7] });
    await c.get(1, "k", load);
    expect(loads).toBe(3);
    await c.invalidate({ users: [2], meetings: [8] });
    await c.get(1, "k", load);
    expect(loads).toBe(3);
  });

  it("remembers 'no holding' too, until that user's holdings change", async () => {
    const c = make();
    let answer: { id: number } | undefined;
    const load = async () => answer;
    expect(await c.get(1, "k", load)).toBeUndefined();
    answer = row(3);
    expect(await c.get(1, "k", load)).toBeUndefined();
    await c.invalidate({ users: [1] });
    expect(await c.get(1, "k", load)).toEqual(row(3));
  });

  it("does not store a load that an invalidation overtook (it may have read the old row)", async () => {
    const c = make();
    let release: (v: { id: number }) => void = () => undefined;
    const slow = c.get(1, "k", () => new Promise((r) => (release = r)));
    await c.invalidate({ users: [1] });
    release(row(1));
    await slow;
    let loads = 0;
    await c.get(1, "k", async () => {
      loads++;
      return row(1);
    });
    expect(loads).toBe(1);
  });

  it("is bounded by its entry count, dropping the oldest", async () => {
    const c = make(3);
    for (let u = 1; u <= 10; u++) await c.get(u, "k", async () => row(u));
    expect(c.size()).toBe(3);
  });

  it("serves nothing from memory while it cannot hear other instances' changes", async () => {
    const c = make();
    let loads = 0;
    const load = async () => {
      loads++;
      return row(1);
    };
    await c.get(1, "k", load);
    c.setListening(false);
    await c.get(1, "k", load);
    await c.get(1, "k", load);
    expect(loads).toBe(3);
    c.setListening(true);
    await c.get(1, "k", load);
    await c.get(1, "k", load);
    expect(loads).toBe(4);
  });
});
