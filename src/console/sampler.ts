import { randomBytes } from "node:crypto";
import type { Ctx } from "../services/context.js";
import { liveCounts, recordOpsSample } from "../services/console-ops.js";
import type { UpstreamCallEvent } from "../upstream/client.js";

export interface SamplerSources {
  breakerState(): string;
  /** Jobs waiting across the lifecycle queues. */
  queueDepth(): Promise<number>;
}

export interface OpsSampler {
  /** Feed every wholesaler call attempt here (the client's onCall). */
  upstreamCall(e: UpstreamCallEvent): void;
  /** Starts writing once the client and queue it reads exist. */
  start(sources: SamplerSources, everyMs?: number): void;
  /** Writes what has been gathered since the last flush; the timer calls it, tests may too. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Every process keeps its own wholesaler call figures and writes them, with the shared gauges, to ops_samples
 * every few seconds; the console's charts read the sum over all instances.
 */
export function createOpsSampler(ctx: Ctx, onError: (err: unknown) => void): OpsSampler {
  const instanceId = randomBytes(8).toString("hex");
  let calls = 0;
  let errors = 0;
  let msSum = 0;
  let msMax = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let src: SamplerSources | undefined;

  async function write(sources: SamplerSources): Promise<void> {
    const taken = { calls, errors, msSum, msMax };
    calls = errors = msSum = msMax = 0;
    const now = ctx.clock.now();
    const [live, depth] = await Promise.all([liveCounts(ctx), sources.queueDepth()]);
    await recordOpsSample(ctx, instanceId, Math.floor(now / 60_000) * 60_000, {
      upstream_calls: taken.calls,
      upstream_errors: taken.errors,
      upstream_ms_sum: taken.msSum,
      upstream_ms_max: taken.msMax,
      breaker_state: sources.breakerState(),
      live_meetings: live.live_meetings,
      upstream_bots: live.upstream_bots,
      queue_depth: depth,
    });
  }

  const flush = async () => {
    if (!src) return;
    running ??= write(src)
      .catch(onError)
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  return {
    upstreamCall(e) {
      calls++;
      if (e.outcome !== "ok") errors++;
      msSum += e.durationMs;
      msMax = Math.max(msMax, e.durationMs);
    },
    start(sources, everyMs = 15_000) {
      src = sources;
      timer = setInterval(() => void flush(), everyMs);
      timer.unref();
      void flush();
    },
    flush,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
