import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Db } from "./client.js";
import { splitSql } from "./sql-script.js";

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "migrations");
// Any fixed number: two processes starting together serialise on it instead of racing.
const MIGRATION_LOCK = 842_116_001;

/** Applies every migrations/*.sql not yet recorded; safe to run twice and from several processes at once. */
export async function migrate(db: Db, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort();
  const applied: string[] = [];
  await db.tx(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await tx.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (name VARCHAR(255) PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    );
    const done = new Set(
      (await tx.query<{ name: string }>("SELECT name FROM schema_migrations")).rows.map((r) => r.name),
    );
    for (const file of files) {
      if (done.has(file)) continue;
      for (const statement of splitSql(await readFile(join(dir, file), "utf8"))) {
        await tx.query(statement);
      }
      await tx.query("INSERT INTO schema_migrations (name) VALUES ($1)", [file]);
      applied.push(file);
    }
  });
  return applied;
}

export async function pendingMigrations(db: Db, dir = MIGRATIONS_DIR): Promise<number> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".sql"));
  const res = await db
    .query<{ n: number }>("SELECT count(*)::int AS n FROM schema_migrations")
    .catch(() => ({ rows: [{ n: 0 }] }));
  return files.length - (res.rows[0]?.n ?? 0);
}
