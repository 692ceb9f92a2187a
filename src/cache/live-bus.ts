/**
 * Carries each live meeting's feed (src/live/hub.ts's events) to every instance with subscribers, and elects the one instance that reads the
 * meeting upstream. In-process without Redis (one instance: always the feeder); src/redis/live-bus.ts with it.
 */
export interface LiveBus<E> {
  subscribe(meetingId: number, onEvent: (e: E) => void): () => void;
  publish(meetingId: number, e: E): Promise<void>;
  /** Takes or renews the feeder lease of this meeting for `ttlMs`; true while this instance holds it. */
  lead(meetingId: number, ttlMs: number): Promise<boolean>;
  release(meetingId: number): Promise<void>;
  close(): Promise<void>;
}

/** Local handlers per meeting; `onFirst`/`onLast` say when a meeting gains its first or loses its last one. */
export function feedHandlers<E>(onFirst: (id: number) => void = () => undefined, onLast = onFirst) {
  const handlers = new Map<number, Set<(e: E) => void>>();
  return {
    add(meetingId: number, onEvent: (e: E) => void): () => void {
      let set = handlers.get(meetingId);
      if (!set) {
        set = new Set();
        handlers.set(meetingId, set);
        onFirst(meetingId);
      }
      set.add(onEvent);
      return () => {
        if (!set.delete(onEvent) || set.size > 0 || handlers.get(meetingId) !== set) return;
        handlers.delete(meetingId);
        onLast(meetingId);
      };
    },
    deliver(meetingId: number, e: E): void {
      for (const h of handlers.get(meetingId) ?? []) h(e);
    },
    clear: () => handlers.clear(),
  };
}

export function createMemoryLiveBus<E>(): LiveBus<E> {
  const handlers = feedHandlers<E>();
  return {
    subscribe: handlers.add,
    publish: async (meetingId, e) => handlers.deliver(meetingId, e),
    lead: async () => true,
    release: async () => undefined,
    close: async () => handlers.clear(),
  };
}
