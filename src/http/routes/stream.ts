import { Type } from "@sinclair/typebox";
import type { ServerResponse } from "node:http";
import type { Platform } from "../../errors.js";
import { notFound } from "../../errors.js";
import type { LiveHub, Sink } from "../../live/hub.js";
import { cachedUserMeeting } from "../../services/meeting-views.js";
import type { App } from "../app.js";
import { principal, requireUser } from "../auth.js";
import type { AppDeps } from "../deps.js";
import { errorResponses, MeetingParams } from "../schemas/common.js";

/** A comment line often enough that idle streams outlive SOCKET_IDLE_TIMEOUT_MS and proxies' read timeouts. */
const HEARTBEAT_MS = 25_000;

/**
 * Our addition: the `/ws` messages of one meeting as Server-Sent Events, for clients that cannot hold a WebSocket
 * (each message one `data:` line). The key may come as `?api_key=` too, since `EventSource` cannot set headers.
 */
export function registerStreamRoute(app: App, deps: AppDeps, hub: LiveHub): void {
  const open = new Set<ServerResponse>();
  // Open streams would hold a graceful close forever: end them first (clients reconnect elsewhere).
  app.addHook("preClose", async () => {
    for (const res of open) res.end();
  });
  app.get(
    "/transcripts/:platform/:native_meeting_id/stream",
    {
      preValidation: requireUser(deps.ctx, "collector"),
      config: { queryApiKey: true },
      schema: {
        tags: ["transcripts"],
        security: [{ ApiKeyAuth: [] }],
        summary: "Your meeting's live transcript and status as Server-Sent Events (the /ws messages)",
        description:
          "`text/event-stream`: first the status and a snapshot, then new and revised segments, status changes and the end, each a ws.v1 message on one `data:` line. Not in Vexa.",
        params: MeetingParams,
        querystring: Type.Object({ api_key: Type.Optional(Type.String()) }),
        response: {
          200: Type.String({ description: "text/event-stream of ws.v1 messages" }),
          ...errorResponses(403, 404, 422),
        },
      },
    },
    async (request, reply) => {
      const { platform, native_meeting_id: nativeId } = request.params;
      const user = principal(request);
      const row = await cachedUserMeeting(deps.ctx, user.id, platform as Platform, nativeId);
      if (!row) throw notFound(`Meeting not found for platform ${platform} and ID ${nativeId}`);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
        "x-request-id": request.id,
      });
      res.write(": ws.v1 messages follow\n\n");
      const sink: Sink = {
        userId: user.id,
        send: (text) => void res.write(`data: ${text}\n\n`),
        buffered: () => res.writableLength,
        close: (code, reason) => {
          res.write(`event: close\ndata: ${JSON.stringify({ code, reason })}\n\n`);
          res.end();
        },
      };
      open.add(res);
      const beat = setInterval(() => res.write(": keep-alive\n\n"), HEARTBEAT_MS);
      beat.unref();
      res.on("close", () => {
        open.delete(res);
        clearInterval(beat);
        hub.drop(sink);
      });
      await hub.subscribe(sink, row);
    },
  );
}
