import { notFound, type Platform } from "../errors.js";
import type { WholesalerClient } from "../upstream/client.js";
import { UpstreamError } from "../upstream/errors.js";
import type { Ctx } from "./context.js";
import { msFromTimestamp } from "./context.js";
import type { FinalTranscriptCache } from "./final-transcripts.js";
import type { LiveCache } from "./live-cache.js";
import { constructMeetingUrl, latestUserMeeting, type UserMeetingRow } from "./meeting-views.js";
import { readSegments, type Segment, storeSegments, toSegment } from "./transcript-store.js";
import { type Db, isoNaive } from "../db/client.js";

export interface TranscriptsCtx extends Ctx {
  client: Pick<WholesalerClient, "getTranscript">;
  cache: LiveCache;
  finals?: FinalTranscriptCache;
  /** Minimum time between two checkpoints of one meeting. */
  checkpointEveryMs?: number;
  onCheckpointError?: (err: unknown) => void;
}

export interface TranscriptView {
  id: number;
  platform: string;
  native_meeting_id: string | null;
  constructed_meeting_url: string | null;
  status: string;
  start_time: string | null;
  end_time: string | null;
  segments: Segment[];
}

const LIVE = new Set(["requested", "active", "stopping"]);
const lastCheckpoint = new WeakMap<object, Map<number, number>>();

/**
 * GET /transcripts: live meetings from the wholesaler (coalesced, checkpointed), finished ones from our store;
 * either way only the window in which this user held the bot. `stale` means the wholesaler was unreachable
 * and the last checkpoint was served instead.
 */
export async function getTranscript(
  ctx: TranscriptsCtx,
  userId: number,
  platform: Platform,
  nativeId: string,
): Promise<{ transcript: TranscriptView; stale: boolean }> {
  const m = await latestUserMeeting(ctx.db, userId, platform, nativeId);
  if (!m) throw notFound(`Meeting not found for platform ${platform} and ID ${nativeId}`);
  let segments: Segment[];
  let stale = false;
  if (LIVE.has(m.meeting_status) && !m.meeting_data.transcript_cached) {
    try {
      segments = await liveSegments(ctx, m);
    } catch (err) {
      if (!(err instanceof UpstreamError) || (err.kind !== "unavailable" && err.kind !== "not_found"))
        throw err;
      segments = await readSegments(ctx.db, m.id);
      stale = true;
    }
  } else if (m.meeting_data.transcript_cached) {
    segments = ctx.finals?.get(m.id) ?? (await readSegments(ctx.db, m.id));
    ctx.finals?.set(m.id, segments);
  } else {
    segments = await readSegments(ctx.db, m.id);
  }
  return {
    transcript: {
      id: m.id,
      platform: m.platform,
      native_meeting_id: m.platform_specific_id,
      constructed_meeting_url: constructMeetingUrl(m.platform, m.platform_specific_id),
      status: m.status,
      start_time: isoNaive(m.start_time),
      end_time: isoNaive(m.end_time),
      segments: inWindow(segments, m),
    },
    stale,
  };
}

async function liveSegments(ctx: TranscriptsCtx, m: UserMeetingRow): Promise<Segment[]> {
  const nativeId = m.platform_specific_id ?? "";
  const { value, fetched } = await ctx.cache.get(`transcript:${m.id}`, async () => {
    const t = await ctx.client.getTranscript(m.platform, nativeId);
    return t.segments.map(toSegment);
  });
  if (fetched) maybeCheckpoint(ctx, m.id, value);
  return value;
}

/** Keeps a recent copy of the live transcript locally: served if the wholesaler goes away, little lost if it forgets. */
function maybeCheckpoint(ctx: TranscriptsCtx, meetingId: number, segments: Segment[]): void {
  let perDb = lastCheckpoint.get(ctx.db);
  if (!perDb) {
    perDb = new Map();
    lastCheckpoint.set(ctx.db, perDb);
  }
  const now = ctx.clock.now();
  const last = perDb.get(meetingId);
  if (last !== undefined && now - last < (ctx.checkpointEveryMs ?? 5000)) return;
  perDb.set(meetingId, now);
  void checkpoint(ctx.db, meetingId, segments).catch((err) => ctx.onCheckpointError?.(err));
}

export async function checkpoint(db: Db, meetingId: number, segments: Segment[]): Promise<void> {
  await db.tx(async (tx) => {
    // The row lock orders us against finalization: a late checkpoint must never overwrite the final transcript.
    const res = await tx.query<{ cached: boolean }>(
      "SELECT coalesce((data->>'transcript_cached')::boolean, false) AS cached FROM meetings WHERE id = $1 FOR UPDATE",
      [meetingId],
    );
    if (!res.rows[0] || res.rows[0].cached) return;
    await storeSegments(tx, meetingId, segments, { replace: false });
  });
}

/**
 * Only what this user's own bot would have heard: segments that started while they held it. Segments are in
 * time order, so a window covering the first and the last keeps the shared array as it is (no copy).
 */
function inWindow(segments: Segment[], m: UserMeetingRow): Segment[] {
  const from = msFromTimestamp(m.attached_at);
  const to = m.detached_at ? msFromTimestamp(m.detached_at) : Number.POSITIVE_INFINITY;
  const inside = (s: Segment) => {
    if (!s.absolute_start_time) return true;
    const t = msFromTimestamp(s.absolute_start_time);
    return t >= from && t <= to;
  };
  const first = segments[0];
  const last = segments[segments.length - 1];
  if (!first || !last || (inside(first) && inside(last))) return segments;
  return segments.filter(inside);
}
