import type { FastifyInstance, FastifyRequest } from "fastify";
import { SandboxHttpError } from "./errors.js";
import type { CurrentState } from "./state-current.js";
import type { TweakControl } from "./tweaks.js";
import { parseWebhookUpdate } from "./validate.js";
import {
  checkPlannedPatch,
  checkStopPlatform,
  parseMeetingCreateCurrent,
  requireScope,
} from "./validate-current.js";
import { listRowView, meetingRowView, transcriptViewCurrent } from "./views-current.js";
import { LIVE_STATUSES, userView } from "./views.js";

export interface CurrentContext {
  state: CurrentState;
  apiKey: string;
  tweaks: TweakControl;
}

type MeetingParams = { Params: { platform: string; native_meeting_id: string } };
type ListQuery = { Querystring: { limit?: string; offset?: string } };

const BOT = ["bot"];
const TX = ["tx"];
const DEFAULT_SCOPES = ["bot", "tx"];

const notFound = (platform: string, nativeId: string) =>
  new SandboxHttpError(404, `Meeting not found for platform ${platform} and ID ${nativeId}`);

/** Current Vexa's gateway + meeting-api routes (core/, api.v1), behind the gateway's scoped keys. */
export function registerCurrentRoutes(app: FastifyInstance, ctx: CurrentContext): void {
  const { state } = ctx;
  const auth = (request: FastifyRequest, anyOf: string[]) =>
    requireScope(request, ctx.apiKey, ctx.tweaks.get().scopes ?? DEFAULT_SCOPES, anyOf);
  const userId = () => state.user.id;

  app.get("/", async () => ({ message: "Welcome to the Vexa API Gateway" }));

  app.get("/auth/me", async (request) => {
    auth(request, []);
    return {
      user_id: userId(),
      email: state.user.email,
      scopes: ctx.tweaks.get().scopes ?? DEFAULT_SCOPES,
      max_concurrent: state.user.max_concurrent_bots,
    };
  });

  app.post("/bots", async (request, reply) => {
    auth(request, BOT);
    const m = state.requestBot(parseMeetingCreateCurrent(request.body));
    return reply.code(201).send(meetingRowView(m, userId()));
  });

  app.delete<MeetingParams>("/bots/:platform/:native_meeting_id", async (request) => {
    auth(request, BOT);
    checkStopPlatform(request.params.platform);
    return state.stopRoom(request.params.platform, request.params.native_meeting_id);
  });

  // The gateway still forwards PUT .../config, but meeting-api has no such route: FastAPI's own 404.
  app.put("/bots/:platform/:native_meeting_id/config", async (request) => {
    auth(request, BOT);
    throw new SandboxHttpError(404, "Not Found");
  });

  app.get("/bots/status", async (request) => {
    auth(request, BOT);
    const running = [...state.all()]
      .reverse()
      .filter((m) => LIVE_STATUSES.has(m.status))
      .map((m) => listRowView(m, userId()));
    return { running, running_bots: running, count: running.length };
  });

  app.get<ListQuery>("/meetings", async (request) => {
    auth(request, TX);
    const limit = bounded(request.query.limit, 1, 100, 50, "limit");
    const offset = bounded(request.query.offset, 0, Number.MAX_SAFE_INTEGER, 0, "offset");
    const page = [...state.all()].reverse().slice(offset, offset + limit);
    return { meetings: page.map((m) => listRowView(m, userId())) };
  });

  app.get<MeetingParams>("/transcripts/:platform/:native_meeting_id", async (request) => {
    auth(request, TX);
    const { platform, native_meeting_id: nativeId } = request.params;
    const m = state.latest(platform, nativeId);
    if (!m || m.transcriptDeleted) throw notFound(platform, nativeId);
    return transcriptViewCurrent(m, state.nowUs(), ctx.tweaks.get());
  });

  app.patch<MeetingParams>("/meetings/:platform/:native_meeting_id", async (request) => {
    auth(request, TX);
    const { platform, native_meeting_id: nativeId } = request.params;
    if (!state.latest(platform, nativeId)) throw notFound(platform, nativeId);
    checkPlannedPatch(request.body);
  });

  app.delete<MeetingParams>("/meetings/:platform/:native_meeting_id", async (request) => {
    auth(request, TX);
    return state.deleteArtifacts(request.params.platform, request.params.native_meeting_id);
  });

  app.put("/user/webhook", async (request) => {
    auth(request, ["bot", "tx"]);
    const body = parseWebhookUpdate(request.body);
    state.user.data.webhook_url = body.webhook_url;
    if (body.webhook_secret) state.webhookSecret = body.webhook_secret;
    const events = (request.body as { webhook_events?: unknown }).webhook_events;
    if (events && typeof events === "object" && !Array.isArray(events))
      state.user.data.webhook_events = events;
    return userView(state.user);
  });
}

/** FastAPI's `Query(ge=, le=)`, answered as pydantic v2 would with a plain string detail kept short. */
function bounded(raw: string | undefined, min: number, max: number, dflt: number, name: string): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new SandboxHttpError(422, [
      { type: "int_parsing", loc: ["query", name], msg: `Input should be between ${min} and ${max}` },
    ]);
  }
  return n;
}
