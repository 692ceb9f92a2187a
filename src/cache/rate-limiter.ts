import ipaddr from "ipaddr.js";
import type { Clock } from "../clock.js";

export interface BucketLimits {
  /** Tokens added per second (the sustained rate). */
  perSecond: number;
  /** Bucket size: how many requests may arrive at once after a quiet spell. */
  burst: number;
}

export interface TakeResult {
  allowed: boolean;
  /** Whole seconds until one token is back (0 when allowed). */
  retryAfterSeconds: number;
}

/** A token bucket per key; the Redis one (src/redis/rate-limit.ts) shares buckets across instances. */
export interface RateLimiter {
  /** Takes `cost` tokens (default 1) when at least one is there; cost 0 only asks whether one is. */
  take(key: string, cost?: number): Promise<TakeResult>;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** One process's buckets. Fully refilled buckets are dropped once more than `maxKeys` are held. */
export function createMemoryRateLimiter(limits: BucketLimits, clock: Clock, maxKeys = 100_000): RateLimiter {
  const buckets = new Map<string, Bucket>();
  const refill = (b: Bucket, now: number) =>
    Math.min(limits.burst, b.tokens + ((now - b.at) * limits.perSecond) / 1000);
  const prune = (now: number) => {
    for (const [k, b] of buckets) if (refill(b, now) >= limits.burst) buckets.delete(k);
    // Still too many live buckets: drop the oldest, which only makes the limit more lenient for them.
    for (const k of buckets.keys()) {
      if (buckets.size <= maxKeys) break;
      buckets.delete(k);
    }
  };
  return {
    async take(key, cost = 1) {
      const now = clock.now();
      const b = buckets.get(key);
      const tokens = b ? refill(b, now) : limits.burst;
      if (tokens >= 1) {
        if (cost === 0) return { allowed: true, retryAfterSeconds: 0 };
        if (!b && buckets.size >= maxKeys) prune(now);
        buckets.set(key, { tokens: tokens - cost, at: now });
        return { allowed: true, retryAfterSeconds: 0 };
      }
      if (cost === 0) return { allowed: false, retryAfterSeconds: retryAfter(tokens, limits.perSecond) };
      buckets.set(key, { tokens, at: now });
      return { allowed: false, retryAfterSeconds: retryAfter(tokens, limits.perSecond) };
    },
  };
}

export function retryAfter(tokens: number, perSecond: number): number {
  return Math.max(1, Math.ceil((1 - tokens) / perSecond));
}

/** One budget per IPv4 address, and per /64 for IPv6 (one subscriber commonly holds a whole /64). */
export function clientBucket(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const addr = ipaddr.process(ip); // IPv4-mapped IPv6 becomes the IPv4 address
  if (addr.kind() === "ipv4") return addr.toString();
  return `${(addr as ipaddr.IPv6).parts
    .slice(0, 4)
    .map((p) => p.toString(16))
    .join(":")}::/64`;
}

/** The bucket a client address's failed authentications (API, admin API and console sign-in) draw on. */
export const authFailureKey = (ip: string): string => `auth:${clientBucket(ip)}`;
