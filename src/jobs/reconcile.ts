import { msFromTimestamp, naiveFromMs } from "../clock.js";
import * as lifecycle from "../meetings/lifecycle.js";
import { enqueueFinalize, FINALIZE_QUEUE, START_QUEUE_TIMEOUT_MS } from "../meetings/queues.js";
import { HELD_STATUSES, LIVE_STATUSES, sqlList } from "../meetings/statuses.js";
import { isOurs } from "../meetings/upstream-bot.js";
import type { UpstreamMeeting } from "../upstream/schemas.js";
import { isLiveUpstreamStatus, toBaselineStatus } from "../upstream/statuses.js";
import type { LifecycleDeps } from "./finalize-meeting.js";

interface LocalMeeting {
  id: number;
  platform: string;
  platform_specific_id: string;
  status: string;
  wholesaler_meeting_id: string | null;
  transcript_cached: boolean;
  start_queued_at: string | null;
  held: boolean;
  created_at: string;
  updated_at: string | null;
}

export interface ReconcileSummary {
  checked: number;
  finalizing: number;
  restopped: number;
  adopted: number;
  abandoned: number;
  /** Upstream bots of ours that no user held, stopped. */
  orphansStopped: number;
}

export interface ReconcileDeps extends LifecycleDeps {
  log?: { warn(o: object, msg?: string): void };
  onOrphanStopped?: () => void;
}

/**
 * Heals what webhooks and crashes left: ended or vanished meetings are finalized, unanswered stops re-sent,
 * claims orphaned by a crash settled, and any upstream bot of ours that no user holds is stopped (no bot-minute
 * without an owner).
 */
export async function reconcileMeetings(
  deps: ReconcileDeps,
  opts: { staleMs?: number } = {},
): Promise<ReconcileSummary> {
  const staleMs = opts.staleMs ?? 30_000;
  const summary: ReconcileSummary = {
    checked: 0,
    finalizing: 0,
    restopped: 0,
    adopted: 0,
    abandoned: 0,
    orphansStopped: 0,
  };
  // Upstream first: every bot it lists was claimed (and committed) here before it was requested, so the local read
  // below sees its claim; the other order could take a bot started in between for an orphan.
  const upstream = await deps.client.listMeetings({ timeoutMs: 10_000, deadlineMs: 20_000 });
  const local = await deps.db.query<LocalMeeting>(
    `SELECT m.id, m.platform, m.platform_specific_id, m.status, m.wholesaler_meeting_id, m.transcript_cached,
            m.start_queued_at, m.created_at, m.updated_at,
            EXISTS (SELECT 1 FROM user_meetings um WHERE um.meeting_id = m.id AND um.detached_at IS NULL
                       AND um.status IN (${sqlList(HELD_STATUSES)})) AS held
       FROM meetings m WHERE m.status IN (${sqlList(LIVE_STATUSES)}) OR NOT m.upstream_deleted ORDER BY m.id`,
  );
  const byId = new Map(upstream.map((m) => [m.id, m]));
  const now = deps.clock.now();
  for (const m of local.rows) {
    summary.checked++;
    const age = now - msFromTimestamp(m.updated_at ?? m.created_at);
    if (m.status === "requested") {
      if (m.start_queued_at === null && age > staleMs) await settleOrphanClaim(deps, m, upstream, summary);
      // A queued start whose job is gone (retries used up): fail it rather than hold the room and the quota.
      else if (
        m.start_queued_at !== null &&
        now - msFromTimestamp(m.start_queued_at) > 2 * START_QUEUE_TIMEOUT_MS
      )
        await lifecycle.failStart(deps, m.id, "No bot could join in time.");
      continue;
    }
    const theirs = m.wholesaler_meeting_id === null ? undefined : byId.get(Number(m.wholesaler_meeting_id));
    // Ended, failed, errored, or a status we do not know to be live: pull what it has and close our record.
    if (m.transcript_cached || !theirs || !isLiveUpstreamStatus(theirs.status)) {
      await ensureFinalizing(deps, m.id, theirs?.status);
      summary.finalizing++;
    } else if (m.status === "active" && !m.held) {
      const stop = await lifecycle.stopUnheld(deps, m.id);
      if (stop) await stopOrphan(deps, stop.platform, stop.nativeMeetingId, { meetingId: m.id }, summary);
    } else if (m.status === "stopping" && age > staleMs) {
      await deps.client.stopBot(m.platform, m.platform_specific_id).catch(() => undefined);
      await deps.db.query("UPDATE meetings SET updated_at = $2 WHERE id = $1", [m.id, naiveFromMs(now)]);
      summary.restopped++;
    }
  }
  for (const u of upstream) {
    if (toBaselineStatus(u.status) !== "active") continue;
    if (!isOurs(u, deps.serviceLayerId, false) || coveredLocally(u, local.rows)) continue;
    await stopOrphan(deps, u.platform, u.native_meeting_id ?? "", { wholesalerMeetingId: u.id }, summary);
  }
  return summary;
}

