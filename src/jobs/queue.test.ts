import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import PgBoss from "pg-boss";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type Leg, legs, PG_SERVER } from "../../test/helpers/db.js";
import { pgliteDataDirCopy } from "../../test/helpers/pglite-template.js";
import { createDb, type Db, type DbTarget } from "../db/client.js";
import { splitSql } from "../db/sql-script.js";
import { createJobQueue, type JobQueue, type JobQueueOptions } from "./queue.js";

const LEGS = await legs();
const CRASH_WORKER = fileURLToPath(new URL("../../test/jobs/crash-worker.ts", import.meta.url));
const FAST = { pollingIntervalSeconds: 0.2 } satisfies JobQueueOptions;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Per test: a fresh pg-boss schema, dropped afterwards. On PGlite all tests share one in-memory database (opening
 * one takes a second); on PostgreSQL every `db()` is a separate pool, like a separate process.
 */
function harness(leg: Leg, shared: Db | undefined) {
  const schema = `jq_${randomBytes(5).toString("hex")}`;
  const dbs: Db[] = [];
  const queues: JobQueue[] = [];
  const h = {
    schema,
    async db(): Promise<Db> {
      if (leg === "pglite" && shared) return shared;
      const d = await createDb({ kind: "pg", url: PG_SERVER, poolSize: 5 });
      dbs.push(d);
      return d;
    },
    async queue(opts: JobQueueOptions = {}, db?: Db): Promise<JobQueue> {
      const q = createJobQueue(db ?? (await h.db()), { schema, ...FAST, ...opts });
      queues.push(q);
      return q;
    },
    async cleanup() {
      await Promise.all(queues.map((q) => q.stop({ graceful: false })));
      const any = shared ?? dbs[0] ?? (await h.db());
      await any.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await Promise.all(dbs.map((d) => d.close()));
    },
  };
  return h;
}

describe("splitSql", () => {
  it("splits on top-level semicolons only", () => {
    const sql = `BEGIN; SELECT 'a;b', "x;y" FROM t; -- c;d
      CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;
      DO $body$ BEGIN PERFORM 'it''s;'; END $body$; SELECT E'\\';', $1; /* e;f */ ; COMMIT;`;
    expect(splitSql(sql)).toEqual([
      "BEGIN",
      `SELECT 'a;b', "x;y" FROM t`,
      "-- c;d\n      CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql",
      "DO $body$ BEGIN PERFORM 'it''s;'; END $body$",
      "SELECT E'\\';', $1",
      "COMMIT",
    ]);
    expect(splitSql("SELECT 1")).toEqual(["SELECT 1"]);
  });

  it("splits pg-boss's schema script into a BEGIN … COMMIT sequence", () => {
    const statements = splitSql(PgBoss.getConstructionPlans("some_schema"));
    expect(statements[0]).toBe("BEGIN");
    expect(statements.at(-1)).toBe("COMMIT");
    expect(statements.length).toBeGreaterThan(15);
    expect(statements.some((s) => s.startsWith("CREATE FUNCTION some_schema.create_queue"))).toBe(true);
  });
});

