import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client.js";
import { migrate } from "../../src/db/migrate.js";
import { createJobQueue } from "../../src/jobs/queue.js";
import { createPgSchemaUrl, legs } from "../helpers/db.js";

const hasPg = (await legs()).includes("pg");

describe.skipIf(!hasPg)("job queue start-up by several processes on PostgreSQL", () => {
  it("three instances whose connections already ran queries start one fresh queue schema together", async () => {
    for (let round = 0; round < 3; round++) {
      const { url, schema, drop } = await createPgSchemaUrl();
      const dbs = await Promise.all([1, 2, 3].map(() => createDb({ kind: "pg", url, poolSize: 3 })));
      try {
        // As at boot: migrations first, so every pooled session has looked the (absent) queue schema up already.
        await Promise.all(dbs.map((db) => migrate(db)));
        const queues = dbs.map((db) => createJobQueue(db, { schema: `${schema}_boss` }));
        const results = await Promise.allSettled(queues.map((q) => q.start()));
        expect(results.map((r) => (r.status === "rejected" ? String(r.reason) : "ok"))).toEqual([
          "ok",
          "ok",
          "ok",
        ]);
        await Promise.all(queues.map((q) => q.stop()));
      } finally {
        await Promise.all(dbs.map((d) => d.close()));
        await drop();
      }
    }
  });
});
