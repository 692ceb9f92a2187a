import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { UpstreamError } from "./errors.js";
import { backoffMs, retry } from "./retry.js";

const transient = (extra: Partial<{ retryAfterSeconds: number }> = {}) =>
  new UpstreamError({ kind: "unavailable", route: "GET /x", status: 503, ...extra });

/** A sleep that advances a manual clock and records the delays. */
function fakeSleep(clock: ManualClock) {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms: number) => {
      delays.push(ms);
      clock.advance(ms);
    },
  };
}

describe("backoffMs", () => {
  it("is full jitter in [0, min(cap, base*2^i))", () => {
    expect(backoffMs(0, 100, 1000, () => 0)).toBe(0);
    expect(backoffMs(0, 100, 1000, () => 0.999999)).toBe(99);
    expect(backoffMs(1, 100, 1000, () => 0.5)).toBe(100);
    expect(backoffMs(3, 100, 1000, () => 0.999999)).toBe(799);
    expect(backoffMs(10, 100, 1000, () => 0.999999)).toBe(999);
    for (let i = 0; i < 200; i++) {
      const d = backoffMs(i % 8, 100, 1000, Math.random);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(Math.min(1000, 100 * 2 ** (i % 8)));
    }
  });
});

describe("retry", () => {
  it("returns the first success without sleeping", async () => {
    const clock = new ManualClock();
    const s = fakeSleep(clock);
    let calls = 0;
    const v = await retry(async () => ++calls, { clock, sleep: s.sleep });
    expect(v).toBe(1);
    expect(s.delays).toEqual([]);
  });

  it("retries retryable errors with exponential full-jitter backoff up to the attempt cap", async () => {
    const clock = new ManualClock();
    const s = fakeSleep(clock);
    const seen: number[] = [];
    await expect(
      retry(
        async ({ attempt }) => {
          seen.push(attempt);
          throw transient();
        },
        { attempts: 4, baseMs: 100, capMs: 250, clock, sleep: s.sleep, random: () => 0.999 },
      ),
    ).rejects.toMatchObject({ kind: "unavailable", status: 503 });
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(s.delays).toEqual([99, 199, 249]); // windows 100, 200, min(250, 400)
  });

  it("uses the default 3 attempts and succeeds on a later attempt", async () => {
    const clock = new ManualClock();
    const s = fakeSleep(clock);
    let calls = 0;
    const v = await retry(
      async () => {
        calls++;
        if (calls < 3) throw transient();
        return "ok";
      },
      { clock, sleep: s.sleep, random: () => 0.5 },
    );
    expect(v).toBe("ok");
    expect(calls).toBe(3);
    expect(s.delays).toEqual([50, 100]);
  });

  it("does not retry non-retryable errors", async () => {
    for (const err of [
      new UpstreamError({ kind: "conflict", route: "r", status: 409 }),
      new UpstreamError({ kind: "not_found", route: "r", status: 404 }),
      new UpstreamError({ kind: "unavailable", route: "r", status: 401, authFailure: true }),
      new UpstreamError({ kind: "unavailable", route: "r", breakerOpen: true, retryAfterSeconds: 3 }),
      new Error("plain"),
    ]) {
      let calls = 0;
      const clock = new ManualClock();
      const s = fakeSleep(clock);
      await expect(
        retry(
          async () => {
            calls++;
            throw err;
          },
          { clock, sleep: s.sleep },
        ),
      ).rejects.toBe(err);
      expect(calls).toBe(1);
      expect(s.delays).toEqual([]);
    }
  });

  it("honours Retry-After when it is longer than the backoff", async () => {
    const clock = new ManualClock();
    const s = fakeSleep(clock);
    let calls = 0;
    await retry(
      async () => {
        if (++calls === 1) throw transient({ retryAfterSeconds: 2 });
        return 1;
      },
      { clock, sleep: s.sleep, random: () => 0.5, deadlineMs: 10_000 },
    );
    expect(s.delays).toEqual([2000]);
  });

  it("gives up at once when Retry-After exceeds the remaining deadline", async () => {
    const clock = new ManualClock();
    const s = fakeSleep(clock);
    let calls = 0;
    const err = transient({ retryAfterSeconds: 5 });
    await expect(
      retry(
        async () => {
          calls++;
          throw err;
        },
        { clock, sleep: s.sleep, deadlineMs: 2000 },
      ),
    ).rejects.toBe(err);
    expect(calls).toBe(1);
    expect(s.delays).toEqual([]);
  });

  it("stops when the deadline is used up and tells each attempt the time left", async () => {
    const clock = new ManualClock();
    const s = fakeSleep(clock);
    const remaining: number[] = [];
    await expect(
      retry(
        async ({ remainingMs }) => {
          remaining.push(remainingMs);
          clock.advance(400); // each attempt takes 400 ms
          throw transient();
        },
        { attempts: 10, baseMs: 100, capMs: 100, clock, sleep: s.sleep, random: () => 0.5, deadlineMs: 1000 },
      ),
    ).rejects.toMatchObject({ kind: "unavailable" });
    // t=0 attempt → 400, sleep 50 → 450 attempt → 850, sleep 50 would end at 900 < 1000 → attempt at 900 → 1300: stop.
    expect(remaining).toEqual([1000, 550, 100]);
    expect(clock.now() - Date.parse("2026-01-01T10:00:00Z")).toBe(1300);
  });

  it("sleeps on the injected clock by default", async () => {
    const clock = new ManualClock();
    let calls = 0;
    const p = retry(
      async () => {
        if (++calls === 1) throw transient();
        return "done";
      },
      { clock, random: () => 0.5 },
    );
    await Promise.resolve();
    await Promise.resolve();
    expect(calls).toBe(1);
    clock.advance(50);
    await expect(p).resolves.toBe("done");
    expect(calls).toBe(2);
  });

  it("reports each retry to onRetry", async () => {
    const clock = new ManualClock();
    const s = fakeSleep(clock);
    const seen: { attempt: number; delayMs: number }[] = [];
    await expect(
      retry(
        async () => {
          throw transient();
        },
        {
          clock,
          sleep: s.sleep,
          random: () => 0,
          onRetry: ({ attempt, delayMs }) => seen.push({ attempt, delayMs }),
        },
      ),
    ).rejects.toBeInstanceOf(UpstreamError);
    expect(seen).toEqual([
      { attempt: 1, delayMs: 0 },
      { attempt: 2, delayMs: 0 },
    ]);
  });
});
