import {
  awareIso,
  constructMeetingUrl,
  humanDuration,
  jsonbOrder,
  type Micros,
  naiveIso,
  type Platform,
  secondsIso,
} from "./format.js";
import type { SegmentOut, SegmentRecord, Transcript } from "./transcript-gen.js";
import type { Tweaks } from "./tweaks.js";

/** JSON shapes the sandbox answers with, keys in the order Vexa's pydantic models print them (baseline §2.4). */

export type MeetingStatus =
  | "requested"
  | "joining"
  | "awaiting_admission"
  | "active"
  | "stopping"
  | "completed"
  | "failed"
  | "error";
/** The baseline's live statuses, plus current Vexa's `joining` and `awaiting_admission`. */
export const LIVE_STATUSES: ReadonlySet<MeetingStatus> = new Set([
  "requested",
  "joining",
  "awaiting_admission",
  "active",
  "stopping",
]);

/** Current mode: where this meeting's webhooks go, captured from the account when the bot was requested. */
export interface MeetingHook {
  url: string | undefined;
  secret: string | undefined;
  events: Record<string, unknown> | undefined;
}

export interface Meeting {
  id: number;
  platform: Platform;
  nativeId: string;
  status: MeetingStatus;
  botContainerId: string | null;
  containerName: string | null;
  containerCreatedMs: number;
  startUs: Micros | null;
  endUs: Micros | null;
  data: Record<string, unknown>;
  createdUs: Micros;
  updatedUs: Micros;
  sessionUid: string;
  botName: string;
  language: string | null;
  task: string | null;
  transcript: Transcript;
  timers: Set<unknown>;
  hook?: MeetingHook;
  /** Current mode: DELETE /meetings erased the transcript; the meeting stays listed. */
  transcriptDeleted?: boolean;
}

export interface SandboxUser {
  id: number;
  email: string;
  name: string | null;
  image_url: string | null;
  max_concurrent_bots: number;
  data: Record<string, unknown>;
  createdUs: Micros;
}

const iso = (us: Micros | null) => (us === null ? null : naiveIso(us));

export function meetingView(m: Meeting, userId: number) {
  return {
    id: m.id,
    user_id: userId,
    platform: m.platform,
    native_meeting_id: m.nativeId,
    constructed_meeting_url: constructMeetingUrl(m.platform, m.nativeId),
    status: m.status,
    bot_container_id: m.botContainerId,
    start_time: iso(m.startUs),
    end_time: iso(m.endUs),
    data: jsonbOrder(m.data),
    created_at: naiveIso(m.createdUs),
    updated_at: naiveIso(m.updatedUs),
  };
}

export function transcriptView(
  m: Meeting,
  nowUs: Micros,
  tweaks: Tweaks = {},
): {
  id: number;
  platform: Platform;
  native_meeting_id: string;
  constructed_meeting_url: string | null;
  status: string;
  start_time: string | null;
  end_time: string | null;
  segments: SegmentOut[];
} {
  return {
    id: m.id,
    platform: m.platform,
    native_meeting_id: m.nativeId,
    constructed_meeting_url: constructMeetingUrl(m.platform, m.nativeId),
    status: m.status,
    start_time: iso(m.startUs),
    end_time: iso(m.endUs),
    segments: tweaked(m, nowUs, tweaks),
  };
}

/** The segments with the tweaks applied; untouched (and uncopied) when there are none. */
function tweaked(m: Meeting, nowUs: Micros, tweaks: Tweaks): SegmentOut[] {
  const shiftUs = (tweaks.finalTimeShiftMs ?? 0) * 1000;
  if (!tweaks.nullAbsoluteTimes && shiftUs === 0) return m.transcript.segments(nowUs);
  return m.transcript.records(nowUs).map((r: SegmentRecord) => {
    if (tweaks.nullAbsoluteTimes) return { ...r.out, absolute_start_time: null, absolute_end_time: null };
    if (!r.immutable) return r.out;
    return {
      ...r.out,
      absolute_start_time: awareIso(r.startUs + shiftUs),
      absolute_end_time: awareIso(r.endUs + shiftUs),
    };
  });
}

export function botStatusView(m: Meeting, userId: number, nowMs: number) {
  return {
    container_id: m.botContainerId,
    container_name: m.containerName,
    platform: m.platform,
    native_meeting_id: m.nativeId,
    status: `Up ${humanDuration(nowMs - m.containerCreatedMs)}`,
    created_at: secondsIso(m.containerCreatedMs),
    labels: { "vexa.user_id": String(userId) },
    meeting_id_from_name: String(m.id),
  };
}

export function userView(u: SandboxUser) {
  return {
    email: u.email,
    name: u.name,
    image_url: u.image_url,
    max_concurrent_bots: u.max_concurrent_bots,
    data: jsonbOrder(u.data),
    id: u.id,
    created_at: naiveIso(u.createdUs),
  };
}

/** The newer Vexa webhook envelope around the flat meeting payload. */
export function envelopeView(eventId: string, createdUs: Micros, meeting: ReturnType<typeof meetingView>) {
  return {
    event_id: eventId,
    event_type: "meeting.completed",
    api_version: "2026-03-01",
    created_at: awareIso(createdUs),
    data: { meeting },
  };
}
