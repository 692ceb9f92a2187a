import type { Segment } from "../meetings/transcript-store.js";
import type { UserMeetingRow } from "../services/meeting-views.js";

/**
 * Vexa's ws.v1 server messages (core/gateway/contracts/ws.v1): the `transcript` bundle (`confirmed`/`pending`
 * segment arrays) and `meeting.status` (status under `payload.status`). Built as strings: a message goes to many
 * subscribers, and each segment is serialised once however many bundles carry it.
 */
const parts = new WeakMap<Segment, string>();

/**
 * A segment's `segment_id` on the wire: its start relative to the meeting (Vexa keys segments by start). Not the
 * absolute time: current Vexa prints live segments with the bot's own clock and recomputes stored ones from the
 * meeting's start_time, so the same segment's absolute time moves when the meeting ends; its relative start does
 * not, and the final version then replaces the live one at the client instead of sitting beside it.
 */
export const liveSegmentId = (s: Segment): string => s.start.toFixed(3);

/** A segment as a bundle carries it: Vexa's segment keys, plus `segment_id` (what revisions replace) and `completed`. */
export function segmentJson(s: Segment): string {
  let json = parts.get(s);
  if (json === undefined) {
    json = JSON.stringify({ ...s, segment_id: liveSegmentId(s), completed: true });
    parts.set(s, json);
  }
  return json;
}

const meetingRef = (m: UserMeetingRow) =>
  JSON.stringify({ id: m.id, platform: m.platform, native_id: m.platform_specific_id });

export function transcriptMessage(m: UserMeetingRow, segments: Segment[], ts: string): string {
  return `{"type":"transcript","meeting":${meetingRef(m)},"confirmed":[${segments.map(segmentJson).join(",")}],"pending":[],"ts":${JSON.stringify(ts)}}`;
}

export function statusMessage(m: UserMeetingRow, ts: string): string {
  return `{"type":"meeting.status","meeting":${meetingRef(m)},"payload":{"status":${JSON.stringify(m.status)}},"user_id":${m.user_id},"ts":${JSON.stringify(ts)}}`;
}

/** Control frames: `subscribed`/`unsubscribed` acks, `pong`, and `error` with Vexa's fixed codes. */
export const control = {
  subscribed: (meetings: { platform: string; native_id: string }[]) =>
    JSON.stringify({ type: "subscribed", meetings }),
  unsubscribed: (meetings: { platform: string; native_id: string }[]) =>
    JSON.stringify({ type: "unsubscribed", meetings }),
  pong: () => '{"type":"pong"}',
  error: (error: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ type: "error", error, ...extra }),
};

/**
 * Close codes: Vexa's 4401 (no or bad key) and 4503 (auth unavailable); ours in the same scheme, 4429 for a rate
 * limit (HTTP 429), and 1013 for a consumer too slow to keep up.
 */
export const CLOSE = {
  unauthorized: 4401,
  authUnavailable: 4503,
  rateLimited: 4429,
  slowConsumer: 1013,
  goingAway: 1001,
} as const;
