/**
 * Durable job queue: pg-boss 10 over our own `Db`, so the same code runs on embedded PGlite and on PostgreSQL.
 * (Kept on pg-boss 10: 11 and 12 cannot migrate its schema; see the README's note on dependencies.)
 *
 * What pg-boss provides here: its schema and migrations (created by `start()`, safe from several processes at
 * once), job insert (inside the caller's transaction when `tx` is given), `FOR UPDATE SKIP LOCKED` fetching,
 * retries with backoff, and the maintenance that expires jobs whose worker died. What this module adds:
 *
 * - The `db.executeSql` adapter pg-boss needs. pg-boss sends some multi-statement scripts without parameters
 *   (`BEGIN; SET LOCAL …; SELECT pg_advisory_xact_lock(…); …; COMMIT;` for schema creation, migrations and
 *   maintenance). PGlite's `query` runs one statement only, and on PostgreSQL a failing script would leave a
 *   pooled connection inside an aborted transaction. So scripts are split into statements and run inside
 *   `db.tx`, which commits or rolls back cleanly on both engines; everything else goes to `db.query`.
 * - Its own polling loop (pg-boss's `fetch`/`complete`/`fail`) instead of `boss.work`: each job is settled on
 *   its own and awaited (pg-boss's worker fires completion queries without awaiting them, which turns a
 *   database hiccup into an unhandled rejection), handlers get an `AbortSignal`, and `stop()` leaves no timers.
 * - `singletonKey` semantics: at most one live (created, retry or active) job per (queue, key), on every queue.
 *
 * Durability: a job is `active` while a handler runs. If the process dies, the job stays active until its
 * `expireInSeconds` (default 60) have passed; the next maintenance pass (every `maintenanceIntervalSeconds`,
 * default 15, shared by all instances; pg-boss may skip one tick, so allow twice that) fails it by timeout, and
 * it is retried with the usual backoff. Worst case after a crash: about 60 + 30 + retry delay seconds. A crash
 * uses up one retry. A handler that is still running when its job expires is told so through `job.signal` and
 * the job is failed (→ retried); the handler must stop on abort and, like every handler, be idempotent: a job
 * can run more than once (crash after the work but before `complete`, expiry while still running).
 *
 * PGlite is a single connection: while a `db.tx` is open every other query waits for it (PGlite's transaction
 * mutex). So inside a transaction, always pass `{ tx }` to `send`; a `send` without `tx` from inside an open
 * PGlite transaction waits for that transaction, which waits for the send: a deadlock.
 */
import PgBoss from "pg-boss";
import type { Db, Queryable, QueryResult, Row } from "../db/client.js";
import { splitSql } from "../db/sql-script.js";

export type QueuePolicy = "standard" | "short" | "singleton" | "stately";

/** Per-queue defaults, stored in pg-boss's queue table. Jobs sent without their own values use these. */
export interface QueueSettings {
  /**
   * pg-boss policy, fixed when the queue is created. `standard` (default) suits almost everything. `short`,
   * `singleton` and `stately` treat jobs without a singletonKey as sharing the key "": don't use them for
   * queues that get keyless jobs.
   */
  policy?: QueuePolicy;
  retryLimit?: number;
  retryDelaySeconds?: number;
  retryBackoff?: boolean;
  expireInSeconds?: number;
}

export interface SendOptions {
  /** Insert inside this open transaction: the job commits or rolls back with the caller's rows. */
  tx?: Queryable;
  /**
   * Dedupe: while a job with this key is created, waiting for a retry or active in this queue, `send` returns
   * null and inserts nothing. Serialised per key with an advisory lock held until the (caller's) transaction ends.
   */
  singletonKey?: string;
  startAfterSeconds?: number;
  /** Retries after the first attempt (so `retryLimit + 1` runs at most). */
  retryLimit?: number;
  retryDelaySeconds?: number;
  /** Exponential backoff with jitter: about retryDelay × 2^(retry−1) … twice that. */
  retryBackoff?: boolean;
  /** How long a run may take before it counts as dead (crash) or stuck (abort + retry). */
  expireInSeconds?: number;
}

export interface Job<T> {
  id: string;
  name: string;
  data: T;
  /** 0 on the first run, 1 on the first retry, … */
  retryCount: number;
  /** Aborted when the job expires or the queue is stopped without waiting for it: stop work and return/throw. */
  signal: AbortSignal;
}

