import type { Platform } from "../../errors.js";
import { toBotRequest } from "../../services/bot-request.js";
import * as bots from "../../services/bots.js";
import type { App } from "../app.js";
import { principal, requireUser } from "../auth.js";
import type { AppDeps } from "../deps.js";
import { errorResponses, MeetingParams, MessageBody } from "../schemas/common.js";
import { BotConfigBody, BotStatusListSchema, CreateBotBody, MeetingSchema } from "../schemas/meetings.js";

const common = { tags: ["bots"], security: [{ ApiKeyAuth: [] }] };

export function registerBotRoutes(app: App, deps: AppDeps): void {
  const { botsCtx } = deps;
  const preValidation = requireUser(deps.ctx, "bots");

  app.post(
    "/bots",
    {
      preValidation,
      schema: {
        ...common,
        summary: "Send a bot to a meeting",
        description:
          "If another user's bot is already in this meeting, you share it: no second bot joins, and you get your own view of it.",
        body: CreateBotBody,
        response: { 201: MeetingSchema, ...errorResponses(403, 409, 422, 503) },
      },
    },
    async (request, reply) => {
      const view = await bots.requestBot(botsCtx, principal(request).id, toBotRequest(request.body));
      return reply.code(201).send(view);
    },
  );

  app.delete(
    "/bots/:platform/:native_meeting_id",
    {
      preValidation,
      schema: {
        ...common,
        summary: "Stop your bot",
        params: MeetingParams,
        response: { 202: MessageBody, ...errorResponses(403, 404, 422) },
      },
    },
    async (request, reply) => {
      const { platform, native_meeting_id } = request.params;
      const message = await bots.stopBot(
        botsCtx,
        principal(request).id,
        platform as Platform,
        native_meeting_id,
      );
      return reply.code(202).send({ message });
    },
  );

  app.put(
    "/bots/:platform/:native_meeting_id/config",
    {
      preValidation,
      schema: {
        ...common,
        summary: "Change the bot's language or task",
        params: MeetingParams,
        body: BotConfigBody,
        response: { 202: MessageBody, ...errorResponses(400, 403, 404, 409, 422, 503) },
      },
    },
    async (request, reply) => {
      const { platform, native_meeting_id } = request.params;
      const message = await bots.reconfigureBot(
        botsCtx,
        principal(request).id,
        platform as Platform,
        native_meeting_id,
        request.body ?? {},
      );
      return reply.code(202).send({ message });
    },
  );

  app.get(
    "/bots/status",
    {
      preValidation,
      schema: {
        ...common,
        summary: "Your running bots",
        response: { 200: BotStatusListSchema, ...errorResponses(403) },
      },
    },
    async (request) => ({ running_bots: await bots.runningBots(botsCtx, principal(request).id) }),
  );
}
