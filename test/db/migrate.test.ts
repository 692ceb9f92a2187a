import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client.js";
import { migrate, pendingMigrations } from "../../src/db/migrate.js";
import { createPgSchemaUrl, legs } from "../helpers/db.js";

const TABLES = ["users", "api_tokens", "meetings", "transcriptions", "meeting_sessions", "user_meetings"];

describe("migrations", async () => {
  const hasPg = (await legs()).includes("pg");
  it("create Vexa's tables on PGlite, run twice safely, and the data survives a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "retailer-pglite-"));
    try {
      const db = await createDb({ kind: "pglite", dataDir: dir });
      expect((await migrate(db)).length).toBeGreaterThan(0);
      expect(await migrate(db)).toEqual([]);
      expect(await pendingMigrations(db)).toBe(0);
      await db.query("INSERT INTO users (email) VALUES ('persist@example.com')");
      await db.close();
      const again = await createDb({ kind: "pglite", dataDir: dir });
      expect(await migrate(again)).toEqual([]);
      const res = await again.query<{ email: string }>("SELECT email FROM users");
      expect(res.rows.map((r) => r.email)).toEqual(["persist@example.com"]);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000); // an on-disk PGlite database is created from scratch here (about 13 s of CPU)

  it.skipIf(!hasPg)(
    "are safe from several processes at once on PostgreSQL, with Vexa's columns",
    async () => {
      const { url, drop } = await createPgSchemaUrl();
      const dbs = await Promise.all([1, 2, 3].map(() => createDb({ kind: "pg", url, poolSize: 2 })));
      try {
        const applied = await Promise.all(dbs.map((db) => migrate(db)));
        expect(applied.filter((a) => a.length > 0)).toHaveLength(1);
        const cols = await dbs[0]!.query<{ table_name: string; column_name: string }>(
          "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()",
        );
        const byTable = (t: string) => cols.rows.filter((r) => r.table_name === t).map((r) => r.column_name);
        for (const t of TABLES) expect(byTable(t).length, t).toBeGreaterThan(0);
        expect(byTable("users")).toEqual(
          expect.arrayContaining([
            "id",
            "email",
            "name",
            "image_url",
            "created_at",
            "max_concurrent_bots",
            "data",
          ]),
        );
        expect(byTable("api_tokens")).toEqual(
          expect.arrayContaining(["id", "token", "user_id", "created_at"]),
        );
        expect(byTable("meetings")).toEqual(
          expect.arrayContaining([
            "id",
            "user_id",
            "platform",
            "platform_specific_id",
            "status",
            "bot_container_id",
            "start_time",
            "end_time",
            "data",
            "created_at",
            "updated_at",
          ]),
        );
        expect(byTable("transcriptions")).toEqual(
          expect.arrayContaining([
            "id",
            "meeting_id",
            "start_time",
            "end_time",
            "text",
            "speaker",
            "language",
            "created_at",
            "session_uid",
          ]),
        );
        expect(byTable("meeting_sessions")).toEqual(
          expect.arrayContaining(["id", "meeting_id", "session_uid", "session_start_time"]),
        );
        expect(byTable("user_meetings")).toEqual(
          expect.arrayContaining(["user_id", "meeting_id", "created_at"]),
        );
      } finally {
        await Promise.all(dbs.map((db) => db.close()));
        await drop();
      }
    },
  );
});
