import type { Clock } from "../clock.js";
import { authFailureKey, createMemoryRateLimiter, type RateLimiter } from "../cache/rate-limiter.js";

/** Failed admin-token sign-ins per client address. */
export interface SignInThrottle {
  /** Seconds this address must wait before its next attempt (0: go ahead). */
  blockedFor(address: string): Promise<number>;
  /** Counts one failed attempt from this address. */
  failed(address: string): Promise<void>;
}

/** A token bucket per address (10 failures at once, then one every 6 s), on the existing rate-limit module. */
export function createMemorySignInThrottle(
  clock: Clock,
  limits = { perSecond: 1 / 6, burst: 10 },
): SignInThrottle {
  const limiter = createMemoryRateLimiter(limits, clock, 10_000);
  const until = new Map<string, number>();
  return {
    async blockedFor(address) {
      const at = until.get(address);
      if (at === undefined) return 0;
      const left = Math.ceil((at - clock.now()) / 1000);
      if (left > 0) return left;
      until.delete(address);
      return 0;
    },
    async failed(address) {
      const r = await limiter.take(`console-sign-in:${address}`);
      if (!r.allowed) until.set(address, clock.now() + r.retryAfterSeconds * 1000);
    },
  };
}

/**
 * Sign-in failures drawn from the same per-address bucket as wrong API and admin keys (shared through Redis
 * when configured), so the console is no side door for guessing the admin token.
 */
export function sharedSignInThrottle(limiter: RateLimiter): SignInThrottle {
  return {
    async blockedFor(address) {
      const r = await limiter.take(authFailureKey(address), 0);
      return r.allowed ? 0 : r.retryAfterSeconds;
    },
    async failed(address) {
      await limiter.take(authFailureKey(address), 1);
    },
  };
}
