/** Which holdings changed: every holding of these users, every holding of these meetings. */
export interface HoldingsChange {
  users?: number[];
  meetings?: number[];
}

/**
 * Per-user meeting views (the row a live read needs), so a hot transcript poll touches no database. Every
 * change to a holding invalidates it (the lifecycle verbs call `invalidate` after their commit); a read that
 * raced an invalidation does not store what it read. Bounded by entry count; the TTL is only a backstop for a
 * lost cross-instance message.
 */
export interface HoldingsCache<V> {
  /** The cached view, or `load()`'s (stored unless an invalidation happened meanwhile). `undefined`: no holding. */
  get(userId: number, key: string, load: () => Promise<V | undefined>): Promise<V | undefined>;
  /** Drops the matching entries here and (through `broadcast`) on every other instance, then resolves. */
  invalidate(change: HoldingsChange): Promise<void>;
  /** Drops the matching entries here only (a change heard from another instance). */
  evict(change: HoldingsChange): void;
  /** Serve nothing from memory while false (no invalidations can be heard); becoming true starts empty. */
  setListening(listening: boolean): void;
  size(): number;
}

interface Entry<V> {
  userId: number;
  value: V | undefined;
  until: number;
}

export function createHoldingsCache<V extends { id: number }>(opts: {
  ttlMs: number;
  maxEntries: number;
  now: () => number;
  broadcast?: (change: HoldingsChange) => Promise<void>;
}): HoldingsCache<V> {
  const entries = new Map<string, Entry<V>>();
  // Indexes, so an invalidation costs its own entries, not a scan of the whole cache.
  const byUser = new Map<number, Set<string>>();
  const byMeeting = new Map<number, Set<string>>();
  // Any invalidation bumps the epoch: a load that started before it must not store its (maybe stale) row.
  let epoch = 0;
  let listening = true;
  const enabled = () => listening && opts.ttlMs > 0 && opts.maxEntries > 0;
  const index = (m: Map<number, Set<string>>, id: number, k: string, add: boolean) => {
    let set = m.get(id);
    if (add) {
      if (!set) {
        set = new Set();
        m.set(id, set);
      }
      set.add(k);
    } else if (set?.delete(k) && set.size === 0) m.delete(id);
  };
  const drop = (k: string) => {
    const e = entries.get(k);
    if (!e) return;
    entries.delete(k);
    index(byUser, e.userId, k, false);
    if (e.value !== undefined) index(byMeeting, e.value.id, k, false);
  };
  const evict = (change: HoldingsChange) => {
    epoch++;
    for (const u of change.users ?? []) for (const k of byUser.get(u) ?? []) drop(k);
    for (const m of change.meetings ?? []) for (const k of byMeeting.get(m) ?? []) drop(k);
  };
  return {
    async get(userId, key, load) {
      if (!enabled()) return load();
      const k = `${userId}\u0000${key}`;
      const hit = entries.get(k);
      if (hit && opts.now() < hit.until) return hit.value;
      const started = epoch;
      const value = await load();
      if (started === epoch && enabled()) {
        drop(k);
        // Oldest first: Maps iterate in insertion order.
        while (entries.size >= opts.maxEntries) drop(entries.keys().next().value as string);
        entries.set(k, { userId, value, until: opts.now() + opts.ttlMs });
        index(byUser, userId, k, true);
        if (value !== undefined) index(byMeeting, value.id, k, true);
      }
      return value;
    },
    async invalidate(change) {
      evict(change);
      await opts.broadcast?.(change);
    },
    evict,
    setListening(on) {
      if (on !== listening) {
        entries.clear();
        byUser.clear();
        byMeeting.clear();
        epoch++;
      }
      listening = on;
    },
    size: () => entries.size,
  };
}
