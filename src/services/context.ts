import { type Clock, naiveFromMs } from "../clock.js";

export { msFromTimestamp, naiveFromMs } from "../clock.js";
import type { HoldingsCache } from "../cache/holdings.js";
import type { Db } from "../db/client.js";
import type { KeyCache } from "./key-cache.js";
import type { UserMeetingRow } from "./meeting-views.js";
import type { UserRow } from "./users.js";

/** What every service verb needs; built once in deps.ts. */
export interface Ctx {
  db: Db;
  clock: Clock;
  /** Verified API keys, by hash (see key-cache.ts). */
  keys?: KeyCache<UserRow>;
  /** Per-user meeting views for hot reads (see src/cache/holdings.ts); changes must invalidate it. */
  views?: HoldingsCache<UserMeetingRow>;
}

/** The clock's now as a naive UTC timestamp with microseconds, the way Vexa stores and prints times. */
export function nowNaive(ctx: Pick<Ctx, "clock">): string {
  return naiveFromMs(ctx.clock.now());
}