export type JobHandler<T> = (job: Job<T>) => Promise<void>;

export interface WorkOptions {
  /** Jobs fetched (and run concurrently) per poll. Default 1. */
  batchSize?: number;
  /** Idle polling interval of this worker. Default: the queue's `pollingIntervalSeconds`. */
  pollingIntervalSeconds?: number;
}

export interface StopOptions {
  /** Default true: wait (up to timeoutMs) for running handlers. Jobs still running after that are aborted and failed (→ retried). */
  graceful?: boolean;
  timeoutMs?: number;
}

/** Shaped like pino's methods, so a pino logger fits. */
export interface JobQueueLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface JobQueueOptions {
  /** Postgres schema for pg-boss's tables. Default "pgboss". */
  schema?: string;
  /** How often an idle worker looks for jobs. Default 1 s (a job starts within ~1 s of its commit). */
  pollingIntervalSeconds?: number;
  /** How often expired jobs are looked for (and old ones archived). Default 15 s. */
  maintenanceIntervalSeconds?: number;
  /** Defaults for jobs whose queue and send options say nothing. */
  expireInSeconds?: number;
  retryLimit?: number;
  retryDelaySeconds?: number;
  retryBackoff?: boolean;
  logger?: JobQueueLogger;
}

export interface JobQueue {
  readonly schema: string;
  /** Creates or migrates pg-boss's schema (idempotent, safe from several processes at once) and starts polling. */
  start(): Promise<void>;
  /** Stops polling and maintenance. Leaves no timers behind. Does not close the Db. */
  stop(opts?: StopOptions): Promise<void>;
  /**
   * Creates the queue if it does not exist. With settings, also brings the stored retry/expiry defaults in line
   * with them (the policy cannot change after creation). `send` and `work` create unknown queues lazily.
   */
  ensureQueue(name: string, settings?: QueueSettings): Promise<void>;
  /** Enqueue. Returns the job id, or null when singletonKey found a live job. */
  send(name: string, data: object, opts?: SendOptions): Promise<string | null>;
  /** Registers a handler. Resolving completes the job; throwing fails it (→ retried with backoff until retryLimit). */
  work<T extends object>(name: string, handler: JobHandler<T>, opts?: WorkOptions): Promise<void>;
  /**
   * Cuts short the backoff of the job with this singleton key that is waiting for its next try (state `retry`): it
   * runs at the next poll. For a caller that knows the cause of the failures is gone (the reconciler, once the
   * wholesaler answers again). Returns whether a job was brought forward.
   */
  retryNow(name: string, singletonKey: string): Promise<boolean>;
  /** Jobs waiting to run: created + retry (including ones scheduled for later). */
  depth(name: string): Promise<number>;
  /** Jobs that used up their retries (until pg-boss archives them, 12 h after they failed). */
  failedCount(name: string): Promise<number>;
}

const DEFAULTS = {
  schema: "pgboss",
  pollingIntervalSeconds: 1,
  maintenanceIntervalSeconds: 15,
  expireInSeconds: 60,
  retryLimit: 10,
  retryDelaySeconds: 5,
  retryBackoff: true,
};

const silentLogger: JobQueueLogger = { info() {}, warn() {}, error() {} };

type BossDb = PgBoss.Db;
type JobRow = PgBoss.JobWithMetadata<object>;

interface WorkerState {
  name: string;
  handler: JobHandler<object>;
  batchSize: number;
  intervalMs: number;
  loop: Promise<void> | null;
  wake: () => void;
}

