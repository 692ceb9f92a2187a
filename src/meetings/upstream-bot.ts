import type { Clock } from "../clock.js";
import type { Queryable } from "../db/client.js";
import type { WholesalerClient } from "../upstream/client.js";
import { UpstreamError } from "../upstream/errors.js";
import type { UpstreamMeeting } from "../upstream/schemas.js";
import { isLiveUpstreamStatus, toBaselineStatus } from "../upstream/statuses.js";
import type { ClaimInput, StartedBot } from "./lifecycle.js";

export interface UpstreamBotDeps {
  db: Queryable;
  clock: Clock;
  client: Pick<WholesalerClient, "requestBot" | "listMeetings" | "clockOffsetMs">;
  serviceLayerId: string;
  /** False when the wholesaler is known not to take current Vexa's optional bot fields (the baseline). */
  takesBotOptions?: () => boolean;
}

/**
 * Asks the wholesaler for the room's bot. "busy": the room's previous bot is still leaving, so the start must
 * wait; "taken": a bot we may not take over (another retailer's on the same account) is live there. Other
 * failures throw UpstreamError.
 */
export async function startOnWholesaler(
  deps: UpstreamBotDeps,
  meetingId: number,
  input: ClaimInput,
): Promise<StartedBot | "busy" | "taken"> {
  try {
    const m = await deps.client.requestBot({
      platform: input.platform,
      native_meeting_id: input.native_meeting_id,
      ...(input.bot_name ? { bot_name: input.bot_name } : {}),
      ...(input.language ? { language: input.language } : {}),
      ...(input.task ? { task: input.task } : {}),
      ...botOptions(input, deps.takesBotOptions?.() ?? true),
    });
    // The client has just measured the offset on this very answer (its created_at, as tight as the round trip).
    return started(m, false, deps.client.clockOffsetMs());
  } catch (err) {
    if (!(err instanceof UpstreamError) || err.kind !== "conflict") throw err;
    // We may have lost track of a bot the wholesaler still runs for us (a crash between its 201 and our commit).
    return settleConflict(deps, meetingId, input.platform, input.native_meeting_id);
  }
}

/**
 * Current Vexa's optional fields, for a wholesaler that takes them. A baseline client asks for Zoom with the bare
 * meeting number (the baseline built the URL itself); current Vexa refuses Zoom without a `meeting_url`, so we
 * build the one it would have parsed that number from.
 */
function botOptions(input: ClaimInput, takesOptions: boolean): { options?: Record<string, unknown> } {
  if (!takesOptions) return {};
  const options: Record<string, unknown> = { ...input.options };
  if (
    input.platform === "zoom" &&
    options.meeting_url === undefined &&
    /^\d+$/.test(input.native_meeting_id)
  ) {
    const pwd = typeof options.passcode === "string" ? `?pwd=${encodeURIComponent(options.passcode)}` : "";
    options.meeting_url = `https://zoom.us/j/${input.native_meeting_id}${pwd}`;
  }
  return Object.keys(options).length > 0 ? { options } : {};
}

const started = (m: UpstreamMeeting, adopted: boolean, clockOffsetMs: number): StartedBot => ({
  botId: m.bot_container_id ?? `wholesaler-meeting-${m.id}`,
  wholesalerMeetingId: m.id,
  adopted,
  clockOffsetMs,
});

/**
 * The wholesaler refused a second bot in the room. We adopt its live bot if it is one of ours we lost track of:
 * never one another retailer sharing the account started (its `service_layer_id` differs), never one that is
 * leaving, never one already recorded for another of our meetings (untagged ones predate tagging or come from a
 * wholesaler that drops the field). A bot that is leaving, or one of our own, means "busy": wait for the room.
 */
async function settleConflict(
  deps: UpstreamBotDeps,
  meetingId: number,
  platform: string,
  nativeId: string,
): Promise<StartedBot | "busy" | "taken"> {
  const inRoom = (await deps.client.listMeetings()).filter(
    (m) => m.platform === platform && m.native_meeting_id === nativeId && isLiveUpstreamStatus(m.status),
  );
  let busy = inRoom.length === 0; // gone between its 409 and our look: try again shortly
  for (const m of inRoom) {
    if (toBaselineStatus(m.status) === "stopping") {
      busy = true;
      continue;
    }
    if (!isOurs(m, deps.serviceLayerId, true)) continue;
    const known = await deps.db.query(
      "SELECT 1 FROM meetings WHERE wholesaler_meeting_id = $1 AND id <> $2",
      [m.id, meetingId],
    );
    if (known.rows.length === 0) return started(m, true, deps.client.clockOffsetMs());
    busy = true;
  }
  return busy ? "busy" : "taken";
}

/** Tagged with our service layer; `untagged` says whether a meeting without a tag counts as ours. */
export function isOurs(m: UpstreamMeeting, serviceLayerId: string, untagged: boolean): boolean {
  const tag = (m.data as Record<string, unknown> | null | undefined)?.service_layer_id;
  return tag === undefined || tag === null ? untagged : tag === serviceLayerId;
}
