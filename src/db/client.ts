import type { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { databaseUnavailable } from "../errors.js";

export type Row = Record<string, unknown>;
export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

/**
 * Anything that can run one parameterised statement: the database itself or an open transaction. `name` makes
 * it a named prepared statement on PostgreSQL (parsed and planned once per connection; hot paths only, and one
 * name must always carry the same text).
 */
export interface Queryable {
  query<T = Row>(sql: string, params?: unknown[], name?: string): Promise<QueryResult<T>>;
}

export interface Db extends Queryable {
  readonly kind: "pg" | "pglite";
  /** Runs fn in one transaction; commits when it resolves, rolls back when it throws. */
  tx<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Statements sent so far, BEGIN and COMMIT included (the bench reads it through /metrics). */
  statements?(): number;
  /** Named (hot-path) statements sent so far, by name: which of them a request pays for (bench, /metrics). */
  namedStatements?(): ReadonlyMap<string, number>;
  close(): Promise<void>;
  /** PGlite only: the data directory as an uncompressed tarball (the tests' template database). */
  dumpDataDir?(): Promise<Blob>;
}

export type DbTarget =
  | { kind: "pg"; url: string; poolSize?: number }
  /** `loadDataDir`: start from this dumped data directory (tests start from a migrated template). */
  | { kind: "pglite"; dataDir: string; loadDataDir?: Blob };

// Timestamps stay text: JS Dates lose Vexa's microseconds and would shift naive values by the local zone.
const TIMESTAMP_OIDS = [1114, 1184];

export async function createDb(target: DbTarget): Promise<Db> {
  return target.kind === "pg"
    ? createPgDb(target.url, target.poolSize ?? 10)
    : createPgliteDb(target.dataDir, target.loadDataDir);
}

async function createPgDb(url: string, poolSize: number): Promise<Db> {
  const typeOverrides = new pg.TypeOverrides();
  for (const oid of TIMESTAMP_OIDS) typeOverrides.setTypeParser(oid, (v: string) => v);
  // A server that does not answer must fail requests within seconds (503), not hold them until the client gives up.
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    types: typeOverrides,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  pool.on("error", () => {
    // An idle client dropping (server restart) must not crash the process; the next query reconnects.
  });
  let statements = 0;
  const named = new Map<string, number>();
  const run = async <T>(client: pg.Pool | pg.PoolClient, sql: string, params?: unknown[], name?: string) => {
    statements++;
    if (name) named.set(name, (named.get(name) ?? 0) + 1);
    const res = name
      ? await client.query({ name, text: sql, values: params as unknown[] })
      : await client.query(sql, params as unknown[]);
    return { rows: res.rows as T[], rowCount: res.rowCount ?? 0 };
  };
  return {
    kind: "pg",
    namedStatements: () => named,
    query: <T>(sql: string, params?: unknown[], name?: string) =>
      run<T>(pool, sql, params, name).catch(rethrow),
    async tx(fn) {
      const client = await pool.connect().catch(rethrow);
      try {
        statements++;
        await client.query("BEGIN");
        const result = await fn({ query: (sql, params, name) => run(client, sql, params, name) });
        statements++;
        await client.query("COMMIT");
        return result;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        return rethrow(err);
      } finally {
        client.release();
      }
    },
    statements: () => statements,
    close: () => pool.end(),
  };
}

async function createPgliteDb(dataDir: string, loadDataDir?: Blob): Promise<Db> {
  const parsers = Object.fromEntries(TIMESTAMP_OIDS.map((oid) => [oid, (v: string) => v]));
  // Loaded only when used: a server on PostgreSQL never pays for the embedded database.
  const { PGlite } = await import("@electric-sql/pglite");
  const db = await PGlite.create(dataDir === "memory://" ? undefined : dataDir, {
    parsers,
    ...(loadDataDir ? { loadDataDir } : {}),
  });
  let statements = 0;
  const named = new Map<string, number>();
  const run = async <T>(q: Pick<PGlite, "query">, sql: string, params?: unknown[], name?: string) => {
    statements++;
    if (name) named.set(name, (named.get(name) ?? 0) + 1);
    const res = await q.query<T>(sql, params);
    return { rows: res.rows, rowCount: res.affectedRows || res.rows.length };
  };
  return {
    kind: "pglite",
    query: <T>(sql: string, params?: unknown[], name?: string) =>
      run<T>(db, sql, params, name).catch(rethrow),
    tx: (fn) =>
      db.transaction((t) => fn({ query: (sql, params, name) => run(t, sql, params, name) })).catch(rethrow),
    statements: () => statements,
    namedStatements: () => named,
    close: () => db.close(),
    dumpDataDir: () => db.dumpDataDir("none"),
  };
}

const CONNECT_TIMEOUT_MS = 5000;

// Socket errors, and pg's own messages when a connection drops or cannot be had in time.
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
]);
const NETWORK_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|not queryable|Connection ended/i;

/**
 * Trouble with the database itself (unreachable, shutting down, out of connections, read-only) becomes a 503 with
 * Retry-After; every other error (constraint violations, bugs) passes through unchanged.
 */
export function dbFailureReason(err: unknown): "unreachable" | "read_only" | undefined {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : "";
  if (code === "25006") return "read_only"; // read_only_sql_transaction: a standby, or writes switched off
  // Class 08 connection exceptions; 57P01-03 admin shutdown, crash shutdown, cannot connect now; 53300 too many connections.
  if (code.startsWith("08") || /^57P0[1-3]$/.test(code) || code === "53300" || NETWORK_CODES.has(code))
    return "unreachable";
  if (e instanceof Error && NETWORK_MESSAGES.test(e.message)) return "unreachable";
  if (err instanceof AggregateError) return err.errors.map(dbFailureReason).find(Boolean);
  return undefined;
}

function rethrow(err: unknown): never {
  const reason = dbFailureReason(err);
  throw reason ? databaseUnavailable(reason, err) : err;
}

/** Postgres prints `2025-06-08 17:11:32.04`; Vexa (Python isoformat) prints `2025-06-08T17:11:32.040000`. */
export function isoNaive(ts: unknown): string | null {
  if (ts === null || ts === undefined) return null;
  const s = String(ts).replace(" ", "T");
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?/.exec(s);
  if (!m) return s;
  return m[2] ? `${m[1]}.${m[2].padEnd(6, "0")}` : (m[1] ?? s);
}
