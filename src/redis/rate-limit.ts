import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { type BucketLimits, type RateLimiter, retryAfter } from "../cache/rate-limiter.js";
import type { RedisHealth } from "./health.js";

/**
 * Token bucket in one atomic script, timed by the Redis server's clock so instances with skewed clocks agree.
 * ARGV[3] is the cost; 0 only asks whether a token is there and changes nothing.
 * Returns {allowed (0|1), tokens left as a string (Redis truncates Lua numbers to integers)}.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(s[1])
local at = tonumber(s[2])
if tokens == nil or at == nil then tokens = burst; at = now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local allowed = 0
if tokens >= 1 then tokens = tokens - cost; allowed = 1 end
if cost == 0 then return {allowed, tostring(tokens)} end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, tostring(tokens)}
`;
const SHA = createHash("sha1").update(TAKE).digest("hex");

export interface RedisRateLimiterOptions {
  /** Used while Redis is unreachable or slow: limits then hold per instance instead of failing requests. */
  fallback: RateLimiter;
  health: RedisHealth;
}

/** Buckets shared by every instance through Redis, so N gateways together allow one key's rate, not N times it. */
export function createRedisRateLimiter(
  redis: Redis,
  limits: BucketLimits,
  opts: RedisRateLimiterOptions,
): RateLimiter {
  const run = async (key: string, cost: number): Promise<[number, string]> => {
    const args = [1, `retailer:rl:${key}`, limits.perSecond, limits.burst, cost] as const;
    try {
      return (await redis.evalsha(SHA, ...args)) as [number, string];
    } catch (err) {
      if (!String(err).includes("NOSCRIPT")) throw err;
      return (await redis.eval(TAKE, ...args)) as [number, string];
    }
  };
  return {
    async take(key, cost = 1) {
      let answer: [number, string];
      try {
        answer = await opts.health.call(() => run(key, cost));
      } catch {
        return opts.fallback.take(key, cost);
      }
      const [allowed, tokens] = answer;
      return allowed === 1
        ? { allowed: true, retryAfterSeconds: 0 }
        : { allowed: false, retryAfterSeconds: retryAfter(Number(tokens), limits.perSecond) };
    },
  };
}
