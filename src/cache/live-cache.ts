import type { Clock } from "../clock.js";

/**
 * Coalesces reads of one live transcript: concurrent and recent readers share one upstream call.
 * The Redis implementation (src/redis/live-cache.ts) shares it across instances.
 */
export interface LiveCache {
  /**
   * `fresh`: the caller wants a value read now (the live-push feeder, once per interval): cached copies are
   * skipped, a read already in flight is joined, and the result is stored for every other reader.
   */
  get<T>(
    key: string,
    fetch: () => Promise<T>,
    opts?: { fresh?: boolean },
  ): Promise<{ value: T; fetched: boolean }>;
}

interface Entry {
  promise: Promise<unknown>;
  settledAt: number | null;
}

/** At most `maxEntries` transcripts are held: the oldest settled ones make room (their readers re-fetch). */
export function createMemoryLiveCache(clock: Clock, ttlMs: number, maxEntries = 1000): LiveCache {
  const entries = new Map<string, Entry>();
  return {
    async get<T>(key: string, fetch: () => Promise<T>, opts?: { fresh?: boolean }) {
      // TTL 0 means no caching and no coalescing at all: every read is its own upstream call.
      if (ttlMs <= 0) {
        return { value: await fetch(), fetched: true };
      }
      const e = entries.get(key);
      if (e && (e.settledAt === null || (!opts?.fresh && clock.now() - e.settledAt < ttlMs))) {
        return { value: (await e.promise) as T, fetched: false };
      }
      entries.delete(key); // re-inserted below: Map order is age order
      const entry: Entry = { promise: fetch(), settledAt: null };
      entries.set(key, entry);
      try {
        const value = (await entry.promise) as T;
        entry.settledAt = clock.now();
        if (entries.size > maxEntries) evict(entries, clock.now(), ttlMs, maxEntries);
        return { value, fetched: true };
      } catch (err) {
        if (entries.get(key) === entry) entries.delete(key);
        throw err;
      }
    },
  };
}

function evict(entries: Map<string, Entry>, now: number, ttlMs: number, max: number): void {
  for (const [k, e] of entries) if (e.settledAt !== null && now - e.settledAt >= ttlMs) entries.delete(k);
  for (const [k, e] of entries) {
    if (entries.size <= max) return;
    if (e.settledAt !== null) entries.delete(k);
  }
}
