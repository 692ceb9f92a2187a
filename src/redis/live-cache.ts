import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Clock } from "../clock.js";
import { createMemoryLiveCache, type LiveCache } from "../cache/live-cache.js";
import { type RedisHealth, RedisUnavailableError } from "./health.js";

const LOCK_MS = 3000;
const POLL_MS = 10;
const WAIT_MS = 2000;

/**
 * The live-transcript cache shared by every instance: one instance takes a short Redis lock and calls the
 * wholesaler, the others read its result. An in-process layer in front coalesces readers within an instance.
 * While Redis is away each instance calls the wholesaler itself (still coalesced in-process).
 */
export function createRedisLiveCache(
  redis: Redis,
  health: RedisHealth,
  clock: Clock,
  ttlMs: number,
  namespace: string,
  maxEntries = 1000,
): LiveCache {
  const sharedGet = async <T>(key: string, fetch: () => Promise<T>, fresh: boolean): Promise<T> => {
    // Namespaced by SERVICE_LAYER_ID: retailers sharing one Redis must not share meeting ids.
    const k = `retailer:${namespace}:live:${key}`;
    const cached = fresh ? null : await health.call(() => redis.get(k));
    if (cached !== null) return JSON.parse(cached) as T;
    const token = randomUUID();
    if (await health.call(() => redis.set(`${k}:lock`, token, "PX", LOCK_MS, "NX"))) {
      const value = await fetch();
      // Best effort from here on: the value is in hand whatever Redis does.
      await health
        .call(() => redis.set(k, JSON.stringify(value), "PX", Math.max(1, ttlMs)))
        .catch(() => undefined);
      // Release only our own lock (it may have expired and been taken by another instance).
      await health
        .call(() =>
          redis.eval(
            "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
            1,
            `${k}:lock`,
            token,
          ),
        )
        .catch(() => undefined);
      return value;
    }
    const until = clock.now() + WAIT_MS;
    while (clock.now() < until) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      const v = await health.call(() => redis.get(k));
      if (v !== null) return JSON.parse(v) as T;
      if ((await health.call(() => redis.exists(`${k}:lock`))) === 0) break;
    }
    return fetch();
  };
  // Redis trouble before the wholesaler was called: call it directly. Its own errors pass through unchanged.
  const get = async <T>(key: string, fetch: () => Promise<T>, fresh = false): Promise<T> => {
    if (!health.usable()) return fetch();
    let fetching = false;
    const tracked = () => {
      fetching = true;
      return fetch();
    };
    try {
      return await sharedGet(key, tracked, fresh);
    } catch (err) {
      if (fetching || !(err instanceof RedisUnavailableError)) throw err;
      return fetch();
    }
  };
  if (ttlMs <= 0) return createMemoryLiveCache(clock, 0);
  // The in-process layer is shorter-lived than Redis so instances converge on the shared copy.
  const local = createMemoryLiveCache(clock, Math.min(ttlMs, 250), maxEntries);
  return { get: (key, fetch, opts) => local.get(key, () => get(key, fetch, opts?.fresh), opts) };
}
