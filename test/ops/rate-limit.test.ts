import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { createMemoryRateLimiter } from "../../src/cache/rate-limiter.js";
import { bucketKey } from "../../src/http/rate-limit.js";
import { createRedisHealth } from "../../src/redis/health.js";
import { createRedisRateLimiter } from "../../src/redis/rate-limit.js";
import { ADMIN_TOKEN, startTestApp, type TestApp } from "../helpers/app.js";
import { REDIS_URL, redisAnswers } from "../helpers/services.js";

const hasRedis = await redisAnswers();

describe("memory token bucket", () => {
  it("allows a burst, then one request per 1/rate seconds, with an honest Retry-After", async () => {
    const clock = new ManualClock();
    const limiter = createMemoryRateLimiter({ perSecond: 2, burst: 3 }, clock);
    const takes = async (n: number) => Promise.all(Array.from({ length: n }, () => limiter.take("k")));
    expect((await takes(3)).every((r) => r.allowed)).toBe(true);
    expect(await limiter.take("k")).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect((await limiter.take("other")).allowed).toBe(true);
    clock.advance(500);
    expect((await limiter.take("k")).allowed).toBe(true);
    expect((await limiter.take("k")).allowed).toBe(false);
    clock.advance(60_000);
    expect((await takes(3)).every((r) => r.allowed)).toBe(true);
    expect((await limiter.take("k")).allowed).toBe(false);
  });

  it("rounds Retry-After up to whole seconds at slow rates", async () => {
    const clock = new ManualClock();
    const limiter = createMemoryRateLimiter({ perSecond: 0.1, burst: 1 }, clock);
    expect((await limiter.take("k")).allowed).toBe(true);
    expect(await limiter.take("k")).toEqual({ allowed: false, retryAfterSeconds: 10 });
    clock.advance(4000);
    expect(await limiter.take("k")).toEqual({ allowed: false, retryAfterSeconds: 6 });
  });

  it("keeps memory bounded: idle, refilled buckets are dropped", async () => {
    const clock = new ManualClock();
    const limiter = createMemoryRateLimiter({ perSecond: 1, burst: 1 }, clock, 10);
    for (let i = 0; i < 10; i++) await limiter.take(`k${i}`);
    clock.advance(2000);
    for (let i = 10; i < 1000; i++) expect((await limiter.take(`k${i}`)).allowed).toBe(true);
    // k999 is recent and empty: still limited.
    expect((await limiter.take("k999")).allowed).toBe(false);
  });

  it("keys buckets by a digest, never by the API key itself", () => {
    const key = "a".repeat(40);
    expect(bucketKey(key)).toMatch(/^[0-9a-f]{32}$/);
    expect(bucketKey(key)).not.toContain(key);
    expect(bucketKey(key)).toBe(bucketKey(key));
    expect(bucketKey(key)).not.toBe(bucketKey(`${key}b`));
  });
});

describe("rate limits on the gateway (in memory)", () => {
  let t: TestApp;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock();
    t = await startTestApp("pglite", { RATE_LIMIT_PER_SECOND: "1", RATE_LIMIT_BURST: "3" }, { clock });
  });
  afterAll(async () => t.close());

  it("answers 429 with Retry-After and Vexa's detail body once a key's burst is spent; other keys are unaffected", async () => {
    const a = await t.newUser();
    const b = await t.newUser();
    for (let i = 0; i < 3; i++) expect((await t.call("GET", "/meetings", { key: a.key })).status).toBe(200);
    const limited = await t.call("GET", "/bots/status", { key: a.key });
    expect(limited.status, limited.raw).toBe(429);
    expect(limited.headers["retry-after"]).toBe("1");
    expect(limited.body).toEqual({ detail: "Rate limit exceeded. Retry after 1 seconds." });
    expect(limited.headers["x-request-id"]).toBeDefined();
    expect((await t.call("GET", "/meetings", { key: b.key })).status).toBe(200);
    clock.advance(1000);
    expect((await t.call("GET", "/meetings", { key: a.key })).status).toBe(200);
    expect((await t.call("GET", "/meetings", { key: a.key })).status).toBe(429);
    const metrics = await t.call("GET", "/metrics");
    expect(metrics.raw).toMatch(/retailer_rate_limited_total\{app="gateway"\} 2/);
  });

  it("limits unknown keys too (before any database lookup), so guessing keys is throttled per key", async () => {
    const key = "x".repeat(40);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await t.call("GET", "/meetings", { key })).status);
    expect(statuses).toEqual([403, 403, 403, 429]);
  });

  it("does not limit probes, metrics, docs, webhooks or admin routes, even with a spent key", async () => {
    const u = await t.newUser();
    for (let i = 0; i < 4; i++) await t.call("GET", "/meetings", { key: u.key });
    expect((await t.call("GET", "/meetings", { key: u.key })).status).toBe(429);
    for (let i = 0; i < 10; i++) {
      for (const path of ["/health", "/ready", "/metrics", "/openapi.json", "/"]) {
        expect((await t.call("GET", path, { key: u.key })).status, path).toBe(200);
      }
      expect((await t.call("GET", "/admin/users", { adminKey: ADMIN_TOKEN, key: u.key })).status).toBe(200);
      expect((await t.call("POST", "/webhooks/meeting-finished", { key: u.key, body: {} })).status).not.toBe(
        429,
      );
    }
  });

  it("documents the 429 on every route that takes X-API-Key, and only there", async () => {
    const doc = (await t.call("GET", "/openapi.json")).body;
    for (const [path, ops] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(ops)) {
        const usesKey = (op.security ?? []).some((s: object) => "ApiKeyAuth" in s);
        expect(Boolean(op.responses?.["429"]), `${method} ${path}`).toBe(usesKey);
      }
    }
  });

  it("RATE_LIMIT_PER_SECOND=0 turns it off", async () => {
    const off = await startTestApp("pglite", { RATE_LIMIT_PER_SECOND: "0", RATE_LIMIT_BURST: "1" });
    try {
      const u = await off.newUser();
      const statuses = await Promise.all(
        Array.from({ length: 30 }, () => off.call("GET", "/meetings", { key: u.key })),
      );
      expect(statuses.map((s) => s.status)).toEqual(statuses.map(() => 200));
    } finally {
      await off.close();
    }
  });
});

