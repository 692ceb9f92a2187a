import websocket from "@fastify/websocket";
import { Type } from "@sinclair/typebox";
import type { WebSocket } from "ws";
import type { Platform } from "../../errors.js";
import type { LiveHub, Sink } from "../../live/hub.js";
import { CLOSE, control } from "../../live/messages.js";
import { createSession } from "../../live/session.js";
import { cachedUserMeeting } from "../../services/meeting-views.js";
import { verifyApiKey } from "../../services/users.js";
import { presentedUserKey } from "../api-key.js";
import type { App } from "../app.js";
import type { AppDeps } from "../deps.js";

/** Server pings keep an idle subscription's connection alive through SOCKET_IDLE_TIMEOUT_MS and find dead peers. */
const PING_MS = 25_000;

/**
 * `/ws`: Vexa's ws.v1 live multiplex. The key comes as `X-API-Key`, `Authorization: Bearer` or `?api_key=`; as at
 * Vexa the socket is accepted first and a missing or wrong key answered in-band (an `error` frame, then close 4401).
 */
export async function registerWsRoute(app: App, deps: AppDeps, hub: LiveHub): Promise<void> {
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  app.get(
    "/ws",
    {
      websocket: true,
      config: { queryApiKey: true },
      schema: {
        // OpenAPI 3.0 cannot describe a WebSocket (@fastify/swagger leaves it out anyway); the README does.
        hide: true,
        tags: ["live"],
        security: [{ ApiKeyAuth: [] }],
        summary: "Live transcripts and status over WebSocket (Vexa's ws.v1)",
        description:
          'Send `{"action":"subscribe","meetings":[{"platform":"google_meet","native_id":"abc-defg-hij"}]}`; see the README.',
        querystring: Type.Object({ api_key: Type.Optional(Type.String()) }),
      },
    },
    (socket, request) => {
      // Frames sent while the key is being checked are kept, not lost.
      const early: string[] = [];
      let receive = (raw: string): void => {
        early.push(raw);
      };
      socket.on("message", (data, isBinary) => receive(isBinary ? "\u0000" : data.toString()));
      void (async () => {
        if (request.refused) return reject(socket, "rate_limited", CLOSE.rateLimited, request.refused.detail);
        const key = presentedUserKey(request);
        if (!key) return reject(socket, "missing_api_key", CLOSE.unauthorized);
        let user: Awaited<ReturnType<typeof verifyApiKey>>;
        try {
          user = await verifyApiKey(deps.ctx, key);
        } catch {
          return reject(socket, "auth_unavailable", CLOSE.authUnavailable);
        }
        if (!user) {
          await request.authFailed?.();
          return reject(socket, "invalid_api_key", CLOSE.unauthorized);
        }
        const userId = user.id;
        const sink = socketSink(socket, userId);
        const session = createSession({
          sink,
          hub,
          find: (platform: Platform, nativeId: string) =>
            cachedUserMeeting(deps.ctx, userId, platform, nativeId),
        });
        const ping = setInterval(() => socket.ping(), PING_MS);
        ping.unref();
        socket.on("close", () => {
          clearInterval(ping);
          session.close();
        });
        receive = (raw) => session.receive(raw);
        for (const raw of early.splice(0)) session.receive(raw);
      })();
    },
  );
}

function reject(socket: WebSocket, error: string, code: number, detail?: string): void {
  if (socket.readyState === socket.OPEN) socket.send(control.error(error, detail ? { detail } : {}));
  socket.close(code);
}

function socketSink(socket: WebSocket, userId: number): Sink {
  return {
    userId,
    send: (text) => {
      if (socket.readyState === socket.OPEN) socket.send(text);
    },
    buffered: () => socket.bufferedAmount,
    close: (code, reason) => socket.close(code, reason),
  };
}
