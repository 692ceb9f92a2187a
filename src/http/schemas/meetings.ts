import { Type } from "@sinclair/typebox";
import { JsonObject, Nullable, PlatformSchema, Timestamp } from "./common.js";

export const MeetingSchema = Type.Object(
  {
    id: Type.Integer(),
    user_id: Type.Integer(),
    platform: Type.String(),
    native_meeting_id: Nullable(Type.String()),
    constructed_meeting_url: Nullable(Type.String()),
    status: Type.String({ examples: ["active"] }),
    bot_container_id: Nullable(Type.String()),
    start_time: Nullable(Timestamp),
    end_time: Nullable(Timestamp),
    data: JsonObject,
    created_at: Nullable(Timestamp),
    updated_at: Nullable(Timestamp),
  },
  { $id: "MeetingResponse" },
);

const MEETING_EXAMPLE = {
  id: 2,
  user_id: 1,
  platform: "google_meet",
  native_meeting_id: "xdy-txjo-fyh",
  constructed_meeting_url: "https://meet.google.com/xdy-txjo-fyh",
  status: "completed",
  bot_container_id: "aed61e62fda8",
  start_time: "2025-06-08T17:11:32.049728",
  end_time: "2025-06-08T17:20:05.113907",
  data: { languages: ["en"], participants: ["Ada Lovelace"] },
  created_at: "2025-06-08T17:11:31.794491",
  updated_at: "2025-06-08T17:20:06.002113",
};

export const MeetingListSchema = Type.Object(
  { meetings: Type.Array(Type.Ref("MeetingResponse")) },
  { examples: [{ meetings: [MEETING_EXAMPLE] }] },
);

// Current Vexa (FastAPI Query(ge=1, le=100) / Query(ge=0)); status and platform are matched as given.
export const MeetingListQuery = Type.Object({
  status: Type.Optional(Type.String({ examples: ["completed"] })),
  platform: Type.Optional(Type.String({ examples: ["google_meet"] })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647 })),
});

export const MeetingIdParams = Type.Object({
  meeting_id: Type.Integer({ minimum: -2147483648, maximum: 2147483647, examples: [2] }),
});

export const UpdateMeetingBody = Type.Object(
  {
    data: Type.Object(
      {
        name: Type.Optional(Nullable(Type.String())),
        participants: Type.Optional(Nullable(Type.Array(Type.String()))),
        languages: Type.Optional(Nullable(Type.Array(Type.String()))),
        notes: Type.Optional(Nullable(Type.String())),
      },
      { additionalProperties: true },
    ),
  },
  {
    additionalProperties: true,
    examples: [{ data: { name: "Weekly sync", notes: "decisions in the doc" } }],
  },
);

// A type list, not a union: with coercion on, a union's null branch would turn `false` into null.
const BoolOrNull = Type.Unsafe<boolean | null>({ type: ["boolean", "null"] });

// platform and native_meeting_id are required unless meeting_url is given (checked in services/bot-request.ts,
// with the baseline's own 422 items when they are missing).
export const CreateBotBody = Type.Object(
  {
    platform: Type.Optional(PlatformSchema),
    native_meeting_id: Type.Optional(
      Type.String({ minLength: 1, maxLength: 255, examples: ["abc-defg-hij"] }),
    ),
    bot_name: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
    language: Type.Optional(Nullable(Type.String({ maxLength: 32 }))),
    task: Type.Optional(Nullable(Type.String({ maxLength: 32 }))),
    meeting_url: Type.Optional(
      Nullable(
        Type.String({ maxLength: 2048, description: "current Vexa: the link; platform and id are derived" }),
      ),
    ),
    passcode: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
    recording_enabled: Type.Optional(BoolOrNull),
    transcribe_enabled: Type.Optional(BoolOrNull),
    transcription_tier: Type.Optional(Nullable(Type.String({ maxLength: 32 }))),
    automatic_leave: Type.Optional(Nullable(Type.Record(Type.String(), Type.Any()))),
  },
  {
    additionalProperties: true,
    examples: [
      { platform: "google_meet", native_meeting_id: "abc-defg-hij" },
      { meeting_url: "https://zoom.us/j/1234567890?pwd=abc" },
    ],
  },
);

export const BotConfigBody = Type.Object(
  {
    language: Type.Optional(Nullable(Type.String({ maxLength: 32 }))),
    task: Type.Optional(Nullable(Type.String({ maxLength: 32 }))),
  },
  { additionalProperties: true, examples: [{ language: "es" }] },
);

export const BotStatusSchema = Type.Object({
  container_id: Nullable(Type.String()),
  container_name: Nullable(Type.String()),
  platform: Nullable(Type.String()),
  native_meeting_id: Nullable(Type.String()),
  status: Nullable(Type.String()),
  created_at: Nullable(Type.String()),
  labels: Nullable(Type.Record(Type.String(), Type.String())),
  meeting_id_from_name: Nullable(Type.String()),
});

export const BotStatusListSchema = Type.Object(
  { running_bots: Type.Array(BotStatusSchema) },
  {
    examples: [
      {
        running_bots: [
          {
            container_id: "aed61e62fda8",
            container_name: "vexa-bot-2-1a2b3c4d",
            platform: "google_meet",
            native_meeting_id: "xdy-txjo-fyh",
            status: "Up 3 minutes",
            created_at: "2025-06-08T17:11:31+00:00",
            labels: { "vexa.user_id": "1" },
            meeting_id_from_name: "2",
          },
        ],
      },
    ],
  },
);

export const SegmentSchema = Type.Object({
  start: Type.Number(),
  end: Type.Number(),
  text: Type.String(),
  language: Nullable(Type.String()),
  created_at: Nullable(Type.String()),
  speaker: Nullable(Type.String()),
  absolute_start_time: Nullable(Type.String()),
  absolute_end_time: Nullable(Type.String()),
});

export const TranscriptSchema = Type.Object({
  id: Type.Integer(),
  platform: Type.String(),
  native_meeting_id: Nullable(Type.String()),
  constructed_meeting_url: Nullable(Type.String()),
  status: Type.String(),
  start_time: Nullable(Timestamp),
  end_time: Nullable(Timestamp),
  segments: Type.Array(SegmentSchema),
});
