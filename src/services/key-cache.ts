/**
 * Short-lived memory of verified API keys, so a hot polling loop does not cost a database round trip per
 * request. A revoked key is evicted at once here and, through `onRevoke` listeners (Redis pub/sub), on every
 * other instance; without Redis another instance may accept it for at most `ttlMs`.
 */
export interface KeyCache<V> {
  get(hash: string): V | undefined;
  /** A marker to take before reading the database, handed back to `set`. */
  version(): number;
  /** Remembers a key read from the database, unless a key was revoked since `version` (the row may be gone). */
  set(hash: string, value: V, version: number): void;
  /** Evicts locally and tells the other instances. */
  revoke(hash: string): void;
  /** Evicts locally only (a revocation heard from another instance). */
  evict(hash: string): void;
}

export function createKeyCache<V>(opts: {
  ttlMs: number;
  now: () => number;
  maxEntries?: number;
  broadcast?: (hash: string) => void;
}): KeyCache<V> {
  const entries = new Map<string, { value: V; until: number }>();
  const max = opts.maxEntries ?? 10_000;
  let revocations = 0;
  return {
    get(hash) {
      const e = entries.get(hash);
      if (!e) return undefined;
      if (opts.now() >= e.until) {
        entries.delete(hash);
        return undefined;
      }
      return e.value;
    },
    version: () => revocations,
    set(hash, value, version) {
      // A lookup that started before a revocation may carry the revoked row: caching it would let it back in.
      if (opts.ttlMs <= 0 || version !== revocations) return;
      // Oldest first: Maps iterate in insertion order.
      if (entries.size >= max) entries.delete(entries.keys().next().value as string);
      entries.set(hash, { value, until: opts.now() + opts.ttlMs });
    },
    revoke(hash) {
      revocations++;
      entries.delete(hash);
      opts.broadcast?.(hash);
    },
    evict(hash) {
      revocations++;
      entries.delete(hash);
    },
  };
}
