/**
 * The meeting and holding status sets, declared once (docs: the spec's meeting-lifecycle page).
 * A meeting is `requested` → `active` → `stopping` → `completed`/`failed`; a holding mirrors it until released.
 */

/** A meeting whose upstream bot may be live: finalization has not stored its transcript yet. */
export const LIVE_STATUSES = ["requested", "active", "stopping"] as const;
/** A meeting or holding that holds its room (and, for a holding, a quota slot). */
export const HELD_STATUSES = ["requested", "active"] as const;
export const TERMINAL_STATUSES = ["completed", "failed"] as const;

const LIVE = new Set<string>(LIVE_STATUSES);
const HELD = new Set<string>(HELD_STATUSES);
const TERMINAL = new Set<string>(TERMINAL_STATUSES);

export const isLive = (status: string): boolean => LIVE.has(status);
export const isHeld = (status: string): boolean => HELD.has(status);
export const isTerminal = (status: string): boolean => TERMINAL.has(status);

/** How a meeting ended, from the wholesaler's status (Vexa's `error` is a failure); null while it has not. */
export function endedAs(upstreamStatus: string | null | undefined): "completed" | "failed" | null {
  if (upstreamStatus === "completed") return "completed";
  return upstreamStatus === "failed" || upstreamStatus === "error" ? "failed" : null;
}

/** SQL list literal of a status set, for statements that cannot take it as a parameter (partial indexes, CTEs). */
export const sqlList = (statuses: readonly string[]): string => statuses.map((s) => `'${s}'`).join(", ");
