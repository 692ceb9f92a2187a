/**
 * Where the wholesaler has its own `/ws` (current Vexa), the retailer follows a live meeting through it: the
 * wholesaler's push says when to read, so a meeting where nothing happens costs (almost) no upstream reads, and a
 * change still reaches our subscribers. A wholesaler without `/ws` (the baseline) is polled, as before.
 */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { createSandbox } from "../../src/sandbox/index.js";
import { createUpstreamWatch, wsUrlOf } from "../../src/upstream/watch.js";
import { startBot, startTestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";
import { waitFor } from "../helpers/wait.js";
import { connectWs, latestSegments } from "../helpers/ws-client.js";

const READ = "GET /transcripts/{platform}/{native_meeting_id}";
const INTERVAL_MS = 200;

/** Upstream transcript reads during `ms` of a meeting where nothing happens (the sandbox's clock is stopped). */
async function idleReads(upstreamWs: "true" | "false", leg: Awaited<ReturnType<typeof legs>>[number]) {
  // The wholesaler's clock moves only when told: its meetings change only then.
  const clock = new ManualClock(Date.now());
  const t = await startTestApp(
    leg,
    {
      RATE_LIMIT_PER_SECOND: "0",
      LIVE_PUSH_INTERVAL_MS: String(INTERVAL_MS),
      TRANSCRIPT_CACHE_TTL_MS: "0",
      LIVE_PUSH_UPSTREAM_WS: upstreamWs,
    },
    { listen: true, vexa: "current", sandbox: { clock, joinDelayMs: 100, segmentIntervalMs: 300 } },
  );
  try {
    const u = await t.newUser();
    const native = `wup-${upstreamWs === "true" ? "push" : "poll"}-one`;
    await startBot(t, u.key, native);
    clock.advance(10_000);
    const c = await connectWs(`${t.gatewayUrl.replace(/^http/, "ws")}/ws`, { "x-api-key": u.key });
    c.send({ action: "subscribe", meetings: [{ platform: "google_meet", native_id: native }] });
    await c.next((m) => m.type === "transcript" && m.confirmed.length > 0, "snapshot with segments");
    // Give the wholesaler's subscription its acknowledgement, then count reads while nothing changes.
    await new Promise((r) => setTimeout(r, 500));
    const before = t.sandbox.calls()[READ] ?? 0;
    await new Promise((r) => setTimeout(r, 2000));
    const reads = (t.sandbox.calls()[READ] ?? 0) - before;

    // Then the meeting moves on: the new segments reach the subscriber.
    const seen = new Set(latestSegments(c.messages).keys());
    const from = c.messages.length;
    clock.advance(10_000);
    await c.next(
      (m) =>
        m.type === "transcript" && m.confirmed.some((s: { segment_id: string }) => !seen.has(s.segment_id)),
      "segments after the change",
      from,
    );
    c.socket.close();
    return reads;
  } finally {
    await t.close();
  }
}

// Following a meeting is the live hub's and the upstream socket's business, not storage: one leg covers it.
describe.each((await legs()).slice(-1))(
  "following live meetings through the wholesaler's /ws on %s",
  (leg) => {
    it("reads a quiet meeting only as a backstop, and still delivers its changes; polling reads every interval", async () => {
      const pushed = await idleReads("true", leg);
      const polled = await idleReads("false", leg);
      // Polling: one read per 200 ms interval over 2 s (timers may slip under load, hence "at least 4").
      expect(polled).toBeGreaterThanOrEqual(4);
      // Followed: the backstop reads once per 10 intervals (2 s) at most.
      expect(pushed).toBeLessThanOrEqual(1);
    }, 60_000);
  },
);

describe("the upstream watch against a wholesaler without /ws", () => {
  it("gives up on the socket for a while, and says so once", async () => {
    const sandbox = createSandbox({ apiKey: "k", flavor: "baseline" });
    const url = await sandbox.listen(0, "127.0.0.1");
    const said: object[] = [];
    const watch = createUpstreamWatch({
      baseUrl: url,
      apiKey: "k",
      log: { info: (o) => said.push(o), warn: (o) => said.push(o) },
    });
    try {
      watch.watch("google_meet", "abc-defg-hij", () => undefined);
      await waitFor(() => said.length > 0, 10_000, "the watch's verdict");
      expect(said).toEqual([{ status: 404, retryInMs: 600_000 }]);
      expect(watch.following("google_meet", "abc-defg-hij")).toBe(false);
    } finally {
      watch.close();
      await sandbox.close();
    }
  });

  it("addresses the wholesaler's /ws under its base path", () => {
    expect(wsUrlOf("https://gateway.example.com")).toBe("wss://gateway.example.com/ws");
    expect(wsUrlOf("http://127.0.0.1:8056/vexa/")).toBe("ws://127.0.0.1:8056/vexa/ws");
  });
});
