import type { Clock } from "./clock.js";
import { systemClock } from "./clock.js";
import type { Config } from "./config.js";
import { createDb, type Db } from "./db/client.js";
import { migrate } from "./db/migrate.js";
import type { AppDeps } from "./http/deps.js";

export interface Deps extends AppDeps {
  db: Db;
  close(): Promise<void>;
}

/** Composition root: builds the long-lived objects once; tests call it with their own database and clock. */
export async function createDeps(config: Config, opts: { clock?: Clock; db?: Db } = {}): Promise<Deps> {
  const clock = opts.clock ?? systemClock;
  const db = opts.db ?? (await createDb(config.database));
  await migrate(db);
  const ctx = { db, clock };
  return {
    config,
    ctx,
    db,
    async close() {
      await db.close();
    },
  };
}
