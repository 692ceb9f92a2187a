/**
 * `/ws` at its limits: a consumer that stops reading is dropped (1013), a subscriber on one instance is fed by the
 * other through Redis with one upstream read per interval, and wrong keys spend the failed-authentication budget
 * (4429). Kept apart from ws.test.ts so the two run side by side.
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createDb } from "../../src/db/client.js";
import { createDeps } from "../../src/deps.js";
import { buildApp } from "../../src/http/app.js";
import { startBot, startTestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";
import { REDIS_URL, redisAnswers } from "../helpers/services.js";
import { waitFor } from "../helpers/wait.js";
import { connectWs } from "../helpers/ws-client.js";

const FAST = { segmentIntervalMs: 300, stopDelayMs: 300 };

// Dropping a consumer that stops reading is socket back-pressure, not storage: one leg covers it.
describe.each((await legs()).slice(-1))("/ws slow consumers on %s", (leg) => {
  it("a client that stops reading is dropped with close 1013 instead of being buffered for", async () => {
    const t = await startTestApp(
      leg,
      { RATE_LIMIT_PER_SECOND: "0", LIVE_PUSH_INTERVAL_MS: "200", LIVE_PUSH_MAX_BUFFERED_BYTES: "65536" },
      { listen: true, sandbox: FAST },
    );
    try {
      const u = await t.newUser();
      const native = "wss-slow-one";
      await startBot(t, u.key, native);
      // A long meeting: the snapshot alone is megabytes.
      // (once the bot has heard some audio: the block goes before now)
      await waitFor(
        () => {
          try {
            t.sandbox.addSegments("google_meet", native, 20_000);
            return true;
          } catch {
            return false;
          }
        },
        20_000,
        "room for the bulk segments",
      );
      const c = await connectWs(`${t.gatewayUrl.replace(/^http/, "ws")}/ws`, { "x-api-key": u.key });
      // safe because: the ws client keeps its TCP socket here; pausing it is a client that stopped reading.
      const tcp = (c.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      tcp.pause();
      c.send({ action: "subscribe", meetings: [{ platform: "google_meet", native_id: native }] });
      await waitFor(() => t.deps.live?.stats().sinks === 1, 10_000, "subscribed");
      await waitFor(() => t.deps.live?.stats().sinks === 0, 20_000, "slow consumer dropped");
      tcp.resume();
      expect(await c.closed).toBe(1013);
    } finally {
      await t.close();
    }
  }, 90_000);
});

describe("/ws across two instances through Redis", async () => {
  const ready = (await legs()).includes("pg") && (await redisAnswers());
  it.skipIf(!ready)(
    "a subscriber on one instance is fed by the other; one upstream read per interval",
    async () => {
      const t = await startTestApp(
        "pg",
        {
          REDIS_URL,
          SERVICE_LAYER_ID: `ws-redis-${process.pid}-${Date.now()}`,
          RATE_LIMIT_PER_SECOND: "0",
          // No coalescing cache: only the feeder lease keeps the two instances to one upstream read per interval.
          TRANSCRIPT_CACHE_TTL_MS: "0",
          LIVE_PUSH_INTERVAL_MS: "500",
        },
        { listen: true, sandbox: FAST },
      );
      const db2 = await createDb({ kind: "pg", url: t.dbUrl!, poolSize: 5 });
      const deps2 = await createDeps(loadConfig({ ...t.env, ROLE: "api-gateway" }), {
        db: db2,
        queueSchema: t.deps.queue.schema,
      });
      const gateway2 = await buildApp("gateway", deps2);
      const url2 = await gateway2.listen({ port: 0, host: "127.0.0.1" });
      try {
        const a = await t.newUser();
        const b = await t.newUser();
        const native = "wsr-redi-one";
        for (const u of [a, b]) await startBot(t, u.key, native);
        const ref = { platform: "google_meet", native_id: native };
        // A subscribes on instance 1 first: instance 1 takes the feeder lease and keeps it while A stays.
        const onOne = await connectWs(`${t.gatewayUrl.replace(/^http/, "ws")}/ws`, { "x-api-key": a.key });
        onOne.send({ action: "subscribe", meetings: [ref] });
        await onOne.next((m) => m.type === "transcript" && m.confirmed.length > 0, "A fed on instance 1");
        const onTwo = await connectWs(`${url2.replace(/^http/, "ws")}/ws`, { "x-api-key": b.key });
        onTwo.send({ action: "subscribe", meetings: [ref] });
        await onTwo.next((m) => m.type === "transcript", "B's snapshot");
        const snapshotAt = onTwo.messages.length;
        // New segments reach B on instance 2 from instance 1's feed.
        await onTwo.next(
          (m) => m.type === "transcript" && m.confirmed.length > 0,
          "B fed via Redis",
          snapshotAt,
        );
        const route = "GET /transcripts/{platform}/{native_meeting_id}";
        const before = t.sandbox.calls()[route] ?? 0;
        const started = Date.now();
        await new Promise((r) => setTimeout(r, 3000));
        const perSecond = ((t.sandbox.calls()[route] ?? 0) - before) / ((Date.now() - started) / 1000);
        // One feeder at 2 reads/s (interval 500 ms); two feeders would be 4.
        expect(perSecond).toBeLessThanOrEqual(2.5);
        expect(perSecond).toBeGreaterThan(0.5);
        // The end, committed on instance 1, reaches B on instance 2 (Redis invalidations).
        expect((await t.call("DELETE", `/bots/google_meet/${native}`, { key: a.key })).status).toBe(202);
        expect((await t.call("DELETE", `/bots/google_meet/${native}`, { key: b.key })).status).toBe(202);
        const end = await onTwo.next(
          (m) => m.type === "meeting.status" && m.payload.status === "completed",
          "B completed",
          0,
          60_000,
        );
        expect(end.user_id).toBe(b.id);
        onOne.socket.close();
        onTwo.socket.close();
      } finally {
        await gateway2.close();
        await deps2.close();
        await t.close();
      }
    },
  );
});

// The budget is the HTTP layer's (shared with REST): one leg covers /ws's use of it.
describe.each((await legs()).slice(-1))("/ws and the failed-authentication throttle on %s", (leg) => {
  it("wrong keys on /ws spend the address's budget; then even the right key is refused (rate_limited, 4429)", async () => {
    const t = await startTestApp(
      leg,
      { AUTH_FAILURES_PER_MINUTE: "6", AUTH_FAILURE_BURST: "2", RATE_LIMIT_PER_SECOND: "0" },
      { listen: true },
    );
    try {
      const u = await t.newUser();
      const url = `${t.gatewayUrl.replace(/^http/, "ws")}/ws`;
      for (const headers of [{ authorization: "Bearer wrong-1" }, { "x-api-key": "wrong-2" }] as Record<
        string,
        string
      >[]) {
        const c = await connectWs(url, headers);
        expect(await c.closed).toBe(4401);
      }
      // Spent: the right key is refused too, in-band (an HTTP 429 to an upgrade would never reach the client).
      const refused = await connectWs(`${url}?api_key=${u.key}`);
      expect(await refused.closed).toBe(4429);
      expect(refused.messages).toEqual([
        {
          type: "error",
          error: "rate_limited",
          detail: expect.stringMatching(
            /^Too many failed authentication attempts\. Retry after \d+ seconds\.$/,
          ),
        },
      ]);
    } finally {
      await t.close();
    }
  });
});
