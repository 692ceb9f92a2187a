import { Type } from "@sinclair/typebox";
import { requireAdmin } from "../auth.js";
import type { App } from "../app.js";
import type { AppDeps } from "../deps.js";
import * as users from "../../services/users.js";
import { meetingUserStats } from "../../services/meetings.js";
import { errorResponses } from "../schemas/common.js";
import {
  CreateUserBody,
  Pagination,
  TokenSchema,
  UpdateUserBody,
  UserDetailSchema,
  UserSchema,
} from "../schemas/users.js";
import { MeetingSchema } from "../schemas/meetings.js";

// Ids are Postgres integers: anything larger could never exist and must not reach the database as a 500.
const DbId = (examples: number[]) => Type.Integer({ minimum: -2147483648, maximum: 2147483647, examples });
const UserIdParams = Type.Object({ user_id: DbId([1]) });
const adminErrors = errorResponses(403, 404, 422, 500);

/** Vexa's admin API (baseline §4), served on the admin port and under /admin on the gateway. */
export function registerAdminRoutes(app: App, deps: AppDeps): void {
  const { ctx } = deps;
  const common = { tags: ["admin"], security: [{ AdminApiKeyAuth: [] }] };
  const preValidation = requireAdmin(deps.config.adminApiToken);

  app.post(
    "/admin/users",
    {
      preValidation,
      schema: {
        ...common,
        summary: "Find or create a user by email",
        body: CreateUserBody,
        response: { 200: UserSchema, 201: UserSchema, ...adminErrors },
      },
    },
    async (request, reply) => {
      const { user, created } = await users.createUser(ctx, request.body);
      return reply.code(created ? 201 : 200).send(user);
    },
  );

  app.get(
    "/admin/users",
    {
      preValidation,
      schema: {
        ...common,
        summary: "List users",
        querystring: Pagination,
        response: { 200: Type.Array(UserSchema), ...adminErrors },
      },
    },
    async (request) => users.listUsers(ctx, request.query),
  );

  app.get(
    "/admin/users/email/:user_email",
    {
      preValidation,
      schema: {
        ...common,
        summary: "Get a user by email",
        params: Type.Object({ user_email: Type.String() }),
        response: { 200: UserSchema, ...adminErrors },
      },
    },
    async (request) => users.getUserByEmail(ctx, request.params.user_email),
  );

  app.get(
    "/admin/users/:user_id",
    {
      preValidation,
      schema: {
        ...common,
        summary: "Get a user with their (masked) tokens",
        params: UserIdParams,
        response: { 200: UserDetailSchema, ...adminErrors },
      },
    },
    async (request) => users.getUserDetail(ctx, request.params.user_id),
  );

  app.patch(
    "/admin/users/:user_id",
    {
      preValidation,
      schema: {
        ...common,
        summary: "Update a user",
        params: UserIdParams,
        body: UpdateUserBody,
        response: { 200: UserSchema, ...errorResponses(400), ...adminErrors },
      },
    },
    async (request) => users.updateUser(ctx, request.params.user_id, request.body),
  );

  app.post(
    "/admin/users/:user_id/tokens",
    {
      preValidation,
      schema: {
        ...common,
        summary: "Create an API token (shown once)",
        params: UserIdParams,
        response: { 201: TokenSchema, ...adminErrors },
      },
    },
    async (request, reply) => reply.code(201).send(await users.createToken(ctx, request.params.user_id)),
  );

  app.delete(
    "/admin/tokens/:token_id",
    {
      preValidation,
      schema: {
        ...common,
        summary: "Revoke an API token",
        params: Type.Object({ token_id: DbId([1]) }),
        response: { 204: Type.Null(), ...adminErrors },
      },
    },
    async (request, reply) => {
      await users.deleteToken(ctx, request.params.token_id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/admin/stats/meetings-users",
    {
      preValidation,
      schema: {
        ...common,
        summary: "Every user's meetings, newest first",
        querystring: Pagination,
        response: {
          200: Type.Object({
            total: Type.Integer(),
            items: Type.Array(Type.Object({ ...MeetingSchema.properties, user: UserSchema })),
          }),
          ...adminErrors,
        },
      },
    },
    async (request) => meetingUserStats(ctx, request.query),
  );
}