/** An upstream bot is accounted for by a local meeting that records it, or by a claim in its room still starting. */
function coveredLocally(u: UpstreamMeeting, local: LocalMeeting[]): boolean {
  return local.some(
    (m) =>
      (m.wholesaler_meeting_id !== null && Number(m.wholesaler_meeting_id) === u.id) ||
      (m.status === "requested" &&
        m.platform === u.platform &&
        m.platform_specific_id === u.native_meeting_id),
  );
}

async function stopOrphan(
  deps: ReconcileDeps,
  platform: string,
  nativeId: string,
  ref: object,
  summary: ReconcileSummary,
): Promise<void> {
  await deps.client.stopBot(platform, nativeId).catch(() => undefined);
  summary.orphansStopped++;
  deps.onOrphanStopped?.();
  deps.log?.warn(
    { ...ref, platform, nativeMeetingId: nativeId },
    "stopped an upstream bot that no user held",
  );
}

async function ensureFinalizing(
  deps: ReconcileDeps,
  meetingId: number,
  upstreamStatus?: string,
): Promise<void> {
  const queued = await deps.db.tx(async (tx) => {
    if (upstreamStatus) await lifecycle.recordUpstreamStatus(tx, meetingId, upstreamStatus);
    return enqueueFinalize(deps.queue, meetingId, tx);
  });
  // Already queued, perhaps backing off after failing through an outage: the wholesaler has just answered, so the
  // next try need not wait out an exponential backoff (after a one-minute outage, one to two minutes more).
  if (queued === null) await deps.queue.retryNow(FINALIZE_QUEUE, `finalize:${meetingId}`);
}

/** A claim whose request died mid-flight: adopt the wholesaler's bot if it exists, otherwise release the claim. */
async function settleOrphanClaim(
  deps: ReconcileDeps,
  m: LocalMeeting,
  upstream: UpstreamMeeting[],
  summary: ReconcileSummary,
): Promise<void> {
  const live = upstream.find(
    (u) =>
      u.platform === m.platform &&
      u.native_meeting_id === m.platform_specific_id &&
      toBaselineStatus(u.status) === "active" &&
      isOurs(u, deps.serviceLayerId, true),
  );
  if (!live) {
    await lifecycle.abandonClaim(deps, m.id);
    summary.abandoned++;
    return;
  }
  const bot = {
    botId: live.bot_container_id ?? `wholesaler-meeting-${live.id}`,
    wholesalerMeetingId: live.id,
  };
  const adopted = { ...bot, adopted: true, clockOffsetMs: deps.client.clockOffsetMs() };
  if (await lifecycle.activate(deps, m.id, adopted)) summary.adopted++;
  else await stopOrphan(deps, m.platform, m.platform_specific_id, { meetingId: m.id }, summary);
}
