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

export const CreateBotBody = Type.Object(
  {
    platform: PlatformSchema,
    native_meeting_id: Type.String({ minLength: 1, maxLength: 255, examples: ["abc-defg-hij"] }),
    bot_name: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
    language: Type.Optional(Nullable(Type.String({ maxLength: 32 }))),
    task: Type.Optional(Nullable(Type.String({ maxLength: 32 }))),
  },
  { additionalProperties: true, examples: [{ platform: "google_meet", native_meeting_id: "abc-defg-hij" }] },
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
