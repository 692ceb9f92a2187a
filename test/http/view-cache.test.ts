import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { loadConfig } from "../../src/config.js";
import { createDb, type Db } from "../../src/db/client.js";
import { createDeps, type Deps } from "../../src/deps.js";
import { type App, buildApp } from "../../src/http/app.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";
import { REDIS_URL, redisAnswers } from "../helpers/services.js";
import { waitFor } from "../helpers/wait.js";

const MIN = 60_000;
let seq = 0;
const room = () => `vcc-${String(++seq).padStart(4, "0")}-${process.pid % 1000}`;

type Read = (key: string, native: string) => Promise<{ status: number; body: any }>;
const reader =
  (app: App): Read =>
  async (key, native) => {
    const res = await app.inject({
      url: `/transcripts/google_meet/${native}`,
      headers: { "x-api-key": key },
    });
    return { status: res.statusCode, body: res.statusCode === 200 ? JSON.parse(res.body) : res.body };
  };

/** Counts the statements the transcript read path sends (background work on the same database is not counted). */
function countReadStatements(deps: Deps): () => number {
  const db = deps.transcriptsCtx.db;
  let n = 0;
  deps.transcriptsCtx.db = {
    ...db,
    query: (sql, params, name) => {
      n++;
      return db.query(sql, params, name);
    },
    tx: (fn) => {
      n++;
      return db.tx(fn);
    },
  };
  return () => n;
}

async function statementsOf(count: () => number, fn: () => Promise<unknown>): Promise<number> {
  const before = count();
  await fn();
  return count() - before;
}

describe.each(await legs())("per-user meeting views on %s", (leg) => {
  let t: TestApp;
  let clock: ManualClock;
  let read: Read;
  let count: () => number;
  beforeAll(async () => {
    clock = new ManualClock(Date.parse("2026-03-02T10:00:00Z"));
    // Cache off: every read calls the wholesaler, so only the view lookup could touch the database.
    t = await startTestApp(
      leg,
      { TRANSCRIPT_CACHE_TTL_MS: "0" },
      { clock, listen: true, sandbox: { stopDelayMs: 1000 } },
    );
    read = reader(t.gateway);
    count = countReadStatements(t.deps);
  }, 120_000);
  afterAll(async () => t?.close());

  it("a hot live read runs no database statement", async () => {
    const u = await t.newUser();
    const native = room();
    const key = u.key;
    expect(
      (await t.call("POST", "/bots", { key, body: { platform: "google_meet", native_meeting_id: native } }))
        .status,
    ).toBe(201);
    clock.advance(5 * MIN);
    expect((await read(key, native)).status).toBe(200); // the view is loaded (and the first checkpoint taken)
    const n = await statementsOf(count, async () => {
      for (let i = 0; i < 5; i++) expect((await read(key, native)).status).toBe(200);
    });
    expect(n).toBe(0);
  });

  it("concurrent requests with a key not yet remembered look it up once", async () => {
    const u = await t.newUser();
    const lookups = () => t.deps.ctx.db.namedStatements?.().get("verify-api-key") ?? 0;
    const before = lookups();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => read(u.key, room())), // rooms the user holds nothing in: 404 each
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 404));
    expect(lookups() - before).toBe(1);
  });

  it("every change to the holding is seen by the next read: attach, PATCH, detach, finalization, delete", async () => {
    const u = await t.newUser();
    const native = room();
    const key = u.key;
    expect((await read(key, native)).status).toBe(404); // remembered: no holding
    const bot = await t.call("POST", "/bots", {
      key,
      body: { platform: "google_meet", native_meeting_id: native },
    });
    expect(bot.status).toBe(201);
    clock.advance(5 * MIN);
    const live = await read(key, native);
    expect(live.status).toBe(200);
    expect(live.body.status).toBe("active");

    const patch = await t.call("PATCH", `/meetings/google_meet/${native}`, {
      key,
      body: { data: { name: "x" } },
    });
    expect(patch.status, JSON.stringify(patch.body)).toBe(200);
    // The view was dropped: the next read loads it again.
    expect(await statementsOf(count, () => read(key, native))).toBeGreaterThan(0);

    expect((await t.call("DELETE", `/bots/google_meet/${native}`, { key })).status).toBe(202);
    expect((await read(key, native)).body.status).toBe("stopping");

    clock.advance(2000); // the bot leaves; the wholesaler's webhook finalizes the meeting
    await waitFor(
      async () => (await t.call("GET", "/meetings", { key })).body.meetings[0]?.status === "completed",
      30_000,
      "finalization",
    );
    expect((await read(key, native)).body.status).toBe("completed");

    expect((await t.call("DELETE", `/meetings/google_meet/${native}`, { key })).status).toBe(200);
    expect((await read(key, native)).status).toBe(404);
  });
});

