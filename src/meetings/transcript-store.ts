import { msFromTimestamp, naiveFromMs } from "../clock.js";
import { isoNaive, type Queryable } from "../db/client.js";

/** A segment exactly as Vexa prints it (keys in Vexa's order). */
export interface Segment {
  start: number;
  end: number;
  text: string;
  language: string | null;
  created_at: string | null;
  speaker: string | null;
  absolute_start_time: string | null;
  absolute_end_time: string | null;
}

/** What identifies a segment across reads: Vexa keys segments by their start, revising text in place. */
export const segmentKey = (s: { start: number; absolute_start_time?: string | null }) =>
  s.absolute_start_time ?? s.start.toFixed(3);

export function toSegment(s: {
  start: number;
  end: number;
  text: string;
  language?: string | null | undefined;
  created_at?: string | null | undefined;
  speaker?: string | null | undefined;
  absolute_start_time?: string | null | undefined;
  absolute_end_time?: string | null | undefined;
}): Segment {
  return {
    start: s.start,
    end: s.end,
    text: s.text,
    language: s.language ?? null,
    created_at: s.created_at ?? null,
    speaker: s.speaker ?? null,
    absolute_start_time: s.absolute_start_time ?? null,
    absolute_end_time: s.absolute_end_time ?? null,
  };
}

const NAIVE_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/;

/** A stored row's `created_at` is naive UTC, as Vexa's Postgres rows print it, whatever zone the wholesaler used. */
export function naiveUtc(ts: string): string {
  if (NAIVE_MICROS.test(ts)) return ts; // already in that form (Vexa's own): 10,000 of them at finalization
  if (/([zZ]|[+-]00:?00)$/.test(ts) || !/[+-]\d{2}:?\d{2}$/.test(ts)) return isoNaive(ts) ?? ts;
  const ms = msFromTimestamp(ts);
  return Number.isFinite(ms) ? naiveFromMs(ms) : ts;
}

/**
 * Upserts segments in one statement (arrays unnested server-side, not row by row). With `replace`, segments
 * the wholesaler no longer has are removed, so the stored transcript equals the final one exactly. A segment the
 * wholesaler gives no `created_at` is stamped with `storedAt` when first stored, and keeps that stamp.
 */
export async function storeSegments(
  tx: Queryable,
  meetingId: number,
  segments: Segment[],
  opts: { replace: boolean; storedAt: string },
): Promise<void> {
  const { rows, keys, seqs } = distinctByKey(segments);
  if (rows.length === 0) {
    if (opts.replace) await tx.query("DELETE FROM transcriptions WHERE meeting_id = $1", [meetingId]);
    return;
  }
  const col = <T>(f: (s: Segment) => T) => rows.map(f);
  const params = [
    meetingId,
    col((s) => s.start),
    col((s) => s.end),
    col((s) => s.text),
    col((s) => s.speaker),
    col((s) => s.language),
    col((s) => (s.created_at ? naiveUtc(s.created_at) : null)),
    col((s) => s.absolute_start_time),
    col((s) => s.absolute_end_time),
    keys,
    seqs,
    opts.storedAt,
  ];
  // Finalization without a checkpoint (nothing stored yet) is a plain bulk insert: no conflict arbitration per
  // row, nothing to delete. Every caller holds the meeting's row lock, so no checkpoint can land meanwhile.
  if (opts.replace) {
    const stored = await tx.query("SELECT 1 FROM transcriptions WHERE meeting_id = $1 LIMIT 1", [meetingId]);
    if (stored.rows.length === 0) {
      await tx.query(`INSERT INTO transcriptions (${COLUMNS}) ${ROWS}`, params);
      return;
    }
  }
  // With `replace`, the rows whose keys are not in this set go in the same statement (one round trip, the keys
  // sent once). The DELETE sees only the rows that existed before the statement, and never one the INSERT
  // touches: the keys it removes are exactly those the INSERT does not carry.
  await tx.query(
    `WITH gone AS (DELETE FROM transcriptions WHERE $13::boolean AND meeting_id = $1 AND NOT (segment_key = ANY($10::text[])))
     INSERT INTO transcriptions (${COLUMNS}) ${ROWS}
     ON CONFLICT (meeting_id, segment_key) DO UPDATE SET start_time = EXCLUDED.start_time, end_time = EXCLUDED.end_time,
       text = EXCLUDED.text, speaker = EXCLUDED.speaker, language = EXCLUDED.language,
       -- Our own stamp (the wholesaler gave none) never replaces an earlier one.
       created_at = CASE WHEN EXCLUDED.created_at_text = $12 THEN COALESCE(transcriptions.created_at, EXCLUDED.created_at)
                         ELSE EXCLUDED.created_at END,
       created_at_text = CASE WHEN EXCLUDED.created_at_text = $12 THEN COALESCE(transcriptions.created_at_text, $12)
                              ELSE EXCLUDED.created_at_text END,
       absolute_end_time = EXCLUDED.absolute_end_time, seq = EXCLUDED.seq
     -- Rewriting an unchanged row costs a dead tuple and index work; finalizing over a checkpoint is mostly that.
     WHERE (transcriptions.start_time, transcriptions.end_time, transcriptions.text, transcriptions.speaker,
            transcriptions.language, transcriptions.created_at_text, transcriptions.absolute_end_time, transcriptions.seq)
       IS DISTINCT FROM (EXCLUDED.start_time, EXCLUDED.end_time, EXCLUDED.text, EXCLUDED.speaker, EXCLUDED.language,
            EXCLUDED.created_at_text, EXCLUDED.absolute_end_time, EXCLUDED.seq)`,
    [...params, opts.replace],
  );
}

