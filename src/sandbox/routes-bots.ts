import type { FastifyInstance } from "fastify";
import { SandboxHttpError } from "./errors.js";
import { requireKey } from "./http.js";
import type { SandboxState } from "./state.js";
import type { TweakControl } from "./tweaks.js";
import { checkPathPlatform, parseConfigUpdate, parseMeetingCreate } from "./validate.js";
import { botStatusView, meetingView } from "./views.js";

export interface RouteContext {
  state: SandboxState;
  apiKey: string;
  now: () => number;
  tweaks: TweakControl;
}

type MeetingParams = { Params: { platform: string; native_meeting_id: string } };

/** bot-manager's routes (baseline §3.2–3.5). */
export function registerBotRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { state } = ctx;

  app.post("/bots", async (request, reply) => {
    requireKey(request, ctx.apiKey, "bots");
    const input = parseMeetingCreate(request.body);
    const m = state.requestBot(input);
    return reply.code(201).send(meetingView(m, state.user.id));
  });

  app.delete<MeetingParams>("/bots/:platform/:native_meeting_id", async (request, reply) => {
    const platform = checkPathPlatform(request.params.platform);
    requireKey(request, ctx.apiKey, "bots");
    state.stopBot(platform, request.params.native_meeting_id);
    return reply.code(202).send({ message: "Stop request accepted and is being processed." });
  });

  app.put<MeetingParams>("/bots/:platform/:native_meeting_id/config", async (request, reply) => {
    const platform = checkPathPlatform(request.params.platform);
    requireKey(request, ctx.apiKey, "bots");
    parseConfigUpdate(request.body);
    const nativeId = request.params.native_meeting_id;
    if (!state.latest(platform, nativeId, "active")) {
      const any = state.latest(platform, nativeId);
      if (any) {
        throw new SandboxHttpError(
          409,
          `Meeting found but is not active (status: '${any.status}'). Cannot reconfigure.`,
        );
      }
      throw new SandboxHttpError(
        404,
        `No active meeting found for platform ${platform} and meeting ID ${nativeId}.`,
      );
    }
    return reply.code(202).send({ message: "Reconfiguration request accepted and sent to the bot." });
  });

  app.get("/bots/status", async (request) => {
    requireKey(request, ctx.apiKey, "bots");
    // Docker lists the newest container first.
    const running = state.liveBots().reverse();
    return { running_bots: running.map((m) => botStatusView(m, state.user.id, ctx.now())) };
  });
}
