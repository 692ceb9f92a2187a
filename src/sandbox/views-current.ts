import { createHash } from "node:crypto";
import { type Micros, naiveIso } from "./format.js";
import type { SegmentRecord } from "./transcript-gen.js";
import type { Tweaks } from "./tweaks.js";
import type { Meeting } from "./views.js";

/**
 * Current Vexa's JSON (core/meetings meeting-api, api.v1): `Z` timestamps with microseconds, meeting rows
 * with `completion_reason`/`failure_stage`, segments with `completed`/`segment_id`.
 */

/** Python's `isoformat()` of an aware UTC datetime with `+00:00` replaced by `Z` (meeting-api's `_iso_utc`). */
export const zIso = (us: Micros) => `${naiveIso(us)}Z`;
const zOrNull = (us: Micros | null) => (us === null ? null : zIso(us));
/** The bot is TypeScript: its live absolute times are `Date#toISOString()`, millisecond precision. */
const jsIso = (us: Micros) => new Date(Math.floor(us / 1000)).toISOString();

const URL_TEMPLATES: Record<string, (id: string) => string> = {
  google_meet: (id) => `https://meet.google.com/${id}`,
  teams: (id) => `https://teams.microsoft.com/l/meetup-join/${id}`,
};

export function constructedUrl(platform: string, nativeId: string): string | null {
  return URL_TEMPLATES[platform]?.(nativeId) ?? null;
}

/** `_meeting_response` (POST /bots): the row with its hoisted completion fields. */
export function meetingRowView(m: Meeting, userId: number) {
  // The owner's view: the webhook secret is kept apart in `m.hook`, never in `data` (SENSITIVE_OMIT_KEYS).
  const data = { ...m.data };
  return {
    id: m.id,
    user_id: userId,
    platform: m.platform,
    native_meeting_id: m.nativeId,
    constructed_meeting_url: (data.constructed_meeting_url as string | undefined) ?? null,
    status: m.status,
    bot_container_id: m.botContainerId,
    start_time: zOrNull(m.startUs),
    end_time: zOrNull(m.endUs),
    completion_reason: (data.completion_reason as string | undefined) ?? null,
    failure_stage: (data.failure_stage as string | undefined) ?? null,
    data,
    created_at: zIso(m.createdUs),
    updated_at: zIso(m.updatedUs),
  };
}

/** The list projection (GET /meetings, GET /bots/status): the row plus `shared`, key order of `list_meetings`. */
export function listRowView(m: Meeting, userId: number) {
  const { data, created_at, updated_at, ...rest } = meetingRowView(m, userId);
  return { ...rest, shared: false, created_at, updated_at, data };
}

/**
 * One segment as GET /transcripts prints it. Live (not yet flushed) segments carry the bot's own absolute
 * times; flushed ones come back from Postgres without them, so meeting-api recomputes them as the
 * meeting's start_time + relative start (`_fill_absolute_times`). Neither carries `created_at`.
 */
export function segmentView(r: SegmentRecord, flushed: boolean, m: Meeting, tweaks: Tweaks) {
  const { out } = r;
  const base = {
    start: out.start,
    end: out.end,
    text: out.text,
    language: out.language,
    speaker: out.speaker,
    completed: flushed || r.completed,
    segment_id: r.id,
  };
  if (tweaks.nullAbsoluteTimes) return base;
  if (!flushed) return { ...base, absolute_start_time: jsIso(r.startUs), absolute_end_time: jsIso(r.endUs) };
  const anchor = (m.startUs ?? m.createdUs) + (tweaks.finalTimeShiftMs ?? 0) * 1000;
  return {
    ...base,
    absolute_start_time: zIso(anchor + out.start * 1e6),
    absolute_end_time: zIso(anchor + out.end * 1e6),
  };
}

export function transcriptViewCurrent(m: Meeting, nowUs: Micros, tweaks: Tweaks) {
  const row = meetingRowView(m, 0);
  // At a terminal status the db-writer flushes everything still in Redis.
  const ended = m.endUs !== null;
  const segments = m.transcript
    .records(nowUs)
    .map((r) => segmentView(r, ended || r.immutable, m, tweaks))
    .sort((a, b) => a.start - b.start);
  return {
    id: m.id,
    platform: m.platform,
    native_meeting_id: m.nativeId,
    constructed_meeting_url: row.constructed_meeting_url,
    status: m.status,
    start_time: row.start_time,
    end_time: row.end_time,
    recordings: [],
    notes: null,
    data: row.data,
    segments,
  };
}

/** webhook.v1 `meeting.completed` / `bot.failed` envelope; `event_id` is stable per (session, event, status). */
export function envelopeCurrent(m: Meeting, userId: number, eventType: string, createdUs: Micros) {
  const row = meetingRowView(m, userId);
  const { webhook_url: _u, webhook_events: _e, ...data } = row.data as Record<string, unknown>;
  const meeting = {
    id: row.id,
    user_id: row.user_id,
    platform: row.platform,
    native_meeting_id: row.native_meeting_id,
    constructed_meeting_url: row.constructed_meeting_url,
    status: row.status,
    completion_reason: row.completion_reason,
    failure_stage: row.failure_stage,
    service_provenance: null,
    start_time: row.start_time,
    end_time: row.end_time,
    data,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
  const key = `${m.sessionUid}|${eventType}|${m.status}`;
  return {
    event_id: `evt_${createHash("sha256").update(key).digest("hex").slice(0, 32)}`,
    event_type: eventType,
    api_version: "2026-03-01",
    created_at: zIso(createdUs),
    data:
      eventType === "meeting.completed"
        ? { meeting }
        : { meeting, status_change: statusChange(m, createdUs) },
  };
}

function statusChange(m: Meeting, atUs: Micros) {
  return {
    from: (m.data.failure_stage as string | undefined) ?? null,
    to: m.status,
    reason: (m.data.completion_reason as string | undefined) ?? null,
    timestamp: zIso(atUs),
    transition_source: m.data.stop_requested ? "user_stop" : "bot_callback",
  };
}
