import type { Clock } from "../clock.js";
import { systemClock } from "../clock.js";

/**
 * The one retry policy for upstream calls: retries only errors marked `retryable: true`, with exponential
 * backoff and full jitter, honours `retryAfterSeconds`, caps attempts, and never sleeps past the deadline.
 * Callers use it only for safe or idempotent calls.
 */
export interface RetryOptions {
  /** Total attempts including the first (default 3). */
  attempts?: number;
  /** Base of the exponential backoff in ms (default 100). */
  baseMs?: number;
  /** Upper bound of one backoff window in ms (default 1000). */
  capMs?: number;
  /** Total time budget in ms from the first attempt; no attempt starts (and no sleep ends) past it. */
  deadlineMs?: number;
  /** Time source (default the system clock); `sleep` defaults to `clock.setTimeout`. */
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
  /** Uniform [0, 1) source for the jitter (default Math.random). */
  random?: () => number;
  /** Told about every retry before its sleep (for logs and metrics). */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

export interface AttemptInfo {
  /** 1-based attempt number. */
  attempt: number;
  /** Time left until the deadline (Infinity without one). Use it to shorten the attempt's own timeout. */
  remainingMs: number;
}

export const RETRY_DEFAULTS = { attempts: 3, baseMs: 100, capMs: 1000 } as const;

/** Full-jitter backoff before retry number `retryIndex` (0 for the first retry): uniform in [0, min(cap, base·2^i)). */
export function backoffMs(retryIndex: number, baseMs: number, capMs: number, random: () => number): number {
  const window = Math.min(capMs, baseMs * 2 ** retryIndex);
  return Math.floor(random() * window);
}

function isRetryable(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { retryable?: unknown }).retryable === true;
}

function retryAfterMs(e: unknown): number | undefined {
  const s = (e as { retryAfterSeconds?: unknown } | null)?.retryAfterSeconds;
  return typeof s === "number" && Number.isFinite(s) && s >= 0 ? s * 1000 : undefined;
}

export async function retry<T>(fn: (info: AttemptInfo) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, Math.floor(opts.attempts ?? RETRY_DEFAULTS.attempts));
  const baseMs = opts.baseMs ?? RETRY_DEFAULTS.baseMs;
  const capMs = opts.capMs ?? RETRY_DEFAULTS.capMs;
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? Math.random;
  const sleep =
    opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => void clock.setTimeout(resolve, ms)));
  const start = clock.now();
  const deadline = opts.deadlineMs === undefined ? Number.POSITIVE_INFINITY : start + opts.deadlineMs;

  for (let attempt = 1; ; attempt++) {
    try {
      return await fn({ attempt, remainingMs: deadline - clock.now() });
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error;
      const jitter = backoffMs(attempt - 1, baseMs, capMs, random);
      const honoured = retryAfterMs(error);
      const delayMs = honoured === undefined ? jitter : Math.max(honoured, jitter);
      // Sleeping to (or past) the deadline leaves no time for another attempt: give up now with the real error.
      if (clock.now() + delayMs >= deadline) throw error;
      opts.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs);
    }
  }
}