describe("per-user meeting views across two instances (Redis)", async () => {
  const ready = (await legs()).includes("pg") && (await redisAnswers());
  let t: TestApp;
  let db2: Db;
  let deps2: Deps;
  let gateway2: App;
  let clock: ManualClock;
  let count2: () => number;
  beforeAll(async () => {
    if (!ready) return;
    clock = new ManualClock(Date.parse("2026-03-02T10:00:00Z"));
    t = await startTestApp(
      "pg",
      { REDIS_URL, SERVICE_LAYER_ID: `views-${process.pid}-${Date.now()}`, RATE_LIMIT_PER_SECOND: "0" },
      { clock, listen: true, sandbox: { stopDelayMs: 1000 } },
    );
    db2 = await createDb({ kind: "pg", url: t.dbUrl!, poolSize: 4 });
    deps2 = await createDeps(loadConfig({ ...t.env, ROLE: "api-gateway" }), {
      db: db2,
      clock,
      queueSchema: t.deps.queue.schema,
    });
    gateway2 = await buildApp("gateway", deps2);
    count2 = countReadStatements(deps2);
  }, 120_000);
  afterAll(async () => {
    if (!ready) return;
    await gateway2.close();
    await deps2.close();
    await t.close();
  });

  it.skipIf(!ready)(
    "a change made through one instance is seen by the next read on every instance",
    async () => {
      const read1 = reader(t.gateway);
      const read2 = reader(gateway2);
      const count1 = countReadStatements(t.deps);
      const u = await t.newUser();
      const native = room();
      const key = u.key;
      await waitFor(async () => (await read2(key, native)).status === 404, 5000, "instance 2 subscribed");
      expect((await read1(key, native)).status).toBe(404); // both remember "no holding"
      /** The next read on each instance, right after a change acknowledged to its client. */
      const both = async () => [await read1(key, native), await read2(key, native)];
      // Attach through instance 1.
      const bot = await t.call("POST", "/bots", {
        key,
        body: { platform: "google_meet", native_meeting_id: native },
      });
      expect(bot.status).toBe(201);
      clock.advance(5 * MIN);
      for (const r of await both()) expect([r.status, r.body.status]).toEqual([200, "active"]);
      // Both cached now: a hot read on either touches no database.
      expect(await statementsOf(count1, () => read1(key, native))).toBe(0);
      expect(await statementsOf(count2, () => read2(key, native))).toBe(0);

      const patch = await t.call("PATCH", `/meetings/google_meet/${native}`, {
        key,
        body: { data: { notes: "n" } },
      });
      expect(patch.status).toBe(200);
      expect(await statementsOf(count1, () => read1(key, native))).toBeGreaterThan(0);
      expect(await statementsOf(count2, () => read2(key, native))).toBeGreaterThan(0);

      // Detach (the last holder: the bot is stopping), then the wholesaler ends it and the finalizer stores it.
      expect((await t.call("DELETE", `/bots/google_meet/${native}`, { key })).status).toBe(202);
      for (const r of await both()) expect(r.body.status).toBe("stopping");
      clock.advance(2000);
      await waitFor(
        async () => (await t.call("GET", "/meetings", { key })).body.meetings[0]?.status === "completed",
        30_000,
        "finalization",
      );
      // The finalizer has no client to hold until every instance has dropped the view, and GET /meetings can see
      // its commit a moment before the invalidation arrives: both instances follow within 2 s (a view missed by
      // the invalidation would stay cached for VIEW_CACHE_TTL_MS, 60 s).
      await waitFor(
        async () => (await both()).every((r) => r.status === 200 && r.body.status === "completed"),
        2000,
        "both instances to read the finalized meeting",
      );

      expect((await t.call("DELETE", `/meetings/google_meet/${native}`, { key })).status).toBe(200);
      for (const r of await both()) expect(r.status).toBe(404);
    },
  );
});
