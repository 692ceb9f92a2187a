import type { Redis } from "ioredis";

/** Tells every instance that an API key was revoked, so none keeps accepting it from its key cache. */
export function createKeyRevocations(redis: Redis, namespace: string, onRevoked: (hash: string) => void) {
  const channel = `retailer:${namespace}:key-revoked`;
  const subscriber = redis.duplicate();
  subscriber.on("error", () => undefined);
  subscriber.on("message", (ch: string, hash: string) => {
    if (ch === channel) onRevoked(hash);
  });
  const ready = subscriber.subscribe(channel).catch(() => undefined);
  return {
    ready,
    publish(hash: string): void {
      void redis.publish(channel, hash).catch(() => undefined);
    },
    async close(): Promise<void> {
      await subscriber.quit().catch(() => undefined);
    },
  };
}