export function createJobQueue(db: Db, opts: JobQueueOptions = {}): JobQueue {
  const schema = opts.schema ?? DEFAULTS.schema;
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,49}$/.test(schema))
    throw new Error(`invalid job queue schema name: ${schema}`);
  const pollingIntervalSeconds = opts.pollingIntervalSeconds ?? DEFAULTS.pollingIntervalSeconds;
  assertPositive("pollingIntervalSeconds", pollingIntervalSeconds, 0.1);
  const log = opts.logger ?? silentLogger;
  const inflight = new InFlight();
  const rootDb = bossDb(db, inflight);
  const bossConfig: PgBoss.ConstructorOptions = {
    db: rootDb,
    schema,
    migrate: true,
    supervise: true,
    schedule: false, // no cron: avoids pg-boss's internal queue and clock-skew timer
    maintenanceIntervalSeconds: opts.maintenanceIntervalSeconds ?? DEFAULTS.maintenanceIntervalSeconds,
    expireInSeconds: opts.expireInSeconds ?? DEFAULTS.expireInSeconds,
    retryLimit: opts.retryLimit ?? DEFAULTS.retryLimit,
    retryDelay: opts.retryDelaySeconds ?? DEFAULTS.retryDelaySeconds,
    retryBackoff: opts.retryBackoff ?? DEFAULTS.retryBackoff,
  };
  const defaultExpireSeconds = bossConfig.expireInSeconds ?? DEFAULTS.expireInSeconds;
  new PgBoss(bossConfig); // validates the configuration now rather than at start()

  const workers: WorkerState[] = [];
  const known = new Set<string>();
  const ensuring = new Map<string, Promise<void>>();
  let boss: PgBoss | null = null;
  let starting: Promise<void> | null = null;
  let stopping: Promise<void> | null = null;
  let halting = false;
  let hardStop = new AbortController();

  // Handlers still running during a graceful stop may send follow-up jobs, so only a finished stop refuses.
  const requireBoss = (): PgBoss => {
    if (!boss) throw new Error("job queue is not started");
    return boss;
  };

  async function doStart(): Promise<void> {
    // A stopped PgBoss instance cannot be restarted cleanly (its maintenance flag stays set), so use a fresh one.
    const instance = new PgBoss(bossConfig);
    instance.on("error", (err) => log.error({ err }, "pg-boss error"));
    await instance.start();
    boss = instance;
    halting = false;
    hardStop = new AbortController();
    try {
      for (const w of workers) await ensureQueue(w.name);
    } catch (err) {
      boss = null;
      await instance.stop({ graceful: false, close: false, wait: true });
      await inflight.idle();
      throw err;
    }
    for (const w of workers) launch(w);
    log.info({ schema }, "job queue started");
  }

  async function doStop({ graceful = true, timeoutMs = 30_000 }: StopOptions): Promise<void> {
    await starting?.catch(() => undefined);
    const instance = boss;
    if (!instance) return;
    halting = true;
    for (const w of workers) w.wake();
    const loops = workers.flatMap((w) => (w.loop ? [w.loop] : []));
    if (graceful) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(loops), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
    }
    hardStop.abort();
    await Promise.all(loops);
    for (const w of workers) w.loop = null;
    await instance.stop({ graceful: false, close: false, wait: true });
    await inflight.idle();
    boss = null;
    log.info({ schema }, "job queue stopped");
  }

  function launch(w: WorkerState): void {
    if (!w.loop && !halting) w.loop = pollLoop(w);
  }

  async function pollLoop(w: WorkerState): Promise<void> {
    while (!halting && boss) {
      let jobs: JobRow[] = [];
      try {
        jobs = await boss.fetch<object>(w.name, { batchSize: w.batchSize, includeMetadata: true });
      } catch (err) {
        log.warn({ err, queue: w.name }, "job fetch failed");
      }
      if (jobs.length > 0) {
        await Promise.all(jobs.map((job) => runJob(w, job)));
        continue;
      }
      if (halting) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, w.intervalMs);
        function done() {
          clearTimeout(timer);
          w.wake = noop;
          resolve();
        }
        w.wake = done;
      });
    }
  }

  type Outcome = { kind: "ok" } | { kind: "error"; err: unknown } | { kind: "expired" } | { kind: "stopped" };

  async function runJob(w: WorkerState, job: JobRow): Promise<void> {
    const instance = requireBoss();
    const ac = new AbortController();
    const expireMs = Math.max(1, Number(job.expireInSeconds) || defaultExpireSeconds) * 1000;
    // Give up a little before the database would expire the job, so we fail it ourselves rather than race
    // maintenance (which could otherwise fail a retry that another worker has already picked up).
    const budgetMs = Math.max(500, expireMs - Math.min(5000, expireMs * 0.1));
    const ctx = { queue: w.name, jobId: job.id, retryCount: job.retryCount };
    let timer: NodeJS.Timeout | undefined;
    let onStop = noop;
    const outcome = await new Promise<Outcome>((resolve) => {
      if (hardStop.signal.aborted) return resolve({ kind: "stopped" });
      timer = setTimeout(() => resolve({ kind: "expired" }), budgetMs);
      onStop = () => resolve({ kind: "stopped" });
      hardStop.signal.addEventListener("abort", onStop, { once: true });
      const run = {
        id: job.id,
        name: job.name,
        data: job.data,
        retryCount: Number(job.retryCount),
        signal: ac.signal,
      };
      Promise.resolve()
        .then(() => w.handler(run))
        .then(
          () => resolve({ kind: "ok" }),
          (err: unknown) => resolve({ kind: "error", err }),
        );
    });
    clearTimeout(timer);
    hardStop.signal.removeEventListener("abort", onStop);
    try {
      if (outcome.kind === "ok") {
        await instance.complete(w.name, job.id);
        return;
      }
      let output: object;
      if (outcome.kind === "error") {
        const err = outcome.err;
        output = err instanceof Error ? err : { message: String(err) };
        const final = Number(job.retryCount) >= Number(job.retryLimit);
        log[final ? "error" : "warn"](
          { ...ctx, err },
          final ? "job failed, no retries left" : "job failed, will retry",
        );
      } else {
        const message =
          outcome.kind === "expired"
            ? `job handler exceeded its ${expireMs / 1000}s expiry`
            : "job queue stopped while the job was running";
        ac.abort(new Error(message));
        output = { message };
        log.warn(ctx, message);
      }
      await instance.fail(w.name, job.id, output);
    } catch (err) {
      // The job stays active; maintenance expires it and it is retried.
      log.error({ ...ctx, err }, "could not record the job's outcome; it will be retried after it expires");
    }
  }

  /**
   * Creates a queue with pg-boss's own `create_queue` function, serialised by an advisory lock: pg-boss 10
   * deadlocks on PostgreSQL when two sessions create different queues at once (each inserts into `queue`, then
   * wants a SHARE ROW EXCLUSIVE lock on it for the new partition's foreign key). Inside a caller's transaction
   * the lock (and the new queue) last until it ends.
   */
  async function createQueueIn(tx: Queryable, name: string, settings: QueueSettings): Promise<boolean> {
    const exists = await tx.query(`SELECT 1 FROM ${schema}.queue WHERE name = $1`, [name]);
    if (exists.rows.length > 0) return false;
    await tx.query("SELECT pg_advisory_xact_lock(hashtext($1), hashtext('pgboss.create_queue'))", [schema]);
    const options = {
      policy: settings.policy ?? "standard",
      retryLimit: settings.retryLimit,
      retryDelay: settings.retryDelaySeconds,
      retryBackoff: settings.retryBackoff,
      expireInSeconds: settings.expireInSeconds,
    };
    await tx.query(`SELECT ${schema}.create_queue($1, $2)`, [name, options]); // a no-op if it exists by now
    return true;
  }

  async function syncSettings(name: string, s: QueueSettings): Promise<void> {
    const { rows } = await db.query<{
      policy: string | null;
      retry_limit: number | null;
      retry_delay: number | null;
      retry_backoff: boolean | null;
      expire_seconds: number | null;
    }>(
      `SELECT policy, retry_limit, retry_delay, retry_backoff, expire_seconds FROM ${schema}.queue WHERE name = $1`,
      [name],
    );
    const row = rows[0];
    if (!row) throw new Error(`job queue ${name} was not created`);
    if (s.policy && (row.policy ?? "standard") !== s.policy) {
      log.warn(
        { queue: name, policy: row.policy, wanted: s.policy },
        "job queue policy cannot change after creation",
      );
    }
    const wanted = [
      s.retryLimit ?? null,
      s.retryDelaySeconds ?? null,
      s.retryBackoff ?? null,
      s.expireInSeconds ?? null,
    ];
    const stored = [row.retry_limit, row.retry_delay, row.retry_backoff, row.expire_seconds];
    if (wanted.every((v, i) => v === stored[i])) return;
    await db.query(
      `UPDATE ${schema}.queue SET retry_limit = $2, retry_delay = $3, retry_backoff = $4, expire_seconds = $5,
         updated_on = now() WHERE name = $1`,
      [name, ...wanted],
    );
  }

  async function ensureQueue(name: string, settings?: QueueSettings): Promise<void> {
    assertQueueName(name);
    if (settings) {
      validateSettings(settings);
      await db.tx((tx) => createQueueIn(tx, name, settings));
      await syncSettings(name, settings);
      known.add(name);
      return;
    }
    if (known.has(name)) return;
    let pending = ensuring.get(name);
    if (!pending) {
      pending = db
        .tx((tx) => createQueueIn(tx, name, {}))
        .then(() => void known.add(name))
        .finally(() => ensuring.delete(name));
      ensuring.set(name, pending);
    }
    await pending;
  }

  /** Inside a caller's transaction, as creating the queue outside it could deadlock (PGlite, or a full pool). */
  async function ensureQueueIn(tx: Queryable, name: string): Promise<void> {
    // Never cached from here: the queue may have been created earlier in this very transaction, which may
    // still roll back. (A cheap primary-key lookup until `work`/`ensureQueue` has seen the queue.)
    if (!known.has(name)) await createQueueIn(tx, name, {});
  }

  async function send(name: string, data: object, o: SendOptions = {}): Promise<string | null> {
    const instance = requireBoss();
    assertQueueName(name);
    const options = toBossSendOptions(o);
    const insert = async (tx: Queryable): Promise<string | null> => {
      await ensureQueueIn(tx, name);
      if (o.singletonKey !== undefined) {
        await tx.query("SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))", [
          `${schema}.${name}`,
          o.singletonKey,
        ]);
        const live = await tx.query(
          `SELECT 1 FROM ${schema}.job WHERE name = $1 AND singleton_key = $2 AND state < 'completed' LIMIT 1`,
          [name, o.singletonKey],
        );
        if (live.rows.length > 0) return null;
      }
      return instance.send(name, data, { ...options, db: bossDb(tx) });
    };
    if (o.tx) return insert(o.tx);
    await ensureQueue(name);
    const id = o.singletonKey === undefined ? await instance.send(name, data, options) : await db.tx(insert);
    if (id) for (const w of workers) if (w.name === name) w.wake();
    return id;
  }

  async function work<T extends object>(
    name: string,
    handler: JobHandler<T>,
    o: WorkOptions = {},
  ): Promise<void> {
    assertQueueName(name);
    const batchSize = o.batchSize ?? 1;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error("batchSize must be an integer >= 1");
    const interval = o.pollingIntervalSeconds ?? pollingIntervalSeconds;
    assertPositive("pollingIntervalSeconds", interval, 0.1);
    const w: WorkerState = {
      name,
      handler: handler as JobHandler<object>,
      batchSize,
      intervalMs: interval * 1000,
      loop: null,
      wake: noop,
    };
    if (boss && !halting) await ensureQueue(name);
    workers.push(w);
    if (boss && !halting) launch(w);
  }

  async function count(name: string, condition: string): Promise<number> {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${schema}.job WHERE name = $1 AND ${condition}`,
      [name],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async function retryNow(name: string, singletonKey: string): Promise<boolean> {
    assertQueueName(name);
    const { rows } = await db.query(
      `UPDATE ${schema}.job SET start_after = now()
        WHERE name = $1 AND singleton_key = $2 AND state = 'retry' AND start_after > now() RETURNING id`,
      [name, singletonKey],
    );
    if (rows.length > 0) for (const w of workers) if (w.name === name) w.wake();
    return rows.length > 0;
  }

  function start(): Promise<void> {
    if (stopping) return stopping.then(start);
    if (!starting) {
      starting = doStart()
        // PostgreSQL: pg-boss creates its schema under an advisory lock, but a session whose catalog cache still
        // says "no such schema" (taking an advisory lock does not refresh it) then fails CREATE SCHEMA IF NOT EXISTS
        // with a unique violation, because another instance has just created it. A second try sees the schema.
        .catch((err: unknown) =>
          (err as { code?: string }).code === "23505" ? doStart() : Promise.reject(err),
        )
        .catch((err: unknown) => {
          starting = null;
          throw err;
        });
    }
    return starting;
  }

  function stop(o: StopOptions = {}): Promise<void> {
    if (!starting) return stopping ?? Promise.resolve();
    if (!stopping) {
      stopping = doStop(o).finally(() => {
        starting = null;
        stopping = null;
      });
    }
    return stopping;
  }

  return {
    schema,
    start,
    stop,
    ensureQueue,
    send,
    work,
    retryNow,
    depth: (name) => count(name, "state < 'active'"),
    failedCount: (name) => count(name, "state = 'failed'"),
  };
}

function toBossSendOptions(o: SendOptions): PgBoss.SendOptions {
  const out: PgBoss.SendOptions = {};
  if (o.singletonKey !== undefined) out.singletonKey = o.singletonKey;
  if (o.startAfterSeconds !== undefined && o.startAfterSeconds > 0) out.startAfter = o.startAfterSeconds;
  if (o.retryLimit !== undefined) out.retryLimit = o.retryLimit;
  if (o.retryDelaySeconds !== undefined) out.retryDelay = o.retryDelaySeconds;
  if (o.retryBackoff !== undefined) out.retryBackoff = o.retryBackoff;
  if (o.expireInSeconds !== undefined) out.expireInSeconds = o.expireInSeconds;
  return out;
}

function validateSettings(s: QueueSettings): void {
  if (s.policy !== undefined && !["standard", "short", "singleton", "stately"].includes(s.policy)) {
    throw new Error(`unknown job queue policy: ${s.policy}`);
  }
  if (s.retryLimit !== undefined && !(Number.isInteger(s.retryLimit) && s.retryLimit >= 0)) {
    throw new Error("retryLimit must be an integer >= 0");
  }
  if (
    s.retryDelaySeconds !== undefined &&
    !(Number.isInteger(s.retryDelaySeconds) && s.retryDelaySeconds >= 0)
  ) {
    throw new Error("retryDelaySeconds must be an integer >= 0");
  }
  if (s.expireInSeconds !== undefined) assertPositive("expireInSeconds", s.expireInSeconds, 1);
}

function assertQueueName(name: string): void {
  if (!/^[\w.-]{1,100}$/.test(name)) throw new Error(`invalid job queue name: ${JSON.stringify(name)}`);
}

function assertPositive(what: string, value: number, min: number): void {
  if (!(Number.isFinite(value) && value >= min)) throw new Error(`${what} must be a number >= ${min}`);
}

function noop(): void {}

/** Counts queries in flight so stop() can wait for pg-boss's last maintenance/fetch query to finish. */
class InFlight {
  private n = 0;
  private waiters: (() => void)[] = [];
  async track<T>(fn: () => Promise<T>): Promise<T> {
    this.n++;
    try {
      return await fn();
    } finally {
      this.n--;
      if (this.n === 0) for (const w of this.waiters.splice(0)) w();
    }
  }
  idle(): Promise<void> {
    return this.n === 0 ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }
}

/**
 * The `db` pg-boss runs its SQL through. On the root Db, parameterless multi-statement scripts run as one `db.tx`
 * (their own BEGIN/COMMIT dropped); on a caller's transaction they run statement by statement inside it.
 */
function bossDb(q: Db | Queryable, inflight?: InFlight): BossDb {
  const root = "tx" in q ? q : null;
  const exec = async (text: string, values?: unknown[]): Promise<QueryResult<Row>> => {
    if (!values || values.length === 0) {
      const statements = splitSql(text);
      if (statements.length > 1) {
        const body = stripTransactionControl(statements);
        const runAll = async (t: Queryable) => {
          let last: QueryResult<Row> = { rows: [], rowCount: 0 };
          for (const s of body) last = await t.query(s);
          return last;
        };
        return root ? root.tx(runAll) : runAll(q);
      }
    }
    // node-pg sends undefined as NULL; PGlite's serializer is stricter.
    return q.query(
      text,
      values?.map((v) => (v === undefined ? null : v)),
    );
  };
  return {
    executeSql: (text: string, values?: unknown[]) =>
      inflight ? inflight.track(() => exec(text, values)) : exec(text, values),
  };
}

function stripTransactionControl(statements: string[]): string[] {
  let body = statements;
  if (/^(BEGIN|START\s+TRANSACTION)\b/i.test(body[0] ?? "")) body = body.slice(1);
  if (/^(COMMIT|END)\b/i.test(body[body.length - 1] ?? "")) body = body.slice(0, -1);
  return body;
}
