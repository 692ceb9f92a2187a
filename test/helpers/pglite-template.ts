/**
 * A migrated PGlite data directory, made once per `vitest run` and loaded by every test database.
 *
 * Why: creating an embedded database runs initdb (~5 s of CPU), then our migrations and pg-boss's schema; the
 * suite creates dozens. Loading a dumped directory that already holds all of that costs about a third.
 * The dump is kept in node_modules/.cache, keyed by everything that shapes it, so a re-run skips even the first.
 */
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDb } from "../../src/db/client.js";
import { migrate } from "../../src/db/migrate.js";
import { createJobQueue } from "../../src/jobs/queue.js";

const root = join(import.meta.dirname, "..", "..");
/** The queue schema of every PGlite test database (a database of its own needs no private schema). */
export const PGLITE_QUEUE_SCHEMA = "pgboss";

function templateKey(): string {
  const hash = createHash("sha256");
  const migrations = join(root, "migrations");
  for (const f of readdirSync(migrations).sort()) hash.update(f).update(readFileSync(join(migrations, f)));
  // The PGlite and pg-boss versions, and our code that writes the schema.
  for (const f of ["package-lock.json", "src/db/migrate.ts", "src/db/sql-script.ts", "src/jobs/queue.ts"]) {
    if (existsSync(join(root, f))) hash.update(f).update(readFileSync(join(root, f)));
  }
  return hash.digest("hex").slice(0, 16);
}

const CACHE = join(root, "node_modules", ".cache", "vexa-retailer-tests");

/** Written aside and renamed, so a concurrent run never loads half a file. */
async function writeDump(file: string, dump: Blob): Promise<void> {
  mkdirSync(CACHE, { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
  renameSync(partial, file);
}

/** Path of the template dump, building it first when this tree's migrations have none yet. */
export async function buildPgliteTemplate(): Promise<string> {
  const file = join(CACHE, `pglite-${templateKey()}.tar`);
  if (existsSync(file)) return file;
  const db = await createDb({ kind: "pglite", dataDir: "memory://" });
  try {
    await migrate(db);
    const queue = createJobQueue(db, { schema: PGLITE_QUEUE_SCHEMA });
    await queue.start();
    await queue.stop();
    await writeDump(file, await db.dumpDataDir!());
  } finally {
    await db.close();
  }
  return file;
}

/**
 * A private on-disk copy of the migrated template, for a spawned retailer's DATA_DIR: opening it costs a child
 * process about 1.5 s, where `memory://` makes it run initdb (about 10 s of CPU, a minute on a busy machine).
 * The unpacked directory is cached beside the dump and copied per call.
 */
export async function pgliteDataDirCopy(): Promise<{ dir: string; remove: () => void }> {
  const unpacked = `${await buildPgliteTemplate()}.d`;
  if (!existsSync(unpacked)) {
    const partial = `${unpacked}.${process.pid}.partial`;
    rmSync(partial, { recursive: true, force: true });
    const file = await buildPgliteTemplate();
    const db = await createDb({
      kind: "pglite",
      dataDir: partial,
      loadDataDir: new Blob([readFileSync(file)]),
    });
    await db.close();
    try {
      renameSync(partial, unpacked);
    } catch {
      rmSync(partial, { recursive: true, force: true }); // another worker unpacked it first
    }
  }
  const dir = mkdtempSync(join(tmpdir(), "retailer-pglite-"));
  cpSync(unpacked, dir, { recursive: true });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
