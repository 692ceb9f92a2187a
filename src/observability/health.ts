import type { Db } from "../db/client.js";
import { pendingMigrations } from "../db/migrate.js";
import type { BreakerState } from "../upstream/breaker.js";
import type { WholesalerCapabilities } from "../upstream/capabilities.js";

export type CheckStatus = "ok" | "degraded" | "fail";

export interface ReadyReport {
  /** ready: every check ok; degraded: serving, but the wholesaler or Redis is failing; unavailable: do not route here. */
  status: "ready" | "degraded" | "unavailable";
  checks: {
    database: { status: CheckStatus; latency_ms?: number; read_only?: boolean };
    migrations: { status: CheckStatus; pending?: number };
    wholesaler: {
      status: CheckStatus;
      breaker: BreakerState;
      auth_failing: boolean;
      capabilities: WholesalerCapabilities;
      /** Why it is degraded by what our key may do, e.g. it cannot read transcripts. */
      reason?: string;
    };
    queue: { status: CheckStatus; schema: string };
    process: { status: CheckStatus; shutting_down: boolean };
    /** Present when REDIS_URL is set; while it is away each instance uses in-process fallbacks. */
    redis?: { status: CheckStatus };
  };
}

export interface ReadinessSources {
  db: Db;
  wholesaler: { breakerState(): BreakerState; authFailing(): boolean };
  capabilities: { current(): WholesalerCapabilities; problems(): string[] };
  queue: { schema: string; depth(name: string): Promise<number> };
  /** False before the queue has started and once shutdown has begun. */
  queueRunning(): boolean;
  shuttingDown(): boolean;
  /** Any queue name: counting its jobs proves pg-boss's tables answer. */
  probeQueue: string;
  redis?: { usable(): boolean };
  timeoutMs?: number;
  log?: { warn(o: object, msg?: string): void };
}

/**
 * Readiness says whether this instance should get traffic. A failing wholesaler or Redis only degrades it: every
 * instance shares the same ones, so taking them all out of rotation would also stop the local reads
 * (stored transcripts, meetings, admin) that keep working during an outage, and Redis has local fallbacks.
 */
export function createReadiness(src: ReadinessSources): () => Promise<ReadyReport> {
  const timeoutMs = src.timeoutMs ?? 2000;
  const timed = <T>(p: Promise<T>) =>
    Promise.race([
      p,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timed out")), timeoutMs).unref()),
    ]);
  const guard = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await timed(fn());
    } catch (err) {
      src.log?.warn(
        { check: what, err: err instanceof Error ? err.message : String(err) },
        "readiness check failed",
      );
      return undefined;
    }
  };

  return async () => {
    const started = Date.now();
    const [dbOk, pending, queueOk] = await Promise.all([
      // A standby or a database with writes switched off answers reads but would fail every write.
      guard("database", () =>
        src.db.query<{ ro: string }>("SELECT current_setting('transaction_read_only') AS ro"),
      ),
      guard("migrations", () => pendingMigrations(src.db)),
      guard("queue", () => src.queue.depth(src.probeQueue)),
    ]);
    const readOnly = dbOk?.rows[0]?.ro === "on";
    const breaker = src.wholesaler.breakerState();
    const authFailing = src.wholesaler.authFailing();
    const keyProblems = src.capabilities.problems();
    const shuttingDown = src.shuttingDown();
    const checks: ReadyReport["checks"] = {
      database: dbOk
        ? { status: readOnly ? "fail" : "ok", latency_ms: Date.now() - started, read_only: readOnly }
        : { status: "fail" },
      migrations:
        pending === undefined ? { status: "fail" } : { status: pending === 0 ? "ok" : "fail", pending },
      wholesaler: {
        status: breaker === "open" || authFailing || keyProblems.length > 0 ? "degraded" : "ok",
        breaker,
        auth_failing: authFailing,
        capabilities: src.capabilities.current(),
        ...(keyProblems.length > 0 ? { reason: keyProblems.join("; ") } : {}),
      },
      queue: {
        status: queueOk !== undefined && src.queueRunning() ? "ok" : "fail",
        schema: src.queue.schema,
      },
      process: { status: shuttingDown ? "fail" : "ok", shutting_down: shuttingDown },
      ...(src.redis ? { redis: { status: src.redis.usable() ? "ok" : "degraded" } } : {}),
    };
    const all = Object.values(checks).map((c) => c.status);
    const status = all.includes("fail") ? "unavailable" : all.includes("degraded") ? "degraded" : "ready";
    return { status, checks };
  };
}
