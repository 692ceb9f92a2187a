/**
 * Meeting statuses across Vexa generations. The baseline knows `requested, active, stopping, completed,
 * failed, error`; current Vexa adds `joining`, `awaiting_admission`, `needs_help`/`needs_human_help`
 * (bot lifecycle) and `scheduled`/`idle` (planned meetings, no bot).
 *
 * In the baseline a meeting is `active` from the moment its bot container starts, before the bot has
 * joined (POST /bots answers 201 `active`), and only an `active` bot can be stopped. Current Vexa answers
 * POST /bots with `requested` once the bot workload exists, then moves through `joining` and
 * `awaiting_admission`; its DELETE /bots stops any of them. So every state in which a bot exists and has
 * not been asked to leave is the baseline's `active`; only a meeting with no bot yet is `requested`.
 */

export type BaselineStatus = "requested" | "active" | "stopping" | "completed" | "failed" | "error";

const TO_BASELINE: Record<string, BaselineStatus> = {
  requested: "active",
  joining: "active",
  awaiting_admission: "active",
  needs_help: "active",
  needs_human_help: "active",
  active: "active",
  stopping: "stopping",
  completed: "completed",
  failed: "failed",
  error: "error",
  scheduled: "requested",
  idle: "requested",
};

/**
 * The baseline status a client of the retailer should see for a wholesaler meeting status, or undefined
 * for a status neither generation defines (the caller decides; we never guess whether it is terminal).
 * Both generations' `requested` map to `active`: the wholesaler answered POST /bots, so the bot exists.
 */
export function toBaselineStatus(upstreamStatus: string): BaselineStatus | undefined {
  return Object.hasOwn(TO_BASELINE, upstreamStatus) ? TO_BASELINE[upstreamStatus] : undefined;
}

/** Statuses in which the wholesaler's bot still exists (it may still produce segments). */
export function isLiveUpstreamStatus(upstreamStatus: string): boolean {
  const s = toBaselineStatus(upstreamStatus);
  return s === "active" || s === "stopping";
}

export interface BotStatusFacts {
  /** The wholesaler's meeting id, when the item names it. */
  meetingId: number | undefined;
  platform: string | null;
  nativeMeetingId: string | null;
  /** The wholesaler's bot id: the container id (baseline) or `bot_container_id` (current). */
  botId: string | null;
  /** The meeting status (current Vexa lists meeting rows); undefined for a baseline Docker item. */
  meetingStatus: string | undefined;
}

interface BotStatusItem {
  container_id?: string | null;
  bot_container_id?: string | null;
  id?: number | null;
  meeting_id?: number | string | null;
  meeting_id_from_name?: string | null;
  platform?: string | null;
  native_meeting_id?: string | null;
  status?: string | null;
  normalized_status?: string | null;
}

/** One GET /bots/status item read the same way from either generation. */
export function botStatusFacts(item: BotStatusItem): BotStatusFacts {
  const rawId = item.meeting_id ?? item.id ?? item.meeting_id_from_name;
  const meetingId = rawId === null || rawId === undefined || rawId === "" ? Number.NaN : Number(rawId);
  // A baseline item's status is Docker's ("Up 3 minutes"); a meeting row's is a meeting status.
  const isMeetingRow = item.container_id === undefined && item.meeting_id_from_name === undefined;
  return {
    meetingId: Number.isSafeInteger(meetingId) ? meetingId : undefined,
    platform: item.platform ?? null,
    nativeMeetingId: item.native_meeting_id ?? null,
    botId: item.container_id ?? item.bot_container_id ?? null,
    meetingStatus: isMeetingRow && typeof item.status === "string" ? item.status : undefined,
  };
}
