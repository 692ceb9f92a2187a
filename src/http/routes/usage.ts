import { Type } from "@sinclair/typebox";
import { resolvePeriod, usageReport, userUsage } from "../../services/usage.js";
import type { App } from "../app.js";
import { principal, requireAdmin, requireUser } from "../auth.js";
import type { AppDeps } from "../deps.js";
import { errorResponses } from "../schemas/common.js";

const Instant = (what: string, example: string) =>
  Type.Optional(
    Type.String({
      description: `${what}: an ISO 8601 date or date-time; without a zone it is UTC`,
      examples: [example],
    }),
  );

export const UsageQuery = Type.Object({
  from: Instant("Start of the period, inclusive (default: the start of the month before `to`)", "2025-06-01"),
  to: Instant("End of the period, exclusive (default: the start of next month)", "2025-07-01T00:00:00Z"),
});

const Period = {
  from: Type.String({
    description: "start of the period (UTC, inclusive)",
    examples: ["2025-06-01T00:00:00.000Z"],
  }),
  to: Type.String({
    description: "end of the period (UTC, exclusive)",
    examples: ["2025-07-01T00:00:00.000Z"],
  }),
};

const UsageRowSchema = Type.Object({
  user_id: Type.Integer({ examples: [7] }),
  email: Type.String({ examples: ["ada@example.com"] }),
  bot_minutes: Type.Number({
    description: "minutes this user held a bot in the period (two decimals)",
    examples: [93.5],
  }),
  meetings: Type.Integer({ description: "meetings whose held time overlaps the period", examples: [3] }),
});

export const UsageReportSchema = Type.Object({
  ...Period,
  users: Type.Array(UsageRowSchema, { description: "users with any bot time in the period, by id" }),
  total_bot_minutes: Type.Number({ examples: [93.5] }),
  wholesaler_bot_minutes: Type.Number({
    description:
      "minutes our upstream bots ran in the period, each shared bot once: what the wholesaler bills us, to set against total_bot_minutes",
    examples: [61.25],
  }),
});

export const MyUsageSchema = Type.Object({ ...Period, ...UsageRowSchema.properties });

const DESCRIPTION =
  "Bot-minutes count from the moment a user's bot was in the meeting (their POST /bots once the bot joined, or joining a shared bot) until they let go of it (DELETE /bots, DELETE /meetings on a live meeting) or the meeting ended, clipped to [from, to). A bot still held counts up to now; minutes of a meeting record deleted later stay counted.";

/** GET /admin/usage: every user's bot-minutes, for billing (admin port, and /admin on the gateway). */
export function registerAdminUsageRoutes(app: App, deps: AppDeps): void {
  app.get(
    "/admin/usage",
    {
      preValidation: requireAdmin(deps.config.adminApiToken),
      schema: {
        tags: ["admin"],
        security: [{ AdminApiKeyAuth: [] }],
        summary: "Bot-minutes per user for a period (billing)",
        description: DESCRIPTION,
        querystring: UsageQuery,
        response: { 200: UsageReportSchema, ...errorResponses(401, 403, 422) },
      },
    },
    async (request) => usageReport(deps.ctx, resolvePeriod(deps.ctx, request.query)),
  );
}

/** GET /usage: the caller's own bot-minutes. */
export function registerUserUsageRoutes(app: App, deps: AppDeps): void {
  app.get(
    "/usage",
    {
      preValidation: requireUser(deps.ctx, "bots"),
      schema: {
        tags: ["user"],
        security: [{ ApiKeyAuth: [] }],
        summary: "Your bot-minutes for a period",
        description: DESCRIPTION,
        querystring: UsageQuery,
        response: { 200: MyUsageSchema, ...errorResponses(403, 422) },
      },
    },
    async (request) => userUsage(deps.ctx, principal(request), resolvePeriod(deps.ctx, request.query)),
  );
}
