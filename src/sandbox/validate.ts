import { invalid, type ValidationItem } from "./errors.js";
import { PLATFORMS, type Platform } from "./format.js";

/** Hand-written pydantic-v1 checks: the sandbox must answer with FastAPI's exact 422 items, field order included. */

type Loc = (string | number)[];
type Body = Record<string, unknown>;

export function platformItem(loc: Loc): ValidationItem {
  return {
    loc,
    msg: `value is not a valid enumeration member; permitted: ${PLATFORMS.map((p) => `'${p}'`).join(", ")}`,
    type: "type_error.enum",
    ctx: { enum_values: [...PLATFORMS] },
  };
}

const missing = (loc: Loc): ValidationItem => ({ loc, msg: "field required", type: "value_error.missing" });
const noneItem = (loc: Loc): ValidationItem => ({
  loc,
  msg: "none is not an allowed value",
  type: "type_error.none.not_allowed",
});
/** A required field: absent is "field required", an explicit null is pydantic v1's none error. */
const absent = (value: unknown, loc: Loc): ValidationItem | undefined =>
  value === undefined ? missing(loc) : value === null ? noneItem(loc) : undefined;
const notDict = (loc: Loc): ValidationItem => ({
  loc,
  msg: "value is not a valid dict",
  type: "type_error.dict",
});

/** The gateway validates `{platform}` in the path before forwarding anything (baseline §2.3). */
export function checkPathPlatform(value: string): Platform {
  if (!(PLATFORMS as readonly string[]).includes(value)) throw invalid([platformItem(["path", "platform"])]);
  return value as Platform;
}

/** The request body must be a JSON object; a missing body is "field required" on the whole body. */
export function requireObject(body: unknown): Body {
  if (body === undefined) throw invalid([missing(["body"])]);
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw invalid([notDict(["body"])]);
  return body as Body;
}

/** pydantic v1's str: numbers (and booleans, which Python counts as ints) are coerced, anything else refused. */
function str(value: unknown, loc: Loc, items: ValidationItem[]): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return value ? "True" : "False";
  items.push({ loc, msg: "str type expected", type: "type_error.str" });
  return undefined;
}

function optStr(body: Body, key: string, loc: Loc, items: ValidationItem[]): string | null | undefined {
  const v = body[key];
  if (v === undefined || v === null) return v as null | undefined;
  return str(v, [...loc, key], items);
}

function optStrList(body: Body, key: string, loc: Loc, items: ValidationItem[]): string[] | null | undefined {
  const v = body[key];
  if (v === undefined || v === null) return v as null | undefined;
  if (!Array.isArray(v)) {
    items.push({ loc: [...loc, key], msg: "value is not a valid list", type: "type_error.list" });
    return undefined;
  }
  return v.map((e, i) => str(e, [...loc, key, i], items) ?? "");
}

export interface MeetingCreate {
  platform: Platform;
  native_meeting_id: string;
  bot_name: string | null;
  language: string | null;
  task: string | null;
  service_layer_id?: unknown;
}

export function parseMeetingCreate(raw: unknown): MeetingCreate {
  const body = requireObject(raw);
  const items: ValidationItem[] = [];
  const noPlatform = absent(body.platform, ["body", "platform"]);
  if (noPlatform) items.push(noPlatform);
  else if (!(PLATFORMS as readonly unknown[]).includes(body.platform))
    items.push(platformItem(["body", "platform"]));
  let nativeId: string | undefined;
  const noId = absent(body.native_meeting_id, ["body", "native_meeting_id"]);
  if (noId) items.push(noId);
  else nativeId = str(body.native_meeting_id, ["body", "native_meeting_id"], items);
  const botName = optStr(body, "bot_name", ["body"], items);
  const language = optStr(body, "language", ["body"], items);
  const task = optStr(body, "task", ["body"], items);
  if (items.length > 0) throw invalid(items);
  return {
    platform: body.platform as Platform,
    native_meeting_id: nativeId ?? "",
    bot_name: botName ?? null,
    language: language ?? null,
    task: task ?? null,
    ...(body.service_layer_id !== undefined ? { service_layer_id: body.service_layer_id } : {}),
  };
}

export function parseConfigUpdate(raw: unknown): { language: string | null; task: string | null } {
  const body = requireObject(raw);
  const items: ValidationItem[] = [];
  const language = optStr(body, "language", ["body"], items);
  const task = optStr(body, "task", ["body"], items);
  if (items.length > 0) throw invalid(items);
  return { language: language ?? null, task: task ?? null };
}

/** MeetingUpdate: `data` is required; null-valued keys are dropped later by the handler (baseline §3.8). */
export function parseMeetingUpdate(raw: unknown): Record<string, unknown> {
  const body = requireObject(raw);
  const data = body.data;
  const noData = absent(data, ["body", "data"]);
  if (noData) throw invalid([noData]);
  if (typeof data !== "object" || Array.isArray(data)) throw invalid([notDict(["body", "data"])]);
  const d = data as Body;
  const items: ValidationItem[] = [];
  const loc = ["body", "data"];
  const out: Record<string, unknown> = {
    name: optStr(d, "name", loc, items),
    participants: optStrList(d, "participants", loc, items),
    languages: optStrList(d, "languages", loc, items),
    notes: optStr(d, "notes", loc, items),
  };
  if (items.length > 0) throw invalid(items);
  return out;
}

/** WebhookUpdate: pydantic v1 HttpUrl, plus the sandbox's optional signing secret. */
export function parseWebhookUpdate(raw: unknown): { webhook_url: string; webhook_secret?: string | null } {
  const body = requireObject(raw);
  const loc = ["body", "webhook_url"];
  const v = body.webhook_url;
  const noUrl = absent(v, loc);
  if (noUrl) throw invalid([noUrl]);
  if (typeof v !== "string") throw invalid([{ loc, msg: "str type expected", type: "type_error.str" }]);
  if (v.length > 2083) {
    throw invalid([
      {
        loc,
        msg: "ensure this value has at most 2083 characters",
        type: "value_error.any_str.max_length",
        ctx: { limit_value: 2083 },
      },
    ]);
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(v);
  if (!scheme) throw invalid([{ loc, msg: "invalid or missing URL scheme", type: "value_error.url.scheme" }]);
  if (!["http", "https"].includes(scheme[1]?.toLowerCase() ?? "")) {
    throw invalid([
      {
        loc,
        msg: "URL scheme not permitted",
        type: "value_error.url.scheme",
        ctx: { allowed_schemes: ["http", "https"] },
      },
    ]);
  }
  let host = "";
  try {
    host = new URL(v).hostname;
  } catch {
    host = "";
  }
  if (!host) throw invalid([{ loc, msg: "URL host invalid", type: "value_error.url.host" }]);
  const items: ValidationItem[] = [];
  const secret = optStr(body, "webhook_secret", ["body"], items);
  if (items.length > 0) throw invalid(items);
  return { webhook_url: v, ...(secret !== undefined ? { webhook_secret: secret } : {}) };
}
