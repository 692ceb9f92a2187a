import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { feedHandlers, type LiveBus } from "../cache/live-bus.js";

// Renews the lease only while we still hold it (another instance may have taken it after a pause).
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') and 1 or 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * The live feed across instances: one Redis channel per meeting, and a lease (SET NX PX) so exactly one instance
 * reads each live meeting upstream. A lost lease (a paused or dead feeder) is taken over within its TTL.
 */
export function createRedisLiveBus<E>(redis: Redis, namespace: string): LiveBus<E> {
  const me = randomUUID();
  const channel = (id: number) => `retailer:${namespace}:live:${id}`;
  const lease = (id: number) => `retailer:${namespace}:live-feeder:${id}`;
  const subscriber = redis.duplicate();
  subscriber.on("error", () => undefined);
  const handlers = feedHandlers<E>(
    (id) => void subscriber.subscribe(channel(id)).catch(() => undefined),
    (id) => void subscriber.unsubscribe(channel(id)).catch(() => undefined),
  );
  const deliver = handlers.deliver;
  subscriber.on("message", (ch: string, text: string) => {
    let e: E;
    try {
      e = JSON.parse(text) as E;
    } catch {
      return;
    }
    deliver(Number(ch.slice(ch.lastIndexOf(":") + 1)), e);
  });
  return {
    subscribe: handlers.add,
    // While Redis is away each instance feeds its own subscribers (through the live cache's local fallback).
    async publish(meetingId, e) {
      await redis.publish(channel(meetingId), JSON.stringify(e)).catch(() => deliver(meetingId, e));
    },
    async lead(meetingId, ttlMs) {
      try {
        return (await redis.eval(RENEW, 1, lease(meetingId), me, String(ttlMs))) === 1;
      } catch {
        return true;
      }
    },
    async release(meetingId) {
      await redis.eval(RELEASE, 1, lease(meetingId), me).catch(() => undefined);
    },
    async close() {
      handlers.clear();
      await subscriber.quit().catch(() => undefined);
    },
  };
}
