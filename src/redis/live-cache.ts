import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Clock } from "../clock.js";
import { createMemoryLiveCache, type LiveCache } from "../cache/live-cache.js";

const LOCK_MS = 3000;
const POLL_MS = 10;
const WAIT_MS = 2000;

/**
 * The live-transcript cache shared by every instance: one instance takes a short Redis lock and calls the
 * wholesaler, the others read its result. An in-process layer in front coalesces readers within an instance.
 */
export function createRedisLiveCache(
  redis: Redis,
  clock: Clock,
  ttlMs: number,
  namespace: string,
  onResult?: (hit: boolean) => void,
): LiveCache {
  const sharedGet = async <T>(
    key: string,
    fetch: () => Promise<T>,
  ): Promise<{ value: T; fetched: boolean }> => {
    // Namespaced by SERVICE_LAYER_ID: retailers sharing one Redis must not share meeting ids.
    const k = `retailer:${namespace}:live:${key}`;
    const cached = await redis.get(k);
    if (cached !== null) return { value: JSON.parse(cached) as T, fetched: false };
    const token = randomUUID();
    if (await redis.set(`${k}:lock`, token, "PX", LOCK_MS, "NX")) {
      try {
        const value = await fetch();
        await redis.set(k, JSON.stringify(value), "PX", Math.max(1, ttlMs));
        return { value, fetched: true };
      } finally {
        // Release only our own lock (it may have expired and been taken by another instance).
        await redis.eval(
          "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
          1,
          `${k}:lock`,
          token,
        );
      }
    }
    const until = clock.now() + WAIT_MS;
    while (clock.now() < until) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      const v = await redis.get(k);
      if (v !== null) return { value: JSON.parse(v) as T, fetched: false };
      if ((await redis.exists(`${k}:lock`)) === 0) break;
    }
    return { value: await fetch(), fetched: true };
  };
  if (ttlMs <= 0) return createMemoryLiveCache(clock, 0, onResult);
  // The in-process layer is shorter-lived than Redis so instances converge on the shared copy.
  const local = createMemoryLiveCache(clock, Math.min(ttlMs, 250), onResult);
  return { get: (key, fetch) => local.get(key, () => sharedGet(key, fetch).then((r) => r.value)) };
}
