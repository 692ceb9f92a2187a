import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createDb } from "../../src/db/client.js";
import { createDeps } from "../../src/deps.js";
import { buildApp } from "../../src/http/app.js";
import { startTestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";
import { REDIS_URL, redisAnswers } from "../helpers/services.js";

describe("live transcripts shared through Redis across two instances", async () => {
  const ready = (await legs()).includes("pg") && (await redisAnswers());
  it.skipIf(!ready)("200 readers split over two instances make a handful of wholesaler calls", async () => {
    const serviceLayer = `redis-test-${process.pid}-${Date.now()}`;
    const t = await startTestApp("pg", {
      REDIS_URL,
      SERVICE_LAYER_ID: serviceLayer,
      RATE_LIMIT_PER_SECOND: "0",
      TRANSCRIPT_CACHE_TTL_MS: "5000",
    });
    const db2 = await createDb({ kind: "pg", url: t.dbUrl!, poolSize: 10 });
    const deps2 = await createDeps(loadConfig({ ...t.env, ROLE: "api-gateway" }), {
      db: db2,
      queueSchema: t.deps.queue.schema,
    });
    const gateway2 = await buildApp("gateway", deps2);
    try {
      const users = await Promise.all(Array.from({ length: 4 }, () => t.newUser()));
      for (const u of users) {
        const r = await t.call("POST", "/bots", {
          key: u.key,
          body: { platform: "google_meet", native_meeting_id: "red-isca-che" },
        });
        expect(r.status, r.raw).toBe(201);
      }
      await new Promise((r) => setTimeout(r, 1500));
      const before = t.sandbox.calls()["GET /transcripts/{platform}/{native_meeting_id}"] ?? 0;
      const reads = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          (i % 2 === 0 ? t.gateway : gateway2).inject({
            method: "GET",
            url: "/transcripts/google_meet/red-isca-che",
            headers: { "x-api-key": users[i % users.length]!.key },
          }),
        ),
      );
      expect(reads.map((r) => r.statusCode)).toEqual(reads.map(() => 200));
      const texts = new Set(reads.map((r) => JSON.stringify(JSON.parse(r.body).segments.slice(0, 3))));
      expect(texts.size).toBeLessThanOrEqual(2);
      const upstreamCalls =
        (t.sandbox.calls()["GET /transcripts/{platform}/{native_meeting_id}"] ?? 0) - before;
      // Without the shared cache each instance would make its own call.
      expect(upstreamCalls).toBe(1);
    } finally {
      await gateway2.close();
      await deps2.close();
      await t.close();
    }
  });

  it.skipIf(!ready)("a token deleted through one instance stops working at once on the other", async () => {
    const t = await startTestApp("pg", {
      REDIS_URL,
      SERVICE_LAYER_ID: `revoke-${process.pid}-${Date.now()}`,
    });
    const db2 = await createDb({ kind: "pg", url: t.dbUrl!, poolSize: 4 });
    const deps2 = await createDeps(loadConfig({ ...t.env, ROLE: "api-gateway" }), {
      db: db2,
      queueSchema: t.deps.queue.schema,
    });
    const gateway2 = await buildApp("gateway", deps2);
    try {
      const u = await t.newUser();
      const read = () =>
        gateway2.inject({ method: "GET", url: "/meetings", headers: { "x-api-key": u.key } });
      expect((await read()).statusCode).toBe(200); // now remembered by instance 2
      const detail = await t.call("GET", `/admin/users/${u.id}`, {
        adminKey: "test-admin-token-0123456789abcdef",
      });
      const del = await t.call("DELETE", `/admin/tokens/${detail.body.api_tokens[0].id}`, {
        adminKey: "test-admin-token-0123456789abcdef",
      });
      expect(del.status).toBe(204);
      await new Promise((r) => setTimeout(r, 50));
      expect((await read()).statusCode).toBe(403);
    } finally {
      await gateway2.close();
      await deps2.close();
      await t.close();
    }
  });
});