describe.each(LEGS)("job queue on %s", (leg) => {
  let shared: Db | undefined;
  let h: ReturnType<typeof harness>;
  beforeAll(async () => {
    // PGlite: one database for the whole leg, a copy of the migrated template (each test uses its own schema).
    if (leg === "pglite") shared = (await createTestDb("pglite")).db;
  });
  afterAll(async () => {
    await shared?.close();
  });
  afterEach(async () => {
    await h?.cleanup();
  });

  it("starts idempotently, also with several instances starting at once on a fresh schema", async () => {
    h = harness(leg, shared);
    const [q1, q2, q3] = [await h.queue(), await h.queue(), await h.queue()];
    await Promise.all([q1.start(), q1.start(), q2.start(), q3.start()]);
    await q1.start();
    const db = await h.db();
    const { rows } = await db.query<{ version: number }>(`SELECT version FROM ${h.schema}.version`);
    expect(rows.map((r) => Number(r.version))).toEqual([24]);
    // Both instances work against the same tables.
    const seen: string[] = [];
    await q1.work("multi", async (job) => void seen.push(job.id));
    const id = await q2.send("multi", { a: 1 });
    await waitFor("the job", () => seen.length === 1);
    expect(seen).toEqual([id]);
  });

  it("creates many different queues at once, from several instances and transactions, without deadlocking", async () => {
    h = harness(leg, shared);
    const [q1, q2] = [await h.queue(), await h.queue()];
    await Promise.all([q1.start(), q2.start()]);
    const db1 = await h.db();
    await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => (i % 2 ? q1 : q2).ensureQueue(`lazy-${i}`)),
      ...Array.from({ length: 4 }, (_, i) => q1.send(`sent-${i}`, { i })),
      ...Array.from({ length: 4 }, (_, i) =>
        db1.tx(async (tx) => {
          await q1.send(`in-tx-${i}`, { i }, { tx });
          await sleep(50);
        }),
      ),
    ]);
    const { rows } = await db1.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${h.schema}.queue`);
    expect(rows[0]?.n).toBe(16);
  });

  it("runs a sent job within a couple of seconds with its data, then completes it", async () => {
    h = harness(leg, shared);
    const q = await h.queue({ pollingIntervalSeconds: 1 });
    await q.start();
    const runs: {
      id: string;
      data: { meetingId: number; tags: string[] };
      retryCount: number;
      at: number;
    }[] = [];
    await q.work<{ meetingId: number; tags: string[] }>("roundtrip", async ({ id, data, retryCount }) => {
      runs.push({ id, data, retryCount, at: Date.now() });
    });
    await sleep(300); // the worker is idle, sleeping between polls
    const sentAt = Date.now();
    const id = await q.send("roundtrip", { meetingId: 7, tags: ["a", "b"] });
    await waitFor("the job", () => runs.length === 1, 3000);
    expect(runs[0]).toMatchObject({ id, data: { meetingId: 7, tags: ["a", "b"] }, retryCount: 0 });
    expect(runs[0]!.at - sentAt).toBeLessThan(2000);
    const db = await h.db();
    await waitFor("completion", async () => {
      const { rows } = await db.query<{ state: string }>(`SELECT state FROM ${h.schema}.job WHERE id = $1`, [
        id,
      ]);
      return rows[0]?.state === "completed";
    });
    expect(await q.depth("roundtrip")).toBe(0);
  });

  it("inserts jobs inside the caller's transaction: rolled back → no job, committed → runs", async () => {
    h = harness(leg, shared);
    const db = await h.db();
    const q = await h.queue();
    await q.start();
    const seen: string[] = [];
    await q.work<{ k: string }>("txq", async (job) => void seen.push(job.data.k));
    // The worker keeps polling while these transactions are open (on PGlite its polls wait for them).
    await expect(
      db.tx(async (tx) => {
        await q.send("txq", { k: "rolled-back" }, { tx });
        await sleep(600);
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    // A queue first created inside a transaction that rolls back, then inside one that commits.
    await db.tx(async (tx) => q.send("fresh-q", { k: "x" }, { tx })).catch(() => undefined);
    await expect(
      db.tx(async (tx) => {
        await q.send("fresh-q", { k: "gone" }, { tx });
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    const committed = await db.tx(async (tx) => {
      const id = await q.send("txq", { k: "committed" }, { tx });
      await q.send("fresh-q2", { k: "new queue" }, { tx });
      await sleep(600);
      return id;
    });
    expect(committed).toMatch(/^[0-9a-f-]{36}$/);
    await waitFor("the committed job", () => seen.includes("committed"));
    await sleep(500);
    expect(seen).toEqual(["committed"]);
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${h.schema}.job WHERE data->>'k' IN ('rolled-back', 'gone')`,
    );
    expect(rows[0]?.n).toBe(0);
    expect(await q.depth("fresh-q2")).toBe(1);
    // Created (and used twice) in a transaction that rolls back: a later send must create it again.
    await expect(
      db.tx(async (tx) => {
        await q.send("fresh-q3", { k: "gone" }, { tx });
        await q.send("fresh-q3", { k: "gone" }, { tx });
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    expect(await q.send("fresh-q3", { k: "kept" })).not.toBeNull();
    expect(await q.depth("fresh-q3")).toBe(1);
  });

  it("dedupes live jobs by singletonKey, in and out of transactions", async () => {
    h = harness(leg, shared);
    const db = await h.db();
    const q = await h.queue();
    await q.start();
    const first = await q.send("single", { n: 1 }, { singletonKey: "meeting-1" });
    expect(first).not.toBeNull();
    expect(await q.send("single", { n: 2 }, { singletonKey: "meeting-1" })).toBeNull();
    expect(await db.tx((tx) => q.send("single", { n: 3 }, { tx, singletonKey: "meeting-1" }))).toBeNull();
    expect(await q.send("single", { n: 4 }, { singletonKey: "meeting-2" })).not.toBeNull();
    expect(await q.send("single", { n: 5 })).not.toBeNull(); // keyless jobs are never deduped
    expect(await q.send("single", { n: 6 })).not.toBeNull();
    // Concurrent senders of one key: exactly one wins.
    const racing = await Promise.all(
      Array.from({ length: 6 }, (_, i) => q.send("single", { n: 10 + i }, { singletonKey: "meeting-3" })),
    );
    expect(racing.filter((id) => id !== null)).toHaveLength(1);
    expect(await q.depth("single")).toBe(5);

    // While the job is active it still counts as live; once completed the key is free again.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const ran: number[] = [];
    await q.work<{ n: number }>("single", async (job) => {
      ran.push(job.data.n);
      if (job.data.n === 1) await gate;
    });
    await waitFor("the first job to start", () => ran.includes(1));
    expect(await q.send("single", { n: 7 }, { singletonKey: "meeting-1" })).toBeNull();
    release();
    await waitFor("all jobs", () => ran.length === 5);
    await waitFor("completion of meeting-1's job", async () => {
      const { rows } = await db.query<{ state: string }>(`SELECT state FROM ${h.schema}.job WHERE id = $1`, [
        first,
      ]);
      return rows[0]?.state === "completed";
    });
    expect(await q.send("single", { n: 8 }, { singletonKey: "meeting-1" })).not.toBeNull();
    await waitFor("the new meeting-1 job", () => ran.includes(8));
    expect(ran.filter((n) => n >= 10)).toHaveLength(1); // the one racer that won
    expect(ran.filter((n) => n < 10).sort((a, b) => a - b)).toEqual([1, 4, 5, 6, 8]);
  });

  it("retries a throwing handler, then marks the job failed when retries run out", async () => {
    h = harness(leg, shared);
    const db = await h.db();
    const q = await h.queue();
    await q.start();
    await q.ensureQueue("flaky", { retryLimit: 2, retryDelaySeconds: 0, retryBackoff: false });
    const attempts: number[] = [];
    await q.work<{ ok: boolean }>("flaky", async (job) => {
      attempts.push(job.retryCount);
      if (!job.data.ok || job.retryCount < 1) throw new Error(`attempt ${job.retryCount} failed`);
    });
    const healed = await q.send("flaky", { ok: true });
    const doomed = await q.send("flaky", { ok: false });
    await waitFor("the doomed job to fail for good", async () => (await q.failedCount("flaky")) === 1);
    const { rows } = await db.query<{ id: string; state: string; output: { message?: string } }>(
      `SELECT id, state, output FROM ${h.schema}.job WHERE name = 'flaky' ORDER BY state`,
    );
    expect(rows.find((r) => r.id === healed)?.state).toBe("completed");
    expect(rows.find((r) => r.id === doomed)).toMatchObject({
      state: "failed",
      output: { message: "attempt 2 failed" },
    });
    expect(attempts.sort()).toEqual([0, 0, 1, 1, 2]);
  });

  it("backs off before retrying when retryBackoff is on", async () => {
    h = harness(leg, shared);
    const db = await h.db();
    const q = await h.queue();
    await q.start();
    let runs = 0;
    await q.work("backoff", async () => {
      runs++;
      throw new Error("upstream down");
    });
    const id = await q.send("backoff", {}, { retryDelaySeconds: 10, retryBackoff: true, retryLimit: 3 });
    await waitFor("the first failure", async () => {
      const { rows } = await db.query<{ state: string }>(`SELECT state FROM ${h.schema}.job WHERE id = $1`, [
        id,
      ]);
      return rows[0]?.state === "retry";
    });
    const { rows } = await db.query<{ wait: number }>(
      `SELECT EXTRACT(epoch FROM start_after - now())::float8 AS wait FROM ${h.schema}.job WHERE id = $1`,
      [id],
    );
    // First retry waits retryDelay × (1 … 2).
    expect(Number(rows[0]?.wait)).toBeGreaterThan(8);
    expect(Number(rows[0]?.wait)).toBeLessThan(21);
    expect(await q.depth("backoff")).toBe(1);
    expect(runs).toBe(1);
  });

  it("aborts a handler that outlives its expiry and retries the job", async () => {
    h = harness(leg, shared);
    const q = await h.queue();
    await q.start();
    const seen: { retryCount: number; aborted: boolean }[] = [];
    await q.work("slow", async (job) => {
      if (job.retryCount > 0) return void seen.push({ retryCount: job.retryCount, aborted: false });
      await new Promise((r) => job.signal.addEventListener("abort", r));
      seen.push({ retryCount: job.retryCount, aborted: job.signal.aborted });
    });
    await q.send("slow", {}, { expireInSeconds: 1, retryDelaySeconds: 0, retryBackoff: false });
    await waitFor("the retry", () => seen.length === 2);
    expect(seen).toEqual([
      { retryCount: 0, aborted: true },
      { retryCount: 1, aborted: false },
    ]);
  });

  it("stop() without grace abandons a hung handler; a new queue on the same database retries the job", async () => {
    h = harness(leg, shared);
    const db = await h.db();
    const q1 = await h.queue({}, db);
    await q1.start();
    let signal: AbortSignal | undefined;
    await q1.work("hang", async (job) => {
      signal = job.signal;
      await new Promise(() => undefined); // never settles, ignores the signal
    });
    const id = await q1.send("hang", { x: 1 }, { retryDelaySeconds: 0, retryBackoff: false });
    await waitFor("the hung handler", () => signal !== undefined);
    const t0 = Date.now();
    await q1.stop({ graceful: false });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(signal?.aborted).toBe(true);

    const q2 = await h.queue({}, leg === "pg" ? await h.db() : db);
    await q2.start();
    const retried: { id: string; retryCount: number }[] = [];
    await q2.work("hang", async (job) => void retried.push({ id: job.id, retryCount: job.retryCount }));
    await waitFor("the retry", () => retried.length === 1);
    expect(retried).toEqual([{ id, retryCount: 1 }]);
  });

  it("graceful stop() waits for running handlers to finish", async () => {
    h = harness(leg, shared);
    const db = await h.db();
    const q = await h.queue();
    await q.start();
    let started = false;
    let finished = false;
    await q.work("gentle", async () => {
      started = true;
      await sleep(800);
      finished = true;
    });
    const id = await q.send("gentle", {});
    await waitFor("the handler", () => started);
    await q.stop({ graceful: true, timeoutMs: 5000 });
    expect(finished).toBe(true);
    const { rows } = await db.query<{ state: string }>(`SELECT state FROM ${h.schema}.job WHERE id = $1`, [
      id,
    ]);
    expect(rows[0]?.state).toBe("completed");
  });

  it("hands each job to exactly one of several workers", async () => {
    h = harness(leg, shared);
    const [q1, q2] = [await h.queue(), await h.queue()];
    await Promise.all([q1.start(), q2.start()]);
    const handled = new Map<string, string[]>();
    const handler = (who: string) => async (job: { id: string }) => {
      handled.set(job.id, [...(handled.get(job.id) ?? []), who]);
      await sleep(5);
    };
    await q1.work("shared", handler("q1"), { batchSize: 3 });
    await q1.work("shared", handler("q1b"));
    await q2.work("shared", handler("q2"), { batchSize: 2 });
    const ids = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? q1 : q2).send("shared", { i })),
    );
    await waitFor("all jobs", () => handled.size === 40, 20_000);
    await sleep(600);
    expect([...handled.keys()].sort()).toEqual([...ids].sort());
    expect([...handled.values()].every((who) => who.length === 1)).toBe(true);
    expect(await q1.depth("shared")).toBe(0);
  });

  it("reports depth (created + retry, including delayed jobs) and failures", async () => {
    h = harness(leg, shared);
    const q = await h.queue();
    await q.start();
    expect(await q.depth("metrics")).toBe(0);
    await q.send("metrics", { a: 1 });
    await q.send("metrics", { a: 2 }, { startAfterSeconds: 60 });
    await q.send("metrics", { a: 3 }, { startAfterSeconds: 60 });
    expect(await q.depth("metrics")).toBe(3);
    expect(await q.depth("other")).toBe(0);
    expect(await q.failedCount("metrics")).toBe(0);
  });

  it("updates a queue's stored settings when ensureQueue is called with new ones", async () => {
    h = harness(leg, shared);
    const db = await h.db();
    const q = await h.queue();
    await q.start();
    await q.ensureQueue("tuned", { retryLimit: 1, expireInSeconds: 30 });
    await q.ensureQueue("tuned", {
      retryLimit: 4,
      retryDelaySeconds: 2,
      retryBackoff: true,
      expireInSeconds: 90,
    });
    const { rows } = await db.query(
      `SELECT retry_limit, retry_delay, retry_backoff, expire_seconds FROM ${h.schema}.queue WHERE name = 'tuned'`,
    );
    expect(rows[0]).toEqual({ retry_limit: 4, retry_delay: 2, retry_backoff: true, expire_seconds: 90 });
    const id = await q.send("tuned", {});
    const job = await db.query<{ retry_limit: number; exp: number }>(
      `SELECT retry_limit, EXTRACT(epoch FROM expire_in)::int AS exp FROM ${h.schema}.job WHERE id = $1`,
      [id],
    );
    expect(job.rows[0]).toEqual({ retry_limit: 4, exp: 90 });
  });

  it("shuts down cleanly: no timers or sockets left once the queue is stopped and the db closed", async () => {
    h = harness(leg, shared);
    const before = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const db =
      leg === "pg" ? await createDb({ kind: "pg", url: PG_SERVER }) : (await createTestDb("pglite")).db;
    const q = createJobQueue(db, { schema: h.schema, ...FAST, maintenanceIntervalSeconds: 1 });
    await q.start();
    let done = 0;
    await q.work("bye", async () => void done++, { batchSize: 2 });
    await q.work("bye2", async () => void done++);
    await q.send("bye", {});
    await q.send("bye2", {});
    await waitFor("both jobs", () => done === 2);
    await sleep(1200); // let a maintenance pass run
    await q.stop();
    await db.close();
    // Closed sockets leave the resource list on a later tick; a loaded machine can take a while to get there.
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap");
    await waitFor("sockets to close", () => sockets().length === 0, 5_000).catch(() => undefined);
    const after = process.getActiveResourcesInfo();
    expect(after.filter((r) => r === "Timeout").length).toBeLessThanOrEqual(before);
    expect(sockets()).toEqual([]);
  }, 120_000);

  it("retries the job of a worker process that was killed mid-handler, once the job expires", async () => {
    h = harness(leg, shared);
    // PGlite: an on-disk copy of the migrated template (a new data directory would run initdb first).
    const data = leg === "pglite" ? await pgliteDataDirCopy() : undefined;
    const target: DbTarget = data ? { kind: "pglite", dataDir: data.dir } : { kind: "pg", url: PG_SERVER };
    try {
      // Enqueue (PGlite: then close, since only one process may open the data directory).
      let db = await createDb(target);
      let q = createJobQueue(db, { schema: h.schema, ...FAST });
      await q.start();
      const id = await q.send(
        "crashy",
        { step: "pull" },
        { expireInSeconds: 3, retryDelaySeconds: 0, retryBackoff: false },
      );
      await q.stop();
      await db.close();

      const child = spawn(
        process.execPath,
        ["--import", "tsx", CRASH_WORKER, JSON.stringify({ target, schema: h.schema, queue: "crashy" })],
        {
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      const startedId = await childStarted(child);
      expect(startedId).toBe(id);
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;

      db = await createDb(target);
      const { rows } = await db.query<{ state: string }>(`SELECT state FROM ${h.schema}.job WHERE id = $1`, [
        id,
      ]);
      expect(rows[0]?.state).toBe("active"); // nobody settled it: the worker died
      q = createJobQueue(db, { schema: h.schema, ...FAST, maintenanceIntervalSeconds: 1 });
      await q.start();
      const recovered: { id: string; retryCount: number; data: unknown }[] = [];
      await q.work(
        "crashy",
        async (job) => void recovered.push({ id: job.id, retryCount: job.retryCount, data: job.data }),
      );
      await waitFor("the expired job to be retried", () => recovered.length === 1, 15_000);
      expect(recovered).toEqual([{ id, retryCount: 1, data: { step: "pull" } }]);
      await q.stop();
      await db.close();
    } finally {
      data?.remove();
    }
  }, 120_000);

  if (leg === "pglite") {
    it("PGlite: a query issued while a transaction is open waits for it instead of interleaving", async () => {
      h = harness(leg, shared);
      const db = await h.db();
      await db.query("CREATE TABLE ordering_probe (v text)");
      const order: string[] = [];
      const tx = db.tx(async (t) => {
        await t.query("INSERT INTO ordering_probe VALUES ('in-tx')");
        order.push("tx: inserted");
        await sleep(300);
        order.push("tx: done");
      });
      await sleep(50);
      const outside = db.query<{ n: number }>("SELECT count(*)::int AS n FROM ordering_probe").then((r) => {
        order.push(`outside: saw ${r.rows[0]?.n}`);
      });
      await Promise.all([tx, outside]);
      expect(order).toEqual(["tx: inserted", "tx: done", "outside: saw 1"]);
    });
  }
});

function childStarted(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`crash worker did not start a job; output: ${out}`));
    }, 20_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const m = /STARTED (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`crash worker exited early (${code}); output: ${out}`));
    });
  });
}
