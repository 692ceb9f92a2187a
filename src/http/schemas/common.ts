import { type TSchema, Type } from "@sinclair/typebox";
import { type Platform, PLATFORMS } from "../../errors.js";

// Null first: with type coercion on, AJV would otherwise turn a JSON null into "" in the string branch.
export const Nullable = <T extends TSchema>(t: T) => Type.Union([Type.Null(), t]);
export const Timestamp = Type.String({
  description: "naive UTC ISO-8601, as Vexa prints it",
  examples: ["2025-06-08T17:11:32.049728"],
});

// A plain `enum` (not a union of consts) so AJV reports it the way pydantic's enum error reads.
export const PlatformSchema = Type.Unsafe<Platform>({
  type: "string",
  enum: [...PLATFORMS],
  description: "meeting platform",
});

export const MeetingParams = Type.Object({
  platform: Type.String({ description: "google_meet, zoom or teams", examples: ["google_meet"] }),
  native_meeting_id: Type.String({
    description: "the platform's own meeting id",
    examples: ["abc-defg-hij"],
  }),
});

export const ErrorBody = Type.Object(
  { detail: Type.Any({ description: "a message, or for 422 a list of {loc, msg, type}" }) },
  { additionalProperties: true, $id: "ErrorBody" },
);

export const MessageBody = Type.Object({ message: Type.String() });

export const errorResponses = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, Type.Ref("ErrorBody")]));

export const JsonObject = Type.Record(Type.String(), Type.Any(), { examples: [{}] });
