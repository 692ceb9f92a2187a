import type { Redis } from "ioredis";

const STARTING = ["connect", "connecting"];

export class RedisUnavailableError extends Error {}

export interface RedisHealth {
  /** False while Redis is disconnected or a command recently failed: callers use their local fallback at once. */
  usable(): boolean;
  /** Runs one Redis command within the time budget; throws RedisUnavailableError (at once when not usable). */
  call<T>(command: () => Promise<T>): Promise<T>;
  close(): void;
}

/**
 * Tracks whether Redis answers, so that while it does not every request falls back in microseconds instead of
 * waiting for a timeout. A failed command marks it down; a background PING every `probeMs` brings it back.
 */
export function createRedisHealth(
  redis: Redis,
  opts: {
    timeoutMs?: number;
    probeMs?: number;
    log?: { warn(o: object, msg?: string): void; info(o: object, msg?: string): void };
  } = {},
): RedisHealth {
  const timeoutMs = opts.timeoutMs ?? 250;
  const probeMs = opts.probeMs ?? 1000;
  let down = false;
  let closed = false;
  let probe: NodeJS.Timeout | undefined;

  const withTimeout = async <T>(command: () => Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        command(),
        new Promise<never>((_, reject) => {
          // Timers run before pending I/O: after a busy stretch of our own event loop the answer may already be
          // waiting in the socket. One turn of I/O first, so our own lag is not taken for Redis being down.
          const expire = () => setImmediate(() => reject(new Error(`no answer within ${timeoutMs} ms`)));
          timer = setTimeout(expire, timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };

  const markDown = (err: unknown) => {
    if (down || closed) return;
    down = true;
    opts.log?.warn(
      { err: err instanceof Error ? err.message : String(err) },
      "redis unavailable; using in-process fallbacks",
    );
    probe = setInterval(() => {
      if (redis.status !== "ready") return;
      withTimeout(() => redis.ping()).then(
        () => {
          if (!down) return;
          down = false;
          clearInterval(probe);
          opts.log?.info({}, "redis available again");
        },
        () => undefined,
      );
    }, probeMs);
    probe.unref();
  };

  // While first connecting, commands queue briefly; once a connection is lost they fall back at once.
  let everReady = redis.status === "ready";
  redis.on("ready", () => {
    everReady = true;
  });
  redis.on("close", () => {
    if (everReady) markDown(new Error("connection closed"));
  });
  const usable = () => !down && (redis.status === "ready" || (!everReady && STARTING.includes(redis.status)));
  return {
    usable,
    async call(command) {
      if (!usable()) throw new RedisUnavailableError("redis unavailable");
      try {
        return await withTimeout(command);
      } catch (err) {
        markDown(err);
        throw new RedisUnavailableError(err instanceof Error ? err.message : String(err));
      }
    },
    close: () => {
      closed = true;
      clearInterval(probe);
    },
  };
}
