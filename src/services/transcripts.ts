import { msFromTimestamp, naiveFromMs } from "../clock.js";
import { type Db, isoNaive } from "../db/client.js";
import { notFound, type Platform } from "../errors.js";
import { isLive } from "../meetings/statuses.js";
import { readSegments, type Segment, storeSegments, toSegment } from "../meetings/transcript-store.js";
import type { Anchor } from "../meetings/window.js";
import type { RawTranscript, WholesalerClient } from "../upstream/client.js";
import { UpstreamError } from "../upstream/errors.js";
import type { Ctx } from "./context.js";
import type { FinalTranscriptCache } from "./final-transcripts.js";
import type { LiveCache } from "../cache/live-cache.js";
import {
  cachedUserMeeting,
  constructMeetingUrl,
  type UserMeetingRow,
  userMeetingById,
} from "./meeting-views.js";
import { type TranscriptBody, transcriptBytes, windowed } from "./transcript-body.js";

export interface TranscriptsCtx extends Ctx {
  client: Pick<WholesalerClient, "getTranscriptRaw">;
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
  const { head, segments, stale } = await resolve(ctx, userId, platform, nativeId);
  return { transcript: { ...head, segments }, stale };
}

/**
 * The same answer as response bytes. The segments' serialisation is shared by every reader of the transcript
 * (and, with the cache off, reused while the wholesaler sends the same body): a hot read parses nothing,
 * serialises nothing and copies nothing.
 */
export async function getTranscriptBytes(
  ctx: TranscriptsCtx,
  userId: number,
  platform: Platform,
  nativeId: string,
): Promise<{ body: TranscriptBody; stale: boolean }> {
  const { head, segments, stale } = await resolve(ctx, userId, platform, nativeId);
  return { body: transcriptBytes(head, segments), stale };
}

/** Current Vexa's `GET /transcripts/by-id/{id}`: the same answer for the caller's meeting with that id. */
export async function getTranscriptBytesById(
  ctx: TranscriptsCtx,
  userId: number,
  meetingId: number,
): Promise<{ body: TranscriptBody; stale: boolean }> {
  const m = await userMeetingById(ctx, userId, meetingId);
  if (!m) throw notFound(`Meeting ${meetingId} not found`);
  const { head, segments, stale } = await resolveRow(ctx, m);
  return { body: transcriptBytes(head, segments), stale };
}

async function resolve(ctx: TranscriptsCtx, userId: number, platform: Platform, nativeId: string) {
  // From the per-user view cache: a hot poll touches no database.
  const m = await cachedUserMeeting(ctx, userId, platform, nativeId);
  if (!m) throw notFound(`Meeting not found for platform ${platform} and ID ${nativeId}`);
  return resolveRow(ctx, m);
}

/** The user's view of one meeting's transcript: live, stale checkpoint or stored, cut to their window. */
export async function resolveRow(ctx: TranscriptsCtx, m: UserMeetingRow) {
  let segments: Segment[];
  let stale = false;
  let upstreamStart = m.upstream_start_time;
  if (isLive(m.meeting_status) && !m.transcript_cached) {
    try {
      const live = await liveTranscript(ctx, m);
      segments = live.segments;
      upstreamStart = live.start_time;
    } catch (err) {
      if (!(err instanceof UpstreamError) || (err.kind !== "unavailable" && err.kind !== "not_found"))
        throw err;
      segments = await readSegments(ctx.db, m.id);
      stale = true;
    }
  } else if (m.transcript_cached) {
    segments = ctx.finals?.get(m.id) ?? (await readSegments(ctx.db, m.id));
    ctx.finals?.set(m.id, segments);
  } else {
    segments = await readSegments(ctx.db, m.id);
  }
  // Keys in Vexa's order; the segments come last.
  const head = {
    id: m.id,
    platform: m.platform,
    native_meeting_id: m.platform_specific_id,
    constructed_meeting_url: constructMeetingUrl(m.platform, m.platform_specific_id),
    status: m.status,
    start_time: isoNaive(m.start_time),
    end_time: isoNaive(m.end_time),
  };
  const window = { from: m.window_from, to: m.window_to };
  return { head, segments: windowed(segments, window, anchorOf(m, upstreamStart)), stale };
}

export interface LiveValue {
  start_time: string | null;
  segments: Segment[];
}

// The last body each meeting's wholesaler answer had, and what we made of it: an unchanged body (the usual
// poll with the cache off) is compared byte for byte and neither decoded, parsed nor validated again, and keeps
// its shared serialisation. That is validation enough: clients never get the wholesaler's bytes themselves, only
// our serialisation of segments that passed the schema check (JSON, every field typed) when those exact bytes
// first arrived; a body that differs by one byte is checked again before anything of it is served.
const lastBodies = new WeakMap<object, Map<number, { raw: RawTranscript; value: LiveValue }>>();

/** The live transcript, shared by every reader of the meeting; `start_time` is the wholesaler's meeting start. */
export async function liveTranscript(
  ctx: TranscriptsCtx,
  m: UserMeetingRow,
  opts?: { fresh?: boolean },
): Promise<LiveValue> {
  const nativeId = m.platform_specific_id ?? "";
  const { value, fetched } = await ctx.cache.get(
    `transcript:${m.id}`,
    async () => {
      let bodies = lastBodies.get(ctx);
      if (!bodies) {
        bodies = new Map();
        lastBodies.set(ctx, bodies);
      }
      const last = bodies.get(m.id);
      const raw = await ctx.client.getTranscriptRaw(
        m.platform,
        nativeId,
        last ? { known: last.raw } : undefined,
      );
      if (last && raw === last.raw) return last.value;
      const t = raw.transcript;
      const v: LiveValue = { start_time: t.start_time ?? null, segments: t.segments.map(toSegment) };
      bodies.delete(m.id);
      if (bodies.size >= LAST_BODIES) bodies.delete(bodies.keys().next().value as number);
      bodies.set(m.id, { raw, value: v });
      return v;
    },
    opts,
  );
  if (fetched) maybeCheckpoint(ctx, m.id, value.segments);
  return value;
}

const LAST_BODIES = 1000;

/**
 * Where segments without absolute times are placed from: the wholesaler's meeting start (its clock), else our
 * own start converted to its timeline.
 */
export function anchorOf(m: UserMeetingRow, upstreamStart: string | null): Anchor {
  const theirs = upstreamStart ? msFromTimestamp(upstreamStart) : Number.NaN;
  if (Number.isFinite(theirs)) return theirs;
  return m.meeting_start_time ? msFromTimestamp(m.meeting_start_time) + m.clock_offset_ms : null;
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
  void checkpoint(ctx.db, meetingId, segments, naiveFromMs(now)).catch((err) => ctx.onCheckpointError?.(err));
}

export async function checkpoint(
  db: Db,
  meetingId: number,
  segments: Segment[],
  storedAt: string,
): Promise<void> {
  await db.tx(async (tx) => {
    // The row lock orders us against finalization: a late checkpoint must never overwrite the final transcript.
    const res = await tx.query<{ cached: boolean }>(
      "SELECT transcript_cached AS cached FROM meetings WHERE id = $1 FOR UPDATE",
      [meetingId],
    );
    if (!res.rows[0] || res.rows[0].cached) return;
    await storeSegments(tx, meetingId, segments, { replace: false, storedAt });
  });
}
