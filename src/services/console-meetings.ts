import { isoNaive } from "../db/client.js";
import { notFound } from "../errors.js";
import { isLive, LIVE_STATUSES, sqlList } from "../meetings/statuses.js";
import type { Ctx } from "./context.js";

const LIVE = `(${sqlList(LIVE_STATUSES)})`;

export interface Holder {
  user_id: number;
  email: string;
  status: string;
  attached_at: string | null;
  detached_at: string | null;
  end_time: string | null;
}

/** One shared wholesaler bot as the operator sees it: the meeting and everyone holding it. */
export interface ConsoleMeeting {
  id: number;
  platform: string;
  native_meeting_id: string | null;
  status: string;
  bot_container_id: string | null;
  start_time: string | null;
  end_time: string | null;
  created_at: string | null;
  /** Where the lifecycle stands: queued, live, stopping, storing the transcript, finished (or why it failed). */
  stage: string;
  holders: Holder[];
}

interface Row {
  id: number;
  platform: string;
  platform_specific_id: string | null;
  status: string;
  bot_container_id: string | null;
  start_time: string | null;
  end_time: string | null;
  created_at: string | null;
  transcript_cached: boolean;
  upstream_deleted: boolean;
  start_queued_at: string | null;
  failure_reason: string | null;
  holders: Holder[] | null;
}

const SELECT = `
  SELECT m.id, m.platform, m.platform_specific_id, m.status, m.bot_container_id, m.start_time, m.end_time,
         m.created_at, m.transcript_cached, m.upstream_deleted, m.start_queued_at, m.failure_reason,
         (SELECT json_agg(json_build_object('user_id', um.user_id, 'email', u.email, 'status', um.status,
                 'attached_at', um.attached_at, 'detached_at', um.detached_at, 'end_time', um.end_time)
                 ORDER BY um.attached_at)
            FROM user_meetings um JOIN users u ON u.id = um.user_id WHERE um.meeting_id = m.id) AS holders
    FROM meetings m`;

export function lifecycleStage(
  r: Pick<Row, "status" | "transcript_cached" | "upstream_deleted" | "start_queued_at" | "failure_reason">,
): string {
  if (r.upstream_deleted)
    return r.failure_reason ? `finished: ${r.failure_reason}` : "finished: wholesaler copy deleted";
  if (r.transcript_cached) return "transcript stored; deleting wholesaler copy";
  if (r.status === "requested" && r.start_queued_at) return "queued: waiting for the room to free";
  if (r.status === "stopping") return "stopping";
  if (isLive(r.status)) return "live";
  return "awaiting finalization";
}

function toMeeting(r: Row): ConsoleMeeting {
  return {
    id: r.id,
    platform: r.platform,
    native_meeting_id: r.platform_specific_id,
    status: r.status,
    bot_container_id: r.bot_container_id,
    start_time: isoNaive(r.start_time),
    end_time: isoNaive(r.end_time),
    created_at: isoNaive(r.created_at),
    stage: lifecycleStage(r),
    holders: (r.holders ?? []).map((h) => ({
      ...h,
      attached_at: isoNaive(h.attached_at),
      detached_at: isoNaive(h.detached_at),
      end_time: isoNaive(h.end_time),
    })),
  };
}

export async function liveMeetings(ctx: Ctx, limit: number): Promise<ConsoleMeeting[]> {
  const res = await ctx.db.query<Row>(`${SELECT} WHERE m.status IN ${LIVE} ORDER BY m.id DESC LIMIT $1`, [
    limit,
  ]);
  return res.rows.map(toMeeting);
}

/** Live or all meetings, newest first, a page at a time. */
export async function listConsoleMeetings(
  ctx: Ctx,
  q: { live: boolean; skip: number; limit: number },
): Promise<{ total: number; items: ConsoleMeeting[] }> {
  const where = q.live ? `WHERE m.status IN ${LIVE}` : "";
  const [total, rows] = await Promise.all([
    ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM meetings m ${where}`),
    // The page's ids first: the holders subquery then runs for its rows only, not for every row skipped.
    ctx.db.query<Row>(
      `${SELECT} WHERE m.id IN (SELECT m.id FROM meetings m ${where} ORDER BY m.id DESC OFFSET $1 LIMIT $2)
        ORDER BY m.id DESC`,
      [q.skip, q.limit],
    ),
  ]);
  return { total: total.rows[0]?.n ?? 0, items: rows.rows.map(toMeeting) };
}

export async function getConsoleMeeting(ctx: Ctx, id: number): Promise<ConsoleMeeting> {
  const res = await ctx.db.query<Row>(`${SELECT} WHERE m.id = $1`, [id]);
  if (!res.rows[0]) throw notFound("Meeting not found");
  return toMeeting(res.rows[0]);
}
