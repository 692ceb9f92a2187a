import { timingSafeEqual } from "node:crypto";
import websocket from "@fastify/websocket";
import type { FastifyInstance } from "fastify";
import type { WebSocket } from "ws";
import type { CurrentState } from "./state-current.js";
import type { TweakControl } from "./tweaks.js";
import { transcriptViewCurrent } from "./views-current.js";

const POLL_MS = 250;

/**
 * Current Vexa's `/ws` (ws.v1), as its gateway serves it: the key as `x-api-key` or `?api_key=` (missing →
 * `missing_api_key`, wrong → `invalid_api_key`, both closing 4401), `subscribe`/`unsubscribe`/`ping`, and for each
 * subscribed meeting `transcript` bundles of new or changed segments and `meeting.status` on every change.
 */
export function registerCurrentWs(
  app: FastifyInstance,
  ctx: { state: CurrentState; apiKey: string; tweaks: TweakControl },
): void {
  // In its own plugin, loaded in order: the route must be added after @fastify/websocket is.
  app.register(async (scope) => {
    await scope.register(websocket);
    route(scope, ctx);
  });
}

function route(
  app: FastifyInstance,
  ctx: { state: CurrentState; apiKey: string; tweaks: TweakControl },
): void {
  app.get("/ws", { websocket: true }, (socket, request) => {
    const q = (request.query as Record<string, unknown>).api_key;
    const header = request.headers["x-api-key"];
    const key = (Array.isArray(header) ? header[0] : header) ?? (typeof q === "string" ? q : undefined);
    if (!key) return refuse(socket, "missing_api_key");
    const a = Buffer.from(key);
    const b = Buffer.from(ctx.apiKey);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return refuse(socket, "invalid_api_key");

    const subs = new Map<string, { sent: Map<string, string>; status: string | null }>();
    const send = (o: unknown) => socket.readyState === socket.OPEN && socket.send(JSON.stringify(o));
    const poll = setInterval(() => {
      for (const [k, sub] of subs) {
        const [platform = "", nativeId = ""] = k.split("\u0000");
        const m = ctx.state.latest(platform, nativeId);
        if (!m) continue;
        const view = transcriptViewCurrent(m, ctx.state.nowUs(), ctx.tweaks.get());
        const meeting = { id: m.id, platform, native_id: nativeId };
        const changed = view.segments.filter((s) => {
          const json = JSON.stringify(s);
          if (sub.sent.get(s.segment_id) === json) return false;
          sub.sent.set(s.segment_id, json);
          return true;
        });
        const ts = new Date().toISOString();
        if (changed.length > 0)
          send({
            type: "transcript",
            meeting,
            confirmed: changed.filter((s) => s.completed),
            pending: changed.filter((s) => !s.completed),
            ts,
          });
        if (m.status !== sub.status) {
          sub.status = m.status;
          send({
            type: "meeting.status",
            meeting,
            payload: { status: m.status },
            user_id: ctx.state.user.id,
            ts,
          });
        }
      }
    }, POLL_MS);
    socket.on("close", () => clearInterval(poll));
    socket.on("message", (data) => {
      let msg: unknown;
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return send({ type: "error", error: "invalid_json" });
      }
      if (!msg || typeof msg !== "object" || Array.isArray(msg))
        return send({ type: "error", error: "invalid_json" });
      const { action, meetings } = msg as { action?: unknown; meetings?: unknown };
      if (action === "ping") return send({ type: "pong" });
      if (action !== "subscribe" && action !== "unsubscribe")
        return send({ type: "error", error: "unknown_action" });
      const kind = `invalid_${action}_payload`;
      if (!Array.isArray(meetings) || (action === "subscribe" && meetings.length === 0))
        return send({ type: "error", error: kind, details: "'meetings' must be a non-empty list" });
      const refs = meetings.flatMap((m) => {
        const r = (m ?? {}) as { platform?: unknown; native_id?: unknown };
        return typeof r.platform === "string" && typeof r.native_id === "string"
          ? [{ platform: r.platform, native_id: r.native_id }]
          : [];
      });
      if (action === "unsubscribe") {
        for (const r of refs) subs.delete(`${r.platform}\u0000${r.native_id}`);
        return send({ type: "unsubscribed", meetings: refs });
      }
      const known = refs.filter((r) => ctx.state.latest(r.platform, r.native_id));
      for (const r of known) subs.set(`${r.platform}\u0000${r.native_id}`, { sent: new Map(), status: null });
      send({ type: "subscribed", meetings: known });
    });
  });
}

function refuse(socket: WebSocket, error: string): void {
  socket.send(JSON.stringify({ type: "error", error }));
  socket.close(4401);
}
