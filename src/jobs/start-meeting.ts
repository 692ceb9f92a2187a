import { msFromTimestamp } from "../clock.js";
import * as lifecycle from "../meetings/lifecycle.js";
import type { BotOptions } from "../meetings/lifecycle.js";
import { START_QUEUE_TIMEOUT_MS } from "../meetings/queues.js";
import { startOnWholesaler } from "../meetings/upstream-bot.js";
import { UpstreamError } from "../upstream/errors.js";
import type { LifecycleDeps } from "./finalize-meeting.js";

/** Thrown to have the queue try again later (the room is still busy upstream, or the wholesaler is down). */
class NotYet extends Error {}

/**
 * The queued start of a room whose previous bot was still leaving: one upstream POST /bots for every user who
 * asked, as soon as the wholesaler allows it; the meeting fails with a reason after START_QUEUE_TIMEOUT_MS.
 */
export async function startQueuedMeeting(
  deps: LifecycleDeps & { stop(platform: string, nativeId: string): Promise<void> },
  meetingId: number,
): Promise<"started" | "failed" | "skipped"> {
  const res = await deps.db.query<{
    platform: string;
    platform_specific_id: string;
    start_queued_at: string | null;
    bot_name: string | null;
    language: string | null;
    task: string | null;
    bot_options: BotOptions | null;
  }>(
    `SELECT m.platform, m.platform_specific_id, m.start_queued_at, um.bot_name, um.language, um.task,
            um.bot_options
       FROM meetings m LEFT JOIN user_meetings um ON um.meeting_id = m.id AND um.user_id = m.user_id
      WHERE m.id = $1 AND m.status = 'requested'`,
    [meetingId],
  );
  const m = res.rows[0];
  // Already started, failed, or given up by its last holder.
  if (!m || m.start_queued_at === null) return "skipped";
  const input = {
    platform: m.platform,
    native_meeting_id: m.platform_specific_id,
    bot_name: m.bot_name,
    language: m.language,
    task: m.task,
    options: m.bot_options,
  };
  let outcome: Awaited<ReturnType<typeof startOnWholesaler>> | UpstreamError;
  try {
    outcome = await startOnWholesaler(deps, meetingId, input);
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    outcome = err;
  }
  if (outcome === "busy" || outcome === "taken" || outcome instanceof UpstreamError) {
    if (deps.clock.now() - msFromTimestamp(m.start_queued_at) < START_QUEUE_TIMEOUT_MS) {
      throw new NotYet(
        outcome instanceof UpstreamError ? outcome.message : `the room is ${outcome} upstream`,
      );
    }
    const reason =
      outcome instanceof UpstreamError
        ? "The meeting-bot service was unavailable; no bot could join."
        : "The previous bot for this meeting did not leave in time; no new bot could join.";
    return (await lifecycle.failStart(deps, meetingId, reason)) ? "failed" : "skipped";
  }
  if (await lifecycle.activate(deps, meetingId, outcome)) return "started";
  await deps.stop(m.platform, m.platform_specific_id);
  return "skipped";
}
