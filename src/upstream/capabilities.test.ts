import { describe, expect, it, vi } from "vitest";
import { createCapabilityCheck } from "./capabilities.js";
import { UpstreamError } from "./errors.js";

const route = "GET /auth/me";

function check(answers: (() => Promise<{ scopes: string[] }>)[], retryMs = 5) {
  const logs: { level: string; msg?: string; o: object }[] = [];
  let calls = 0;
  const c = createCapabilityCheck({
    client: {
      getIdentity: async () => {
        const next = answers[Math.min(calls++, answers.length - 1)];
        if (!next) throw new Error("no answer scripted");
        return { user_id: 1, ...(await next()) };
      },
    },
    log: {
      warn: (o, msg) => logs.push({ level: "warn", o, ...(msg ? { msg } : {}) }),
      error: (o, msg) => logs.push({ level: "error", o, ...(msg ? { msg } : {}) }),
    },
    retryMs,
  });
  return { c, logs, calls: () => calls };
}

describe("wholesaler capability check", () => {
  it("reads current Vexa's scopes and names what is missing, in the log and in problems()", async () => {
    const { c, logs } = check([async () => ({ scopes: ["bot"] })]);
    expect(c.current().source).toBe("unknown");
    c.start();
    await c.settled();
    expect(c.current()).toEqual({
      source: "auth_me",
      scopes: ["bot"],
      manage_bots: true,
      read_transcripts: false,
    });
    expect(c.problems()).toEqual(["the wholesaler key cannot read transcripts (it lacks scope tx)"]);
    expect(logs).toHaveLength(1);
    expect(logs[0]?.level).toBe("error");
    expect(logs[0]?.msg).toContain("cannot read transcripts");
  });

  it("a key with bot and tx has no problems; one with neither has two", async () => {
    const both = check([async () => ({ scopes: ["bot", "tx", "browser"] })]);
    both.c.start();
    await both.c.settled();
    expect(both.c.problems()).toEqual([]);
    expect(both.logs).toEqual([]);
    const none = check([async () => ({ scopes: ["browser"] })]);
    none.c.start();
    await none.c.settled();
    expect(none.c.problems()).toHaveLength(2);
  });

  it("a wholesaler without /auth/me (the baseline) is assumed to allow everything", async () => {
    const { c } = check([
      async () => {
        throw new UpstreamError({ kind: "unsupported", route, status: 404, detail: "Not Found" });
      },
    ]);
    c.start();
    await c.settled();
    expect(c.current()).toEqual({
      source: "assumed",
      scopes: null,
      manage_bots: true,
      read_transcripts: true,
    });
  });

  it("retries while the wholesaler cannot answer, without blocking anyone", async () => {
    const { c, logs, calls } = check([
      async () => {
        throw new UpstreamError({ kind: "unavailable", route, status: 503 });
      },
      async () => ({ scopes: ["bot", "tx"] }),
    ]);
    c.start();
    expect(c.current().source).toBe("unknown");
    await c.settled();
    expect(calls()).toBe(2);
    expect(logs[0]?.msg).toContain("will retry");
    expect(c.current().source).toBe("auth_me");
  });

  it("asks again after 1 s, 2 s, 4 s … up to retryMs, so a lost first answer costs seconds, not retryMs", async () => {
    vi.useFakeTimers();
    try {
      const fail = async (): Promise<{ scopes: string[] }> => {
        throw new UpstreamError({ kind: "unavailable", route });
      };
      const { c, logs, calls } = check([fail, fail, fail, async () => ({ scopes: ["bot", "tx"] })], 3000);
      c.start();
      await vi.advanceTimersByTimeAsync(0);
      expect(calls()).toBe(1);
      await vi.advanceTimersByTimeAsync(1000);
      expect(calls()).toBe(2);
      await vi.advanceTimersByTimeAsync(2000);
      expect(calls()).toBe(3);
      await vi.advanceTimersByTimeAsync(3000);
      expect(calls()).toBe(4);
      expect(logs.map((l) => (l.o as { retryMs: number }).retryMs)).toEqual([1000, 2000, 3000]);
      expect(c.current().source).toBe("auth_me");
    } finally {
      vi.useRealTimers();
    }
  });

  it("close() ends the retries and releases settled()", async () => {
    const { c, calls } = check([
      async () => {
        throw new UpstreamError({ kind: "unavailable", route });
      },
    ]);
    c.start();
    c.close();
    await c.settled();
    const n = calls();
    await new Promise((r) => setTimeout(r, 30));
    expect(calls()).toBe(n);
  });
});
