import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { type BucketLimits, type RateLimiter, retryAfter } from "../http/rate-limit.js";

/**
 * Token bucket in one atomic script, timed by the Redis server's clock so instances with skewed clocks agree.
 * Returns {allowed (0|1), tokens left as a string (Redis truncates Lua numbers to integers)}.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local s = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(s[1])
local at = tonumber(s[2])
if tokens == nil or at == nil then tokens = burst; at = now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, tostring(tokens)}
`;
const SHA = createHash("sha1").update(TAKE).digest("hex");

export interface RedisRateLimiterOptions {
  /** Used while Redis is unreachable or slow: limits then hold per instance instead of failing requests. */
  fallback: RateLimiter;
  timeoutMs?: number;
  log?: { warn(o: object, msg?: string): void };
}

/** Buckets shared by every instance through Redis, so N gateways together allow one key's rate, not N times it. */
export function createRedisRateLimiter(
  redis: Redis,
  limits: BucketLimits,
  opts: RedisRateLimiterOptions,
): RateLimiter {
  const timeoutMs = opts.timeoutMs ?? 250;
  let warnedAt = 0;
  const run = async (key: string): Promise<[number, string]> => {
    const args = [1, `retailer:rl:${key}`, limits.perSecond, limits.burst] as const;
    try {
      return (await redis.evalsha(SHA, ...args)) as [number, string];
    } catch (err) {
      if (!String(err).includes("NOSCRIPT")) throw err;
      return (await redis.eval(TAKE, ...args)) as [number, string];
    }
  };
  return {
    async take(key) {
      let timer: NodeJS.Timeout | undefined;
      try {
        const [allowed, tokens] = await Promise.race([
          run(key),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return allowed === 1
          ? { allowed: true, retryAfterSeconds: 0 }
          : { allowed: false, retryAfterSeconds: retryAfter(Number(tokens), limits.perSecond) };
      } catch (err) {
        if (Date.now() - warnedAt > 60_000) {
          warnedAt = Date.now();
          opts.log?.warn(
            { err: err instanceof Error ? err.message : String(err) },
            "redis rate limit unavailable; limiting per instance",
          );
        }
        return opts.fallback.take(key);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
