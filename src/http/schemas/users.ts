import { Type } from "@sinclair/typebox";
import { JsonObject, Nullable, Timestamp } from "./common.js";

// Field order is Vexa's: clients and byte-level comparisons see the same key order.
export const UserSchema = Type.Object(
  {
    email: Type.String(),
    name: Nullable(Type.String()),
    image_url: Nullable(Type.String()),
    max_concurrent_bots: Type.Integer(),
    data: JsonObject,
    id: Type.Integer(),
    created_at: Nullable(Timestamp),
  },
  { $id: "UserResponse" },
);

export const TokenSchema = Type.Object(
  {
    user_id: Type.Integer(),
    id: Type.Integer(),
    token: Type.String({ description: "40 characters; shown in full only in the create response" }),
    created_at: Nullable(Timestamp),
  },
  { $id: "TokenResponse" },
);

export const UserDetailSchema = Type.Object({
  ...UserSchema.properties,
  api_tokens: Type.Array(Type.Ref("TokenResponse")),
});

export const CreateUserBody = Type.Object(
  {
    email: Type.String({ format: "email", maxLength: 255, examples: ["ada@example.com"] }),
    name: Type.Optional(Nullable(Type.String({ maxLength: 100 }))),
    image_url: Type.Optional(Nullable(Type.String())),
    max_concurrent_bots: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 1000 }))),
    data: Type.Optional(Nullable(JsonObject)),
  },
  { additionalProperties: true },
);

export const UpdateUserBody = Type.Object(
  {
    email: Type.Optional(Nullable(Type.String({ format: "email", maxLength: 255 }))),
    name: Type.Optional(Nullable(Type.String({ maxLength: 100 }))),
    image_url: Type.Optional(Nullable(Type.String())),
    max_concurrent_bots: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 1000 }))),
  },
  { additionalProperties: true },
);

export const Pagination = Type.Object({
  skip: Type.Integer({ default: 0, minimum: 0, maximum: 2147483647 }),
  limit: Type.Integer({ default: 100, minimum: 0, maximum: 1000 }),
});

export const WebhookBody = Type.Object(
  {
    webhook_url: Type.String({
      format: "uri",
      pattern: "^https?://",
      maxLength: 2083,
      examples: ["https://example.com/hooks/vexa"],
    }),
  },
  { additionalProperties: true },
);

export const WebhookUserSchema = Type.Object({
  ...UserSchema.properties,
  webhook_secret: Type.Optional(
    Type.String({ description: "signing secret; present only when it was just created or rotated" }),
  ),
});
