import type { FastifyInstance } from "fastify";
import { SandboxHttpError } from "./errors.js";
import { requireKey } from "./http.js";
import type { RouteContext } from "./routes-bots.js";
import { checkPathPlatform, parseMeetingUpdate, parseWebhookUpdate } from "./validate.js";
import { meetingView, transcriptView, userView } from "./views.js";

type MeetingParams = { Params: { platform: string; native_meeting_id: string } };

const notFound = (platform: string, nativeId: string) =>
  new SandboxHttpError(404, `Meeting not found for platform ${platform} and ID ${nativeId}`);

/** transcription-collector's and admin-api's user routes (baseline §3.6–3.10), plus the gateway root. */
export function registerMeetingRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { state } = ctx;

  app.get("/", async () => ({ message: "Welcome to the Vexa API Gateway" }));

  app.get("/meetings", async (request) => {
    requireKey(request, ctx.apiKey, "collector");
    const newestFirst = [...state.all()].reverse();
    return { meetings: newestFirst.map((m) => meetingView(m, state.user.id)) };
  });

  app.get<MeetingParams>("/transcripts/:platform/:native_meeting_id", async (request) => {
    const platform = checkPathPlatform(request.params.platform);
    requireKey(request, ctx.apiKey, "collector");
    const m = state.latest(platform, request.params.native_meeting_id);
    if (!m) throw notFound(platform, request.params.native_meeting_id);
    return transcriptView(m, state.nowUs(), ctx.tweaks.get());
  });

  app.patch<MeetingParams>("/meetings/:platform/:native_meeting_id", async (request) => {
    const platform = checkPathPlatform(request.params.platform);
    requireKey(request, ctx.apiKey, "collector");
    const update = parseMeetingUpdate(request.body);
    const m = state.latest(platform, request.params.native_meeting_id);
    if (!m) throw notFound(platform, request.params.native_meeting_id);
    const provided = Object.entries(update).filter(([, v]) => v !== null && v !== undefined);
    if (provided.length === 0) throw new SandboxHttpError(400, "No data provided for update.");
    for (const [k, v] of provided) m.data[k] = v;
    m.updatedUs = state.stamp();
    return meetingView(m, state.user.id);
  });

  app.delete<MeetingParams>("/meetings/:platform/:native_meeting_id", async (request) => {
    const platform = checkPathPlatform(request.params.platform);
    requireKey(request, ctx.apiKey, "collector");
    const nativeId = request.params.native_meeting_id;
    const m = state.latest(platform, nativeId);
    if (!m) throw notFound(platform, nativeId);
    // A hard delete; a bot still running has nothing left to report to, so its end (and webhook) never comes.
    state.remove(m);
    return { message: `Meeting ${platform}/${nativeId} and all its transcripts have been deleted` };
  });

  app.put("/user/webhook", async (request) => {
    requireKey(request, ctx.apiKey, "admin");
    const body = parseWebhookUpdate(request.body);
    state.user.data.webhook_url = body.webhook_url;
    if (body.webhook_secret !== undefined) state.webhookSecret = body.webhook_secret ?? undefined;
    return userView(state.user);
  });
}
