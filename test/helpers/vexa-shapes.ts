/** Vexa's key orders (baseline §2.4): clients and byte-level comparisons see exactly these. */
export const MEETING_KEYS = [
  "id",
  "user_id",
  "platform",
  "native_meeting_id",
  "constructed_meeting_url",
  "status",
  "bot_container_id",
  "start_time",
  "end_time",
  "data",
  "created_at",
  "updated_at",
];

export const SEGMENT_KEYS = [
  "start",
  "end",
  "text",
  "language",
  "created_at",
  "speaker",
  "absolute_start_time",
  "absolute_end_time",
];

/** Current Vexa (core/ meeting-api `_meeting_response`): the completion fields are hoisted before `data`. */
export const CURRENT_MEETING_KEYS = [
  ...MEETING_KEYS.slice(0, MEETING_KEYS.indexOf("data")),
  "completion_reason",
  "failure_stage",
  "data",
  "created_at",
  "updated_at",
];

/** Current Vexa's TranscriptionResponse: the baseline's keys with recordings, notes and data before segments. */
export const CURRENT_TRANSCRIPT_KEYS = [
  ...["id", "platform", "native_meeting_id", "constructed_meeting_url", "status", "start_time", "end_time"],
  ...["recordings", "notes", "data", "segments"],
];
