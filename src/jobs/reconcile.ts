import { naiveFromMs, msFromTimestamp } from "../services/context.js";
import { findAdoptable } from "../bot-manager/adopt.js";
import type { UpstreamMeeting } from "../upstream/schemas.js";
import { enqueueFinalize, FINALIZE_QUEUE, type LifecycleDeps } from "./finalize-meeting.js";

export const RECONCILE_QUEUE = "reconcile-meetings";

const TERMINAL = new Set(["completed", "failed"]);

interface LocalMeeting {
  id: number;
  platform: string;
  platform_specific_id: string;
  status: string;
  data: { wholesaler_meeting_id?: number; stop_requested?: boolean; transcript_cached?: boolean };
  created_at: string;
  updated_at: string;
}

export interface ReconcileSummary {
  checked: number;
  finalizing: number;
  restopped: number;
  adopted: number;
  abandoned: number;
}

/**
 * Heals what webhooks missed: every meeting we still think is live is compared with the wholesaler's list;
 * ended or vanished ones are finalized, unanswered stops re-sent, and claims orphaned by a crash settled.
 */
export async function reconcileMeetings(
  deps: LifecycleDeps,
  opts: { staleMs?: number } = {},
): Promise<ReconcileSummary> {
  const staleMs = opts.staleMs ?? 30_000;
  const summary: ReconcileSummary = { checked: 0, finalizing: 0, restopped: 0, adopted: 0, abandoned: 0 };
  const local = await deps.db.query<LocalMeeting>(
    `SELECT id, platform, platform_specific_id, status, data, created_at, updated_at FROM meetings
      WHERE status IN ('requested', 'active', 'stopping') ORDER BY id`,
  );
  if (local.rows.length === 0) return summary;
  const upstream = await deps.client.listMeetings({ timeoutMs: 10_000, deadlineMs: 20_000 });
  const byId = new Map(upstream.map((m) => [m.id, m]));
  const now = deps.clock.now();
  for (const m of local.rows) {
    summary.checked++;
    const age = now - msFromTimestamp(m.updated_at ?? m.created_at);
    if (m.status === "requested") {
      if (age > staleMs) await settleOrphanClaim(deps, m, upstream, summary);
      continue;
    }
    const theirs =
      m.data.wholesaler_meeting_id === undefined ? undefined : byId.get(m.data.wholesaler_meeting_id);
    if (!theirs || TERMINAL.has(theirs.status) || m.data.transcript_cached) {
      const queued = await deps.db.tx(async (tx) => {
        if (theirs) {
          await tx.query(
            "UPDATE meetings SET data = data || jsonb_build_object('upstream_status', $2::text) WHERE id = $1",
            [m.id, theirs.status],
          );
        }
        return enqueueFinalize(deps.queue, m.id, tx);
      });
      // Already queued, perhaps backing off after failing through an outage: the wholesaler has just answered, so
      // the next try need not wait out an exponential backoff (after a one-minute outage, one to two minutes more).
      if (queued === null) await deps.queue.retryNow(FINALIZE_QUEUE, `finalize:${m.id}`);
      summary.finalizing++;
    } else if (m.status === "stopping" && age > staleMs) {
      await deps.client.stopBot(m.platform, m.platform_specific_id).catch(() => undefined);
      await deps.db.query("UPDATE meetings SET updated_at = $2 WHERE id = $1", [m.id, naiveFromMs(now)]);
      summary.restopped++;
    }
  }
  return summary;
}

/** A claim whose request died mid-flight: adopt the wholesaler's bot if it exists, otherwise release the claim. */
async function settleOrphanClaim(
  deps: LifecycleDeps,
  m: LocalMeeting,
  upstream: UpstreamMeeting[],
  summary: ReconcileSummary,
): Promise<void> {
  const live = findAdoptable(upstream, m.platform, m.platform_specific_id, deps.serviceLayerId ?? "");
  const now = naiveFromMs(deps.clock.now());
  await deps.db.tx(async (tx) => {
    if (live) {
      await tx.query(
        `UPDATE meetings SET status = 'active', bot_container_id = $2, start_time = COALESCE(start_time, $3), updated_at = $3,
                data = data || jsonb_build_object('is_live', true, 'wholesaler_meeting_id', $4::int, 'bot_id', $2::text, 'adopted', true)
          WHERE id = $1 AND status = 'requested'`,
        [m.id, live.bot_container_id, now, live.id],
      );
      await tx.query(
        "UPDATE user_meetings SET status = 'active', start_time = $2, updated_at = $2 WHERE meeting_id = $1 AND status = 'requested'",
        [m.id, now],
      );
      summary.adopted++;
    } else {
      await tx.query("DELETE FROM user_meetings WHERE meeting_id = $1 AND status = 'requested'", [m.id]);
      await tx.query(
        "DELETE FROM meetings WHERE id = $1 AND status = 'requested' AND NOT EXISTS (SELECT 1 FROM user_meetings WHERE meeting_id = $1)",
        [m.id],
      );
      summary.abandoned++;
    }
  });
}