/**
 * One row per segment key, in first-seen order, holding the last segment with that key at its position (`seqs`).
 * A transcript without repeated keys (the usual case) is used as it is, without copying.
 */
function distinctByKey(segments: Segment[]): { rows: Segment[]; keys: string[]; seqs: number[] } {
  const keys = segments.map(segmentKey);
  if (new Set(keys).size === keys.length) return { rows: segments, keys, seqs: keys.map((_k, i) => i) };
  const unique = new Map<string, { s: Segment; seq: number }>();
  for (const [i, s] of segments.entries()) unique.set(keys[i] as string, { s, seq: i });
  const entries = [...unique.entries()];
  return {
    rows: entries.map(([, v]) => v.s),
    keys: entries.map(([k]) => k),
    seqs: entries.map(([, v]) => v.seq),
  };
}

const COLUMNS = `meeting_id, start_time, end_time, text, speaker, language, created_at, created_at_text,
                 absolute_start_time, absolute_end_time, segment_key, seq`;

/** The segments as rows, unnested server-side from one array per column ($1 meeting, $2–$11 columns, $12 stamp). */
const ROWS = `
  SELECT $1, t.start_time, t.end_time, t.text, t.speaker, t.language, t.created_at_text::timestamp, t.created_at_text,
         t.abs_start, t.abs_end, t.segment_key, t.seq
    FROM (SELECT u.start_time, u.end_time, u.text, u.speaker, u.language, COALESCE(u.created_at_text, $12) AS created_at_text,
                 u.abs_start, u.abs_end, u.segment_key, u.seq
            FROM unnest($2::float8[], $3::float8[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                        $10::text[], $11::int[])
              AS u(start_time, end_time, text, speaker, language, created_at_text, abs_start, abs_end, segment_key, seq)) t`;

export async function readSegments(db: Queryable, meetingId: number): Promise<Segment[]> {
  const res = await db.query<{
    start_time: number;
    end_time: number;
    text: string;
    language: string | null;
    created_at_text: string | null;
    speaker: string | null;
    absolute_start_time: string | null;
    absolute_end_time: string | null;
  }>(
    `SELECT start_time, end_time, text, language, created_at_text, speaker, absolute_start_time, absolute_end_time
       FROM transcriptions WHERE meeting_id = $1 ORDER BY seq, start_time, id`,
    [meetingId],
  );
  return res.rows.map((r) => ({
    start: r.start_time,
    end: r.end_time,
    text: r.text,
    language: r.language,
    created_at: r.created_at_text,
    speaker: r.speaker,
    absolute_start_time: r.absolute_start_time,
    absolute_end_time: r.absolute_end_time,
  }));
}

/** Vexa's post-meeting aggregation: sorted distinct non-empty speakers and languages. */
export async function aggregateParticipants(
  db: Queryable,
  meetingId: number,
): Promise<{ participants: string[]; languages: string[] }> {
  const res = await db.query<{ participants: string[] | null; languages: string[] | null }>(
    `SELECT array(SELECT v FROM (SELECT DISTINCT speaker AS v FROM transcriptions WHERE meeting_id = $1 AND coalesce(speaker, '') <> '') d
                  ORDER BY v COLLATE "C") AS participants,
            array(SELECT v FROM (SELECT DISTINCT language AS v FROM transcriptions WHERE meeting_id = $1 AND coalesce(language, '') <> '') d
                  ORDER BY v COLLATE "C") AS languages`,
    [meetingId],
  );
  return { participants: res.rows[0]?.participants ?? [], languages: res.rows[0]?.languages ?? [] };
}
