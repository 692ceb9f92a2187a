import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { type BreakerState, CircuitBreaker } from "./breaker.js";
import { UpstreamError } from "./errors.js";

const down = () => new UpstreamError({ kind: "unavailable", route: "GET /x", status: 503 });
const fail = async () => {
  throw down();
};
const ok = async () => "ok";

function setup(threshold = 3, openMs = 5000) {
  const clock = new ManualClock();
  const b = new CircuitBreaker({ threshold, openMs, clock });
  const changes: [BreakerState, BreakerState][] = [];
  b.onStateChange((to, from) => changes.push([from, to]));
  return { clock, b, changes };
}

describe("CircuitBreaker", () => {
  it("defaults: opens after 5 consecutive failures", async () => {
    const b = new CircuitBreaker({ clock: new ManualClock() });
    for (let i = 0; i < 4; i++) await expect(b.run("r", fail)).rejects.toThrow();
    expect(b.state()).toBe("closed");
    await expect(b.run("r", fail)).rejects.toThrow();
    expect(b.state()).toBe("open");
  });

  it("a success resets the consecutive count", async () => {
    const { b } = setup(3);
    await expect(b.run("r", fail)).rejects.toThrow();
    await expect(b.run("r", fail)).rejects.toThrow();
    await b.run("r", ok);
    await expect(b.run("r", fail)).rejects.toThrow();
    await expect(b.run("r", fail)).rejects.toThrow();
    expect(b.state()).toBe("closed");
  });

  it("only unavailable outcomes count: 404/409/4xx are a healthy upstream", async () => {
    const { b } = setup(2);
    for (const kind of ["not_found", "conflict", "rejected", "limit"] as const) {
      for (let i = 0; i < 3; i++) {
        await expect(
          b.run("r", async () => {
            throw new UpstreamError({ kind, route: "r", status: 400 });
          }),
        ).rejects.toMatchObject({ kind });
      }
    }
    expect(b.state()).toBe("closed");
  });

  it("fails fast while open, with Retry-After = remaining open time rounded up", async () => {
    const { b, clock, changes } = setup(2, 5000);
    await expect(b.run("r", fail)).rejects.toThrow();
    await expect(b.run("r", fail)).rejects.toThrow();
    expect(b.state()).toBe("open");
    expect(changes).toEqual([["closed", "open"]]);
    let called = 0;
    const probe = async () => {
      called++;
      return 1;
    };
    await expect(b.run("GET /y", probe)).rejects.toMatchObject({
      kind: "unavailable",
      breakerOpen: true,
      retryable: false,
      retryAfterSeconds: 5,
      route: "GET /y",
      message: expect.stringContaining("circuit open"),
    });
    clock.advance(3100);
    await expect(b.run("r", probe)).rejects.toMatchObject({ retryAfterSeconds: 2 });
    expect(called).toBe(0);
  });

  it("half-opens after openMs, lets exactly one probe through, and closes on its success", async () => {
    const { b, clock, changes } = setup(1, 1000);
    await expect(b.run("r", fail)).rejects.toThrow();
    clock.advance(1000);
    expect(b.state()).toBe("half_open");
    let release!: (v: string) => void;
    const probe = b.run("r", () => new Promise<string>((r) => (release = r)));
    // a second call while the probe is in flight fails fast
    await expect(b.run("r", ok)).rejects.toMatchObject({ breakerOpen: true });
    release("fine");
    await expect(probe).resolves.toBe("fine");
    expect(b.state()).toBe("closed");
    expect(changes).toEqual([
      ["closed", "open"],
      ["open", "half_open"],
      ["half_open", "closed"],
    ]);
    await expect(b.run("r", ok)).resolves.toBe("ok");
  });

  it("re-opens for another openMs when the probe fails", async () => {
    const { b, clock, changes } = setup(1, 1000);
    await expect(b.run("r", fail)).rejects.toThrow();
    clock.advance(1500);
    await expect(b.run("r", fail)).rejects.toMatchObject({ status: 503 });
    expect(b.state()).toBe("open");
    expect(changes.map((c) => c[1])).toEqual(["open", "half_open", "open"]);
    clock.advance(999);
    expect(b.state()).toBe("open");
    clock.advance(1);
    expect(b.state()).toBe("half_open");
  });

  it("a probe that is neither success nor failure (ignored) frees the slot without changing state", async () => {
    const { b, clock } = setup(1, 1000);
    await expect(b.run("r", fail)).rejects.toThrow();
    clock.advance(1000);
    await expect(
      b.run(
        "r",
        async () => {
          throw new Error("caller aborted");
        },
        () => "ignore",
      ),
    ).rejects.toThrow("caller aborted");
    expect(b.state()).toBe("half_open");
    await b.run("r", ok);
    expect(b.state()).toBe("closed");
  });

  it("ignores late outcomes of calls started before the circuit opened", async () => {
    const { b } = setup(1, 1000);
    let resolveSlow!: (v: string) => void;
    const slow = b.run("r", () => new Promise<string>((r) => (resolveSlow = r)));
    await expect(b.run("r", fail)).rejects.toThrow();
    expect(b.state()).toBe("open");
    resolveSlow("late");
    await slow;
    expect(b.state()).toBe("open");
  });

  it("a throwing listener does not break the breaker; unsubscribe works", async () => {
    const { b } = setup(1, 1000);
    const seen: BreakerState[] = [];
    b.onStateChange(() => {
      throw new Error("listener bug");
    });
    const off = b.onStateChange((to) => seen.push(to));
    await expect(b.run("r", fail)).rejects.toMatchObject({ status: 503 });
    off();
    expect(b.state()).toBe("open");
    expect(seen).toEqual(["open"]);
  });
});
