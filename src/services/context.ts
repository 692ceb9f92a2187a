import type { Clock } from "../clock.js";
import type { Db } from "../db/client.js";
import type { KeyCache } from "./key-cache.js";
import type { UserRow } from "./users.js";

/** What every service verb needs; built once in deps.ts. */
export interface Ctx {
  db: Db;
  clock: Clock;
  /** Verified API keys, by hash (see key-cache.ts). */
  keys?: KeyCache<UserRow>;
}

/** The clock's now as a naive UTC timestamp with microseconds, the way Vexa stores and prints times. */
export function nowNaive(ctx: Pick<Ctx, "clock">): string {
  return naiveFromMs(ctx.clock.now());
}

export function naiveFromMs(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000`;
}

/** Parses a naive-UTC or offset ISO timestamp to epoch ms (naive means UTC, as in Vexa). */
export function msFromTimestamp(ts: string): number {
  const s = ts.replace(" ", "T");
  const hasZone = /([zZ]|[+-]\d{2}:?\d{2})$/.test(s);
  // JS Date keeps milliseconds only; microseconds matter for ordering, so add them back as a fraction.
  const micro = /\.(\d{4,6})/.exec(s)?.[1];
  const base = Date.parse(hasZone ? s : `${s}Z`);
  return micro ? base + Number(`0.${micro.slice(3).padEnd(3, "0")}`) : base;
}
