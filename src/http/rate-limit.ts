import { createHash } from "node:crypto";
import { Type } from "@sinclair/typebox";
import type { FastifySchema } from "fastify";
import type { Clock } from "../clock.js";
import { AppError } from "../errors.js";
import type { App } from "./app.js";

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
  take(key: string): Promise<TakeResult>;
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
    async take(key) {
      const now = clock.now();
      const b = buckets.get(key);
      const tokens = b ? refill(b, now) : limits.burst;
      if (tokens >= 1) {
        if (!b && buckets.size >= maxKeys) prune(now);
        buckets.set(key, { tokens: tokens - 1, at: now });
        return { allowed: true, retryAfterSeconds: 0 };
      }
      buckets.set(key, { tokens, at: now });
      return { allowed: false, retryAfterSeconds: retryAfter(tokens, limits.perSecond) };
    },
  };
}

export function retryAfter(tokens: number, perSecond: number): number {
  return Math.max(1, Math.ceil((1 - tokens) / perSecond));
}

/** Buckets are keyed by a digest of the API key (never the key itself), distinct from the stored token hash. */
export function bucketKey(apiKey: string): string {
  return createHash("sha256").update(`rate-limit:${apiKey}`).digest("hex").slice(0, 32);
}

/** Routes documented with the user key scheme are limited; admin, health, metrics, docs and webhooks are not. */
function usesApiKey(schema: FastifySchema | undefined): boolean {
  // safe because `security` is the OpenAPI field our route schemas carry for @fastify/swagger
  const security = (schema as { security?: Record<string, unknown>[] } | undefined)?.security;
  return Array.isArray(security) && security.some((s) => "ApiKeyAuth" in s);
}

/**
 * The per-key limit as an app hook: checked on arrival, before the key is even looked up, so a flood costs no
 * database work. A 429 carries `Retry-After` and Vexa's `{"detail": ...}` body.
 */
export function rateLimitHook(limiter: RateLimiter, onLimited?: (app: string) => void) {
  return (app: App, kind: string): void => {
    app.addHook("onRoute", (route) => {
      if (!usesApiKey(route.schema)) return;
      const response = (route.schema?.response ?? {}) as Record<string, unknown>;
      route.schema = { ...route.schema, response: { ...response, 429: Type.Ref("ErrorBody") } };
    });
    app.addHook("onRequest", async (request) => {
      if (!usesApiKey(request.routeOptions.schema)) return;
      const header = request.headers["x-api-key"];
      const key = Array.isArray(header) ? header[0] : header;
      if (!key) return;
      const result = await limiter.take(bucketKey(key));
      if (result.allowed) return;
      onLimited?.(kind);
      throw new AppError(
        "RATE_LIMITED",
        `Rate limit exceeded. Retry after ${result.retryAfterSeconds} seconds.`,
        {
          retryAfterSeconds: result.retryAfterSeconds,
        },
      );
    });
  };
}
