import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { HoldingsChange } from "../cache/holdings.js";

/**
 * Tells every instance that holdings changed, and waits (up to `ackWaitMs`) until every instance listening has
 * dropped its cached views: the writer answers its client only then, so the next read anywhere sees the change.
 * `onListening(false)` while the subscription is down: that instance must not serve cached views meanwhile.
 */
export function createHoldingsInvalidation(
  redis: Redis,
  namespace: string,
  handlers: { onChange: (change: HoldingsChange) => void; onListening: (listening: boolean) => void },
  ackWaitMs = 250,
) {
  const channel = `retailer:${namespace}:holdings-changed`;
  const ackChannel = `retailer:${namespace}:holdings-ack`;
  const pending = new Map<string, { acks: number; needed: number; done: () => void }>();
  const subscriber = redis.duplicate();
  subscriber.on("error", () => undefined);
  subscriber.on("close", () => handlers.onListening(false));
  // ioredis subscribes again on reconnect before it reports ready.
  subscriber.on("ready", () => handlers.onListening(true));
  subscriber.on("message", (ch: string, text: string) => {
    if (ch === ackChannel) {
      const p = pending.get(text);
      if (p && ++p.acks >= p.needed) p.done();
      return;
    }
    if (ch !== channel) return;
    let msg: { id: string; users?: number[]; meetings?: number[] };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      return;
    }
    handlers.onChange({ users: msg.users ?? [], meetings: msg.meetings ?? [] });
    void redis.publish(ackChannel, msg.id).catch(() => undefined);
  });
  handlers.onListening(false);
  const ready = subscriber
    .subscribe(channel, ackChannel)
    .then(() => handlers.onListening(true))
    .catch(() => undefined);
  return {
    ready,
    async publish(change: HoldingsChange): Promise<void> {
      const id = randomUUID();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(finish, ackWaitMs);
        function finish() {
          clearTimeout(timer);
          pending.delete(id);
          resolve();
        }
        // Registered before publishing: an ack may overtake PUBLISH's own reply.
        const entry = { acks: 0, needed: Number.POSITIVE_INFINITY, done: finish };
        pending.set(id, entry);
        redis
          .publish(channel, JSON.stringify({ id, ...change }))
          .then((receivers) => {
            entry.needed = receivers;
            if (entry.acks >= receivers) finish();
          })
          .catch(finish);
      });
    },
    async close(): Promise<void> {
      for (const p of pending.values()) p.done();
      await subscriber.quit().catch(() => undefined);
    },
  };
}
