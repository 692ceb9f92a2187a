/**
 * Dependencies failing fail clearly (issue 12 item 5). The database unreachable (PostgreSQL behind a TCP relay the
 * test cuts) or read-only gives 503 with Retry-After on the API and /ready 503, never a 500, and recovers by itself.
 * Redis unreachable (behind a relay too): each request falls back to in-process equivalents at once after the first
 * failure, /ready says degraded naming Redis, it recovers by itself, and a revoked key stops working at once on the
 * instance that revoked it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db, type Queryable } from "../../src/db/client.js";
import { createKeyCache } from "../../src/services/key-cache.js";
import { deleteToken, type UserRow, verifyApiKey } from "../../src/services/users.js";
import { ADMIN_TOKEN, startTestApp, type TestApp } from "../helpers/app.js";
import { createPgSchemaUrl, type Leg, legs, PG_SERVER } from "../helpers/db.js";
import { REDIS_URL, redisAnswers } from "../helpers/services.js";
import { type TcpProxy, tcpProxy } from "../helpers/tcp-proxy.js";
import { waitFor } from "../helpers/wait.js";

const REDIS_PORT = Number(new URL(REDIS_URL).port || 6379);
const admin = { adminKey: ADMIN_TOKEN };
const newEmail = () => `dep-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;

function expect503(res: { status: number; headers: Record<string, unknown>; raw: string }, what: RegExp) {
  expect(res.status, res.raw).toBe(503);
  expect(res.headers["retry-after"], res.raw).toBe("5");
  expect(JSON.parse(res.raw).detail).toMatch(what);
}

const pgPort = Number(new URL(PG_SERVER).port || 5432);
const hasPg = (await legs()).includes("pg");

describe.skipIf(!hasPg)("PostgreSQL unreachable", () => {
  let proxy: TcpProxy;
  let t: TestApp;
  let dropSchema: () => Promise<void>;
  beforeAll(async () => {
    proxy = await tcpProxy(pgPort);
    const { url, drop } = await createPgSchemaUrl();
    dropSchema = drop;
    const relayed = new URL(url);
    relayed.port = String(proxy.port);
    const db = await createDb({ kind: "pg", url: relayed.toString(), poolSize: 5 });
    t = await startTestApp("pg", { RATE_LIMIT_PER_SECOND: "0" }, { deps: { db } });
  });
  afterAll(async () => {
    await proxy?.restore().catch(() => undefined);
    await t?.close();
    await proxy?.close();
    await dropSchema?.();
  });

  it("answers 503 with Retry-After on user and admin routes and /ready, quickly, then recovers by itself", async () => {
    const u = await t.newUser();
    expect((await t.call("GET", "/meetings", { key: u.key })).status).toBe(200);
    await proxy.cut();
    try {
      const started = Date.now();
      expect503(await t.call("GET", "/meetings", { key: u.key }), /database is temporarily unavailable/);
      expect503(await t.call("GET", "/meetings", { key: "k".repeat(40) }), /database/);
      expect503(
        await t.call("POST", "/admin/users", { ...admin, body: { email: newEmail() } }),
        /database is temporarily unavailable/,
      );
      expect503(await t.call("GET", "/admin/users", { ...admin, app: "admin" }), /database/);
      expect(Date.now() - started, "each failed fast").toBeLessThan(20_000);
      const ready = await t.call("GET", "/ready");
      expect(ready.status, ready.raw).toBe(503);
      expect(ready.body.checks.database.status).toBe("fail");
    } finally {
      await proxy.restore();
    }
    await waitFor(
      async () => (await t.call("GET", "/meetings", { key: u.key })).status === 200,
      30_000,
      "recovery",
    );
    expect((await t.call("POST", "/admin/users", { ...admin, body: { email: newEmail() } })).status).toBe(
      201,
    );
  });
});

interface ReadOnlySwitch {
  /** The database to start the app with (PostgreSQL); undefined: the app's own (PGlite), given to `attach`. */
  db?: Db;
  attach(appDb: Db): void;
  set(on: boolean): Promise<void>;
  drop(): Promise<void>;
}