describe.skipIf(!hasRedis)("rate limits shared through Redis", () => {
  it("two instances sharing Redis share one budget per key", async () => {
    const env = { REDIS_URL, RATE_LIMIT_PER_SECOND: "0.2", RATE_LIMIT_BURST: "4" };
    const a = await startTestApp("pglite", env);
    const b = await startTestApp("pglite", env);
    try {
      const u = await a.newUser();
      // The same user and key on the second instance (each test instance has its own database).
      const tok = await a.deps.db.query<{ token: string; token_hint: string }>(
        "SELECT token, token_hint FROM api_tokens WHERE user_id = $1",
        [u.id],
      );
      const ins = await b.deps.db.query<{ id: number }>(
        "INSERT INTO users (email) VALUES ($1) RETURNING id",
        [u.email],
      );
      await b.deps.db.query("INSERT INTO api_tokens (token, token_hint, user_id) VALUES ($1, $2, $3)", [
        tok.rows[0]!.token,
        tok.rows[0]!.token_hint,
        ins.rows[0]!.id,
      ]);
      const statuses = [];
      for (let i = 0; i < 6; i++)
        statuses.push((await (i % 2 === 0 ? a : b).call("GET", "/meetings", { key: u.key })).status);
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
      const last = await b.call("GET", "/meetings", { key: u.key });
      expect(Number(last.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      expect(Number(last.headers["retry-after"])).toBeLessThanOrEqual(5);
      // Nothing in Redis names the key.
      const keys = await a.deps.redis!.keys("retailer:rl:*");
      expect(keys).toContain(`retailer:rl:${bucketKey(u.key)}`);
      expect(keys.some((k) => k.includes(u.key))).toBe(false);
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000); // two apps start inside the test: over 30 s on a machine at load 13

  it("the Lua bucket refills at the configured rate", async () => {
    const redis = new Redis(REDIS_URL);
    try {
      await new Promise((r) => redis.once("ready", r));
      const local = createMemoryRateLimiter({ perSecond: 1000, burst: 1000 }, new ManualClock());
      const limiter = createRedisRateLimiter(
        redis,
        { perSecond: 5, burst: 2 },
        { fallback: local, health: createRedisHealth(redis) },
      );
      const key = `test-${Math.random().toString(36).slice(2)}`;
      expect((await limiter.take(key)).allowed).toBe(true);
      expect((await limiter.take(key)).allowed).toBe(true);
      expect(await limiter.take(key)).toEqual({ allowed: false, retryAfterSeconds: 1 });
      await new Promise((r) => setTimeout(r, 250));
      expect((await limiter.take(key)).allowed).toBe(true);
      const ttl = await redis.pttl(`retailer:rl:${key}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(1400);
    } finally {
      redis.disconnect();
    }
  });
});

describe("Redis rate limiter without Redis", () => {
  it("falls back to the per-instance bucket, at once after the first failure, instead of failing requests", async () => {
    const redis = new Redis("redis://127.0.0.1:1", { maxRetriesPerRequest: 0 });
    redis.on("error", () => undefined);
    const clock = new ManualClock();
    const warnings: object[] = [];
    const health = createRedisHealth(redis, {
      timeoutMs: 200,
      log: { warn: (o) => warnings.push(o), info: () => undefined },
    });
    const limiter = createRedisRateLimiter(
      redis,
      { perSecond: 1, burst: 2 },
      { fallback: createMemoryRateLimiter({ perSecond: 1, burst: 2 }, clock), health },
    );
    const first = Date.now();
    const results = [await limiter.take("k")];
    expect(Date.now() - first).toBeLessThan(1000);
    const rest = performance.now();
    results.push(await limiter.take("k"), await limiter.take("k"));
    expect(performance.now() - rest, "after the first failure").toBeLessThan(20);
    expect(results.map((r) => r.allowed)).toEqual([true, true, false]);
    expect(warnings).toHaveLength(1);
    health.close();
    redis.disconnect();
  });
});

describe.skipIf(!hasRedis)("Redis health under event-loop lag", () => {
  it("does not mark Redis down when its answer waited behind our own busy event loop", async () => {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 });
    await redis.ping();
    const warnings: object[] = [];
    const health = createRedisHealth(redis, {
      timeoutMs: 50,
      log: { warn: (o) => warnings.push(o), info: () => undefined },
    });
    const answer = health.call(() => redis.ping());
    // A burst of our own work holds the loop past the timeout while Redis has long answered.
    const until = performance.now() + 150;
    while (performance.now() < until);
    await expect(answer).resolves.toBe("PONG");
    expect(health.usable()).toBe(true);
    expect(warnings).toEqual([]);
    health.close();
    redis.disconnect();
  });
});
