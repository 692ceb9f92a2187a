import type { Clock } from "../clock.js";
import type { Db, Queryable } from "../db/client.js";
import { naiveFromMs } from "../services/context.js";
import { purgeMeeting } from "../services/meetings.js";
import { aggregateParticipants, storeSegments, toSegment } from "../services/transcript-store.js";
import type { WholesalerClient } from "../upstream/client.js";
import { UpstreamError } from "../upstream/errors.js";
import type { UpstreamTranscript } from "../upstream/schemas.js";
import type { JobQueue } from "./queue.js";

export const FINALIZE_QUEUE = "finalize-meeting";
export const NOTIFY_QUEUE = "notify-user";

export type FinalizeStep = "pulled" | "stored" | "deleted";

export interface LifecycleDeps {
  db: Db;
  clock: Clock;
  client: WholesalerClient;
  queue: JobQueue;
  /** Ours among retailers sharing one wholesaler account; only our orphaned bots are adopted. */
  serviceLayerId?: string;
  /** Test hook: the chaos suite kills the process at a named step to prove every step resumes. */
  crashAt?: (step: FinalizeStep) => void;
}

interface MeetingRow {
  id: number;
  platform: string;
  platform_specific_id: string;
  status: string;
  end_time: string | null;
  data: {
    wholesaler_meeting_id?: number;
    transcript_cached?: boolean;
    upstream_deleted?: boolean;
    upstream_status?: string;
  };
}

const TERMINAL = new Set(["completed", "failed"]);

/**
 * pull final transcript → store it and mark the meeting ended (one commit) → only then delete the wholesaler's
 * copy → queue user notifications. Every step is idempotent, so a retry after a crash resumes where it stopped.
 */
export async function finalizeMeeting(deps: LifecycleDeps, meetingId: number): Promise<"finalized" | "gone"> {
  const { db, client } = deps;
  const m = await loadMeeting(db, meetingId);
  if (!m) return "gone";
  if (!m.data.transcript_cached) {
    const final = await pullFinal(client, m);
    deps.crashAt?.("pulled");
    await storeFinal(deps, m, final);
    deps.crashAt?.("stored");
  }
  if (!m.data.upstream_deleted) {
    await client.deleteMeeting(m.platform, m.platform_specific_id, { timeoutMs: 5000, deadlineMs: 10_000 });
    await db.tx(async (tx) => {
      const ended = await tx.query<{ status: string }>(
        `UPDATE meetings SET status = COALESCE(data->>'final_status', 'completed'), updated_at = $2,
                data = data || '{"upstream_deleted": true, "finalize_stage": "deleted"}'::jsonb
          WHERE id = $1 AND NOT coalesce((data->>'upstream_deleted')::boolean, false) RETURNING status`,
        [m.id, naiveFromMs(deps.clock.now())],
      );
      if (ended.rows.length === 0) return;
      const holders = await tx.query<{ user_id: number }>(
        `SELECT um.user_id FROM user_meetings um JOIN users u ON u.id = um.user_id
          WHERE um.meeting_id = $1 AND u.data ? 'webhook_url'`,
        [m.id],
      );
      for (const h of holders.rows) {
        await deps.queue.send(
          NOTIFY_QUEUE,
          { meetingId: m.id, userId: h.user_id },
          { tx, singletonKey: `notify:${m.id}:${h.user_id}` },
        );
      }
      const anyHolder = await tx.query("SELECT 1 FROM user_meetings WHERE meeting_id = $1 LIMIT 1", [m.id]);
      // Everyone deleted their record while the bot was live: the transcript goes with the last of them.
      if (anyHolder.rows.length === 0) await purgeMeeting(tx, m.id);
    });
    deps.crashAt?.("deleted");
  }
  return "finalized";
}

async function loadMeeting(db: Db, id: number): Promise<MeetingRow | undefined> {
  const res = await db.query<MeetingRow>(
    "SELECT id, platform, platform_specific_id, status, end_time, data FROM meetings WHERE id = $1",
    [id],
  );
  return res.rows[0];
}

/** The wholesaler's final transcript, or null when it no longer has this meeting (the checkpoint then stands). */
async function pullFinal(client: WholesalerClient, m: MeetingRow): Promise<UpstreamTranscript | null> {
  try {
    const t = await client.getTranscript(m.platform, m.platform_specific_id, {
      timeoutMs: 10_000,
      deadlineMs: 30_000,
    });
    // A newer wholesaler meeting for the same native id is not ours to store.
    if (m.data.wholesaler_meeting_id !== undefined && t.id !== m.data.wholesaler_meeting_id) return null;
    return t;
  } catch (err) {
    if (err instanceof UpstreamError && err.kind === "not_found") return null;
    throw err;
  }
}

async function storeFinal(
  deps: LifecycleDeps,
  m: MeetingRow,
  final: UpstreamTranscript | null,
): Promise<void> {
  const now = naiveFromMs(deps.clock.now());
  await deps.db.tx(async (tx) => {
    const locked = await tx.query<{ data: MeetingRow["data"] }>(
      "SELECT data FROM meetings WHERE id = $1 FOR UPDATE",
      [m.id],
    );
    if (!locked.rows[0] || locked.rows[0].data.transcript_cached) return;
    if (final) await storeSegments(tx, m.id, final.segments.map(toSegment), { replace: true });
    const status =
      final && TERMINAL.has(final.status) ? final.status : (m.data.upstream_status ?? "completed");
    const endTime = final?.end_time ?? m.end_time ?? now;
    const agg = await aggregateParticipants(tx, m.id);
    await tx.query(
      `UPDATE meetings SET end_time = $2, updated_at = $3,
              data = data || jsonb_build_object('is_live', false, 'transcript_cached', true, 'finalize_stage', 'stored',
                                                'final_status', $4::text, 'transcript_complete', $5::boolean)
        WHERE id = $1`,
      [m.id, endTime, now, TERMINAL.has(status) ? status : "completed", final !== null],
    );
    // Holders still attached end with the meeting; those who left earlier keep their own end.
    await tx.query(
      `UPDATE user_meetings SET status = $2, end_time = COALESCE(end_time, $3), updated_at = $4,
              detached_at = COALESCE(detached_at, $3)
        WHERE meeting_id = $1 AND status IN ('requested', 'active', 'stopping')`,
      [m.id, TERMINAL.has(status) ? status : "completed", endTime, now],
    );
    await tx.query(
      `UPDATE user_meetings SET data = data
              || CASE WHEN data ? 'participants' THEN '{}'::jsonb ELSE jsonb_build_object('participants', $2::jsonb) END
              || CASE WHEN data ? 'languages' THEN '{}'::jsonb ELSE jsonb_build_object('languages', $3::jsonb) END
        WHERE meeting_id = $1`,
      [m.id, JSON.stringify(agg.participants), JSON.stringify(agg.languages)],
    );
  });
}

/** Queues finalization for a meeting, inside the caller's transaction when given; duplicates collapse. */
export async function enqueueFinalize(
  queue: JobQueue,
  meetingId: number,
  tx?: Queryable,
): Promise<string | null> {
  return queue.send(
    FINALIZE_QUEUE,
    { meetingId },
    {
      ...(tx ? { tx } : {}),
      singletonKey: `finalize:${meetingId}`,
      retryLimit: 30,
      retryDelaySeconds: 2,
      retryBackoff: true,
    },
  );
}
