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
