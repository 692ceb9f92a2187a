import type { PGlite } from "@electric-sql/pglite";
import pg from "pg";

export type Row = Record<string, unknown>;
export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

/** Anything that can run one parameterised statement: the database itself or an open transaction. */
export interface Queryable {
  query<T = Row>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
}

export interface Db extends Queryable {
  readonly kind: "pg" | "pglite";
  /** Runs fn in one transaction; commits when it resolves, rolls back when it throws. */
  tx<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
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
  const pool = new pg.Pool({ connectionString: url, max: poolSize, types: typeOverrides });
  pool.on("error", () => {
    // An idle client dropping (server restart) must not crash the process; the next query reconnects.
  });
  const run = async <T>(client: pg.Pool | pg.PoolClient, sql: string, params?: unknown[]) => {
    const res = await client.query(sql, params as unknown[]);
    return { rows: res.rows as T[], rowCount: res.rowCount ?? 0 };
  };
  return {
    kind: "pg",
    query: (sql, params) => run(pool, sql, params),
    async tx(fn) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await fn({ query: (sql, params) => run(client, sql, params) });
        await client.query("COMMIT");
        return result;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
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
  const run = async <T>(q: Pick<PGlite, "query">, sql: string, params?: unknown[]) => {
    const res = await q.query<T>(sql, params);
    return { rows: res.rows, rowCount: res.affectedRows || res.rows.length };
  };
  return {
    kind: "pglite",
    query: (sql, params) => run(db, sql, params),
    tx: (fn) => db.transaction((t) => fn({ query: (sql, params) => run(t, sql, params) })),
    close: () => db.close(),
    dumpDataDir: () => db.dumpDataDir("none"),
  };
}

/** Postgres prints `2025-06-08 17:11:32.04`; Vexa (Python isoformat) prints `2025-06-08T17:11:32.040000`. */
export function isoNaive(ts: unknown): string | null {
  if (ts === null || ts === undefined) return null;
  const s = String(ts).replace(" ", "T");
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?/.exec(s);
  if (!m) return s;
  return m[2] ? `${m[1]}.${m[2].padEnd(6, "0")}` : (m[1] ?? s);
}
