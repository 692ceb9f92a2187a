import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import pg from "pg";
import { inject } from "vitest";
import { createDb, type Db } from "../../src/db/client.js";
import { buildPgliteTemplate, PGLITE_QUEUE_SCHEMA } from "./pglite-template.js";
import { PG_SERVER, pgAnswers } from "./services.js";

export type Leg = "pglite" | "pg";
export { PG_SERVER };

/** Both legs where a server answers (always, with REQUIRE_PG): every HTTP test runs on embedded PGlite and on real PostgreSQL. */
export async function legs(): Promise<Leg[]> {
  return (await pgAnswers()) ? ["pglite", "pg"] : ["pglite"];
}

/** A private schema in the `test` database, so parallel files and runs never see each other's rows. */
export async function createPgSchemaUrl(): Promise<{
  url: string;
  schema: string;
  drop: () => Promise<void>;
}> {
  const schema = `t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_SERVER });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = `${PG_SERVER}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return {
    url,
    schema,
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_SERVER });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.query(`DROP SCHEMA IF EXISTS ${schema}_boss CASCADE`);
      await c.end();
    },
  };
}

let template: Promise<Blob> | undefined;

/**
 * The migrated template (read once per test worker); every PGlite test database starts as a copy of it. Made by
 * the global setup; a config without it (the e2e suite) makes it here, once, through the same on-disk cache.
 */
function pgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    const file = inject("pgliteTemplate") ?? (await buildPgliteTemplate());
    return new Blob([await readFile(file)]);
  })();
  return template;
}

export async function createTestDb(
  leg: Leg,
): Promise<{ db: Db; url?: string; queueSchema: string; drop: () => Promise<void> }> {
  if (leg === "pglite") {
    const db = await createDb({ kind: "pglite", dataDir: "memory://", loadDataDir: await pgliteTemplate() });
    return { db, queueSchema: PGLITE_QUEUE_SCHEMA, drop: async () => undefined };
  }
  const { url, schema, drop } = await createPgSchemaUrl();
  const db = await createDb({ kind: "pg", url, poolSize: 20 });
  return { db, url, queueSchema: `${schema}_boss`, drop };
}