/** The app's database made read-only on demand: PGlite's one session by SET, PostgreSQL by a read-only pool. */
async function readOnlySwitch(leg: Leg): Promise<ReadOnlySwitch> {
  if (leg === "pglite") {
    let target: Db | undefined;
    return {
      attach: (appDb) => {
        target = appDb;
      },
      set: async (on) => {
        await target?.query(`SET default_transaction_read_only = ${on ? "on" : "off"}`);
      },
      drop: async () => undefined,
    };
  }
  const { url, drop } = await createPgSchemaUrl();
  const rw = await createDb({ kind: "pg", url, poolSize: 5 });
  const readOnlyUrl = `${url}${encodeURIComponent(" -c default_transaction_read_only=on")}`;
  const ro = await createDb({ kind: "pg", url: readOnlyUrl, poolSize: 5 });
  let readOnly = false;
  const db: Db = {
    kind: "pg",
    query: (sql, params) => (readOnly ? ro : rw).query(sql, params),
    tx: (fn) => (readOnly ? ro : rw).tx(fn),
    close: async () => {
      await rw.close();
      await ro.close();
    },
  };
  return {
    db,
    attach: () => undefined,
    set: async (on) => {
      readOnly = on;
    },
    drop,
  };
}

describe.each(await legs())("database read-only on %s", (leg) => {
  let t: TestApp;
  let sw: ReadOnlySwitch;
  beforeAll(async () => {
    sw = await readOnlySwitch(leg);
    t = await startTestApp(leg, { RATE_LIMIT_PER_SECOND: "0" }, sw.db ? { deps: { db: sw.db } } : {});
    sw.attach(t.deps.db);
  });
  afterAll(async () => {
    await sw?.set(false);
    await t?.close();
    await sw?.drop();
  });

  it("writes answer 503 with Retry-After, reads keep working, /ready is 503 naming read_only; then it recovers", async () => {
    const u = await t.newUser();
    await sw.set(true);
    try {
      expect((await t.call("GET", "/meetings", { key: u.key })).status).toBe(200);
      expect503(await t.call("POST", "/admin/users", { ...admin, body: { email: newEmail() } }), /read-only/);
      expect503(
        await t.call("PUT", "/user/webhook", {
          key: u.key,
          body: { webhook_url: "https://hooks.example.com/x" },
        }),
        /read-only/,
      );
      const before = t.sandbox.calls()["POST /bots"] ?? 0;
      expect503(
        await t.call("POST", "/bots", {
          key: u.key,
          body: { platform: "teams", native_meeting_id: "read-only-1" },
        }),
        /read-only/,
      );
      expect(t.sandbox.calls()["POST /bots"] ?? 0, "no bot bought upstream").toBe(before);
      const ready = await t.call("GET", "/ready");
      expect(ready.status, ready.raw).toBe(503);
      expect(ready.body.checks.database).toMatchObject({ status: "fail", read_only: true });
    } finally {
      await sw.set(false);
    }
    const ready = await t.call("GET", "/ready");
    expect(ready.body.checks.database, ready.raw).toMatchObject({ status: "ok", read_only: false });
    expect((await t.call("POST", "/admin/users", { ...admin, body: { email: newEmail() } })).status).toBe(
      201,
    );
  });

  it("a key lookup racing its revocation is not cached: the revoked key fails at once", async () => {
    const u = await t.newUser();
    const tokenId = (
      await t.deps.db.query<{ id: number }>("SELECT id FROM api_tokens WHERE user_id = $1", [u.id])
    ).rows[0]!.id;
    const keys = createKeyCache<UserRow>({ ttlMs: 60_000, now: () => performance.now() });
    // The lookup reads the row, then stalls until the revocation has committed and evicted.
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow: Queryable = {
      query: async (sql, params) => {
        const res = await t.deps.db.query(sql, params);
        if (sql.includes("FROM api_tokens t JOIN users")) await gate;
        return res as never;
      },
    };
    const ctx = { db: t.deps.db, clock: t.deps.ctx.clock, keys };
    const racing = verifyApiKey({ ...ctx, db: slow as Db }, u.key);
    await deleteToken(ctx, tokenId);
    release();
    expect((await racing)?.id, "valid when it was read").toBe(u.id);
    expect(await verifyApiKey(ctx, u.key), "revoked: never served from the cache").toBeUndefined();
  });
});

