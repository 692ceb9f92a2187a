import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";

/**
 * Upstream (wholesaler) payloads, validated on receipt. Tolerant on purpose: extra properties are allowed and
 * kept, `status` is any string (`requested` after POST in newer Vexa, `active` in the baseline), nullable
 * fields accept null, timestamps stay the exact strings the wholesaler printed (naive in the baseline, `Z`
 * in current Vexa). Current Vexa's extra segment keys (`segment_id`, `completed`, ...) pass through.
 */

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const OptNullable = <T extends TSchema>(t: T) => Type.Optional(Nullable(t));

export const UpstreamMeeting = Type.Object({
  id: Type.Integer(),
  user_id: Type.Optional(Type.Integer()),
  platform: Type.String(),
  native_meeting_id: OptNullable(Type.String()),
  constructed_meeting_url: OptNullable(Type.String()),
  status: Type.String(),
  bot_container_id: OptNullable(Type.String()),
  start_time: OptNullable(Type.String()),
  end_time: OptNullable(Type.String()),
  data: OptNullable(Type.Record(Type.String(), Type.Unknown())),
  created_at: OptNullable(Type.String()),
  updated_at: OptNullable(Type.String()),
});
export type UpstreamMeeting = Static<typeof UpstreamMeeting>;

export const UpstreamSegment = Type.Object({
  start: Type.Number(),
  end: Type.Number(),
  text: Type.String(),
  language: OptNullable(Type.String()),
  created_at: OptNullable(Type.String()),
  speaker: OptNullable(Type.String()),
  absolute_start_time: OptNullable(Type.String()),
  absolute_end_time: OptNullable(Type.String()),
});
export type UpstreamSegment = Static<typeof UpstreamSegment>;

export const UpstreamTranscript = Type.Object({
  id: Type.Integer(),
  platform: Type.String(),
  native_meeting_id: OptNullable(Type.String()),
  constructed_meeting_url: OptNullable(Type.String()),
  status: Type.String(),
  start_time: OptNullable(Type.String()),
  end_time: OptNullable(Type.String()),
  segments: Type.Array(UpstreamSegment),
});
export type UpstreamTranscript = Static<typeof UpstreamTranscript>;

/**
 * A running bot. Baseline: a Docker container (`container_id`, `meeting_id_from_name`, status "Up 3 minutes").
 * Current Vexa: a meeting row (`id` or `meeting_id`, `bot_container_id`, `start_time`, `data`, status is the
 * meeting status). Read it through `botStatusFacts` (statuses.ts).
 */
export const UpstreamBotStatus = Type.Object({
  container_id: OptNullable(Type.String()),
  bot_container_id: OptNullable(Type.String()),
  id: OptNullable(Type.Integer()),
  meeting_id: OptNullable(Type.Union([Type.Integer(), Type.String()])),
  container_name: OptNullable(Type.String()),
  platform: OptNullable(Type.String()),
  native_meeting_id: OptNullable(Type.String()),
  status: OptNullable(Type.String()),
  normalized_status: OptNullable(Type.String()),
  created_at: OptNullable(Type.String()),
  labels: OptNullable(Type.Record(Type.String(), Type.Unknown())),
  meeting_id_from_name: OptNullable(Type.String()),
  start_time: OptNullable(Type.String()),
  data: OptNullable(Type.Record(Type.String(), Type.Unknown())),
});
export type UpstreamBotStatus = Static<typeof UpstreamBotStatus>;

/** Current Vexa sends the same list as `running_bots` and `running` (plus `count`). */
export const UpstreamBotStatusResponse = Type.Object({ running_bots: Type.Array(UpstreamBotStatus) });
export type UpstreamBotStatusResponse = Static<typeof UpstreamBotStatusResponse>;

export const UpstreamMeetingList = Type.Object({ meetings: Type.Array(UpstreamMeeting) });
export type UpstreamMeetingList = Static<typeof UpstreamMeetingList>;

/** `{"message": "..."}` answers (DELETE /bots 202, PUT /bots/.../config 202, DELETE /meetings 200). */
export const UpstreamMessage = Type.Object({ message: Type.String() });
export type UpstreamMessage = Static<typeof UpstreamMessage>;

/**
 * DELETE /bots: the baseline answers 202 `{"message"}`; current Vexa 200 `{"status":"stopping","meeting_id",
 * "native_meeting_id","also_stopped","cancelled"}`.
 */
export const UpstreamStopResponse = Type.Union([
  UpstreamMessage,
  Type.Object({
    status: Type.String(),
    meeting_id: OptNullable(Type.Integer()),
    native_meeting_id: OptNullable(Type.String()),
  }),
]);
export type UpstreamStopResponse = Static<typeof UpstreamStopResponse>;

/** Current Vexa's GET /auth/me: who our key is and what it may do. */
export const UpstreamIdentity = Type.Object({
  user_id: Type.Integer(),
  email: OptNullable(Type.String()),
  scopes: Type.Array(Type.String()),
  max_concurrent: OptNullable(Type.Integer()),
});
export type UpstreamIdentity = Static<typeof UpstreamIdentity>;

/** PUT /user/webhook answers a UserResponse; we only require an object. */
export const UpstreamAnyObject = Type.Record(Type.String(), Type.Unknown());

/** A compiled validator: `check` is the fast path, `errors` explains a failure (first few, for logs). */
export interface Validator<T> {
  check(value: unknown): value is T;
  errors(value: unknown, max?: number): { path: string; message: string }[];
}

export function compile<S extends TSchema>(schema: S): Validator<Static<S>> {
  const c = TypeCompiler.Compile(schema);
  return {
    check: (value): value is Static<S> => c.Check(value),
    errors(value, max = 3) {
      const out: { path: string; message: string }[] = [];
      for (const e of c.Errors(value)) {
        out.push({ path: e.path, message: e.message });
        if (out.length >= max) break;
      }
      return out;
    },
  };
}

export const validators = {
  meeting: compile(UpstreamMeeting),
  meetingList: compile(UpstreamMeetingList),
  transcript: compile(UpstreamTranscript),
  botStatus: compile(UpstreamBotStatusResponse),
  message: compile(UpstreamMessage),
  stop: compile(UpstreamStopResponse),
  identity: compile(UpstreamIdentity),
  anyObject: compile(UpstreamAnyObject),
};
