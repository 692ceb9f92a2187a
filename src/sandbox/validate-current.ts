import { timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { SandboxHttpError } from "./errors.js";
import type { Platform } from "./format.js";
import type { MeetingCreate } from "./validate.js";

/** Current Vexa's request checks: the gateway's scoped keys, and meeting-api's hand-written 422 strings. */

const unprocessable = (detail: string) => new SandboxHttpError(422, detail);

/** Gateway `_authorize`: 401 without a key or with an unknown one, 403 when none of the route's scopes is held. */
export function requireScope(
  request: FastifyRequest,
  apiKey: string,
  scopes: string[],
  anyOf: string[],
): void {
  const header = request.headers["x-api-key"];
  const given = Array.isArray(header) ? header[0] : header;
  if (!given) throw new SandboxHttpError(401, "Missing API key");
  const a = Buffer.from(given);
  const b = Buffer.from(apiKey);
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw new SandboxHttpError(401, "Invalid API key");
  if (anyOf.length > 0 && !anyOf.some((s) => scopes.includes(s)))
    throw new SandboxHttpError(403, "Insufficient scope for this endpoint");
}

const SPAWNABLE = ["google_meet", "jitsi", "teams", "zoom"];
const STOPPABLE = ["browser_session", "google_meet", "jitsi", "teams", "zoom"];
const URL_CHARS = /[?#&=/\s]/;

/** bot_spawn/router.py `create_bot`, for the fields the retailer sends. */
export function parseMeetingCreateCurrent(raw: unknown): MeetingCreate {
  if (raw === undefined) throw unprocessable("invalid JSON body");
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    throw unprocessable("body must be an object");
  const body = raw as Record<string, unknown>;
  const platform = String(body.platform ?? "").trim();
  const nativeId = String(body.native_meeting_id ?? "").trim();
  const meetingUrl = body.meeting_url;
  if (!platform || (!nativeId && !meetingUrl))
    throw unprocessable("'platform' and 'native_meeting_id' (or 'meeting_url') are required");
  if (nativeId.length > 255)
    throw unprocessable(`'native_meeting_id' is ${nativeId.length} characters; the maximum is 255`);
  if (URL_CHARS.test(nativeId)) {
    throw unprocessable(
      "'native_meeting_id' must be the bare meeting id and cannot contain URL characters ('?', '#', '&', '=', '/') or spaces — pass any passcode in 'passcode' or supply the full 'meeting_url' instead",
    );
  }
  if (!SPAWNABLE.includes(platform)) {
    throw unprocessable(
      `platform '${platform}' cannot be spawned as a meeting bot — supported: ${SPAWNABLE.join(", ")}`,
    );
  }
  if (!meetingUrl && platform !== "google_meet" && platform !== "teams") {
    throw unprocessable(
      `unsupported platform '${platform}' without a meeting_url — use google_meet/teams, or provide meeting_url (required for zoom/jitsi)`,
    );
  }
  const opt = (v: unknown) => (typeof v === "string" ? v : null);
  return {
    platform: platform as Platform,
    native_meeting_id: nativeId,
    bot_name: opt(body.bot_name),
    language: opt(body.language),
    task: opt(body.task),
  };
}

/** stop_router.py: the path platform is checked after auth, with its own wording. */
export function checkStopPlatform(platform: string): void {
  if (!STOPPABLE.includes(platform))
    throw unprocessable(`unsupported platform '${platform}' — must be one of: ${STOPPABLE.join(", ")}`);
}

const EDITABLE = ["title", "scheduled_at", "meeting_url", "workspace_id", "auto_join"];

/** PATCH /meetings edits planned meetings only; a meeting with a bot is the lifecycle's. */
export function checkPlannedPatch(raw: unknown): void {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    throw unprocessable("body must be an object");
  if (!EDITABLE.some((k) => k in raw)) throw unprocessable("no editable fields in body");
  throw new SandboxHttpError(409, "Meeting is no longer planned (bot lifecycle owns it)");
}