describe.skipIf(!(await redisAnswers())).each(await legs())("Redis unreachable on %s", (leg) => {
  let proxy: TcpProxy;
  let t: TestApp;
  beforeAll(async () => {
    proxy = await tcpProxy(REDIS_PORT);
    // Rate limits on, generous: every request asks Redis for its bucket.
    t = await startTestApp(leg, {
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      RATE_LIMIT_PER_SECOND: "1000",
      RATE_LIMIT_BURST: "100000",
      AUTH_FAILURES_PER_MINUTE: "600",
    });
  });
  afterAll(async () => {
    await t?.close();
    await proxy?.close();
  });

  it("falls back at once, says degraded naming Redis, keeps revocation immediate, and recovers by itself", async () => {
    const u = await t.newUser();
    const bot = await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "teams", native_meeting_id: `redis-down-${leg}` },
    });
    expect(bot.status, bot.raw).toBe(201);
    await waitFor(
      async () => (await t.call("GET", "/ready")).body.checks.redis?.status === "ok",
      30_000,
      "redis ok in /ready",
    );
    await proxy.cut();
    try {
      await t.call("GET", "/meetings", { key: u.key }); // the first failure may wait for Redis's budget
      // From then on no request even tries Redis (so none can wait for it) until it is back.
      const redis = t.deps.redis!;
      let tried = 0;
      const count = <F extends (...a: never[]) => unknown>(f: F) =>
        ((...a: Parameters<F>) => {
          tried++;
          return f.apply(redis, a);
        }) as unknown as F;
      const [evalsha, get] = [redis.evalsha, redis.get];
      redis.evalsha = count(evalsha);
      redis.get = count(get);
      const times: number[] = [];
      try {
        for (let i = 0; i < 15; i++) {
          const started = performance.now();
          expect((await t.call("GET", "/meetings", { key: u.key })).status).toBe(200);
          times.push(performance.now() - started);
        }
      } finally {
        redis.evalsha = evalsha;
        redis.get = get;
      }
      expect(tried, "Redis commands attempted while it was known to be down").toBe(0);
      times.sort((a, b) => a - b);
      // Waiting for Redis would cost its 250 ms budget on every request.
      expect(times[Math.floor(times.length / 2)], JSON.stringify(times)).toBeLessThan(250);
      const live = await t.call("GET", `/transcripts/teams/redis-down-${leg}`, { key: u.key });
      expect(live.status, live.raw).toBe(200);
      const ready = await t.call("GET", "/ready");
      expect(ready.status, ready.raw).toBe(200);
      expect(ready.body.status).toBe("degraded");
      expect(ready.body.checks.redis).toEqual({ status: "degraded" });

      // Revocation with Redis away: the revoking instance refuses the key at once.
      const v = await t.newUser();
      expect((await t.call("GET", "/meetings", { key: v.key })).status).toBe(200);
      const tokenId = (
        await t.deps.db.query<{ id: number }>("SELECT id FROM api_tokens WHERE user_id = $1", [v.id])
      ).rows[0]!.id;
      expect((await t.call("DELETE", `/admin/tokens/${tokenId}`, admin)).status).toBe(204);
      expect((await t.call("GET", "/meetings", { key: v.key })).status).toBe(403);
    } finally {
      await proxy.restore();
    }
    await waitFor(
      async () => (await t.call("GET", "/ready")).body.checks.redis?.status === "ok",
      30_000,
      "redis back in /ready",
    );
    expect((await t.call("GET", "/ready")).body.status).toBe("ready");
  });
});
