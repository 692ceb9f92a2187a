import { readFileSync } from "node:fs";
import type { AppKind } from "./app.js";

// package.json is two levels up from both src/http and dist/http (the image copies it beside dist/).
const VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/**
 * operationIds are what generated clients name their methods. Vexa's routes keep the names of Vexa's own handlers
 * (so a client generated from either API reads the same); routes without an entry get one from method and path.
 */
const OPERATION_IDS: Record<string, string> = {
  "GET /": "root",
  "POST /bots": "requestBot",
  "DELETE /bots/{platform}/{native_meeting_id}": "stopBot",
  "PUT /bots/{platform}/{native_meeting_id}/config": "updateBotConfig",
  "GET /bots/status": "getBotsStatus",
  "GET /meetings": "getMeetings",
  "GET /transcripts/{platform}/{native_meeting_id}": "getTranscript",
  "PATCH /meetings/{platform}/{native_meeting_id}": "updateMeetingData",
  "DELETE /meetings/{platform}/{native_meeting_id}": "deleteMeeting",
  "PUT /user/webhook": "setUserWebhook",
  "POST /user/webhook/secret": "rotateUserWebhookSecret",
  "GET /usage": "getUsage",
  "POST /admin/users": "createUser",
  "GET /admin/users": "listUsers",
  "GET /admin/users/email/{user_email}": "getUserByEmail",
  "GET /admin/users/{user_id}": "getUser",
  "PATCH /admin/users/{user_id}": "updateUser",
  "POST /admin/users/{user_id}/tokens": "createTokenForUser",
  "DELETE /admin/tokens/{token_id}": "deleteToken",
  "GET /admin/stats/meetings-users": "listMeetingsWithUsers",
  "GET /admin/usage": "getUsageByUser",
  "POST /webhooks/meeting-finished": "receiveMeetingFinished",
  "GET /health": "health",
  "GET /ready": "ready",
  "GET /metrics": "metrics",
};

/** What each status means on this API; a response schema's own `description` wins. */
const STATUS_DESCRIPTIONS: Record<string, string> = {
  "200": "Success",
  "201": "Created",
  "202": "Accepted; the work continues in the background",
  "204": "Done; no body",
  "400": "Malformed request (Vexa's `{detail}`)",
  "401": "Missing API key (Vexa's `{detail}` for this route)",
  "403": "Missing or invalid key, or over a limit (Vexa's `{detail}` for this route)",
  "404": "Not found, or not yours (Vexa's `{detail}`)",
  "409": "Conflicts with the meeting's current state (Vexa's `{detail}`)",
  "413": "Request body over 1 MB",
  "422": "Validation error: `detail` is a list of `{loc, msg, type}`, as pydantic prints it",
  "429": "Rate limit for this key reached; retry after `Retry-After` seconds",
  "500": "Server error (no internals are shown)",
  "503": "The wholesaler is unavailable or this instance is not ready; retry after `Retry-After` seconds",
};

export function openApiDocument(kind: AppKind) {
  return {
    openapi: "3.0.3",
    info:
      kind === "gateway"
        ? {
            title: "Vexa API Gateway",
            version: VERSION,
            description:
              "Vexa-compatible meeting-bot API served by the Vexa Retailer. User routes take `X-API-Key` (or `Authorization: Bearer <key>`); `/admin/*` takes `X-Admin-API-Key`.",
          }
        : {
            title: "Vexa Admin API",
            version: VERSION,
            description: "Users, API tokens, stats and usage (`X-Admin-API-Key`).",
          },
    components: {
      securitySchemes: {
        ApiKeyAuth: { type: "apiKey" as const, in: "header" as const, name: "X-API-Key" },
        AdminApiKeyAuth: { type: "apiKey" as const, in: "header" as const, name: "X-Admin-API-Key" },
      },
    },
  };
}

type RouteSchema = Record<string, unknown> & { response?: Record<string, unknown>; operationId?: string };

/**
 * @fastify/swagger's `transform`: documentation only (validation and serialisation keep the route's own schema).
 * Adds the operationId and a description to every response that has none.
 */
export function documentRoute({
  schema,
  url,
  route,
}: {
  schema: unknown;
  url: string;
  route: { method: string | string[] };
}) {
  const s = (schema ?? {}) as RouteSchema;
  const method = [route.method].flat()[0] ?? "GET";
  const path = url.replace(/:(\w+)/g, "{$1}");
  const response = Object.fromEntries(
    Object.entries(s.response ?? {}).map(([code, r]) => {
      const own = (r as { description?: unknown }).description;
      return [code, own ? r : { ...(r as object), description: STATUS_DESCRIPTIONS[code] ?? `HTTP ${code}` }];
    }),
  );
  return {
    schema: {
      ...s,
      operationId: s.operationId ?? OPERATION_IDS[`${method} ${path}`] ?? derivedOperationId(method, path),
      ...(s.response ? { response } : {}),
    },
    url,
  };
}

/** `GET /meetings/{id}/notes` → `getMeetingsByIdNotes`. */
function derivedOperationId(method: string, path: string): string {
  const words = path
    .split("/")
    .filter(Boolean)
    .map((seg) => seg.replace(/^\{(.+)\}$/, "by_$1"))
    .join("_")
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return [method.toLowerCase(), ...words.map((w) => w[0]?.toUpperCase() + w.slice(1))].join("");
}
