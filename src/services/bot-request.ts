import { AppError, type Platform, PLATFORMS, platformEnumError, validationError } from "../errors.js";
import type { BotOptions } from "../meetings/lifecycle.js";
import { meetingUrlProblem, parseMeetingUrl, passcodeFromUrl } from "../meetings/meeting-link.js";
import type { BotRequest } from "./bots.js";

/** POST /bots as sent: the baseline's fields plus current Vexa's optional ones. */
export interface BotRequestBody {
  platform?: Platform | undefined;
  native_meeting_id?: string | undefined;
  bot_name?: string | null | undefined;
  language?: string | null | undefined;
  task?: string | null | undefined;
  meeting_url?: string | null | undefined;
  passcode?: string | null | undefined;
  recording_enabled?: boolean | null | undefined;
  transcribe_enabled?: boolean | null | undefined;
  transcription_tier?: string | null | undefined;
  automatic_leave?: Record<string, unknown> | null | undefined;
}

const unprocessable = (detail: string) => new AppError("VALIDATION", detail);
const missing = (field: string) => ({
  loc: ["body", field],
  msg: "field required",
  type: "value_error.missing",
});

/**
 * The request with platform and native id settled. Without `meeting_url` both are required exactly as in the
 * baseline (same 422 items); with it, they are derived from the link as current Vexa does (a given native id
 * wins; a platform that disagrees with the link is a 422), and a passcode the link carries is used when the
 * body names none.
 */
export function toBotRequest(body: BotRequestBody): BotRequest {
  let platform: string | undefined = body.platform;
  let nativeId = body.native_meeting_id;
  let passcode = body.passcode ?? null;
  const meetingUrl = body.meeting_url?.trim() || null;
  if (body.meeting_url != null) {
    const problem = meetingUrlProblem(body.meeting_url);
    if (problem) throw unprocessable(problem);
  }
  if (meetingUrl && !nativeId) {
    const derived = parseMeetingUrl(meetingUrl);
    if (!derived)
      throw unprocessable(
        `'native_meeting_id' is required: it could not be derived from meeting_url '${meetingUrl}' (unrecognized meeting link)`,
      );
    if (platform && platform !== derived.platform)
      throw unprocessable(
        `platform '${platform}' disagrees with meeting_url (which is a '${derived.platform}' link) — drop one or make them agree`,
      );
    platform = derived.platform;
    nativeId = derived.nativeId;
    passcode ??= passcodeFromUrl(meetingUrl);
  }
  const items = [
    ...(platform ? [] : [missing("platform")]),
    ...(nativeId ? [] : [missing("native_meeting_id")]),
  ];
  if (items.length > 0) throw validationError(items);
  if (!(PLATFORMS as readonly string[]).includes(platform as string))
    throw validationError([platformEnumError(["body", "platform"])]);
  const options: BotOptions = {};
  if (meetingUrl) options.meeting_url = meetingUrl;
  if (passcode) options.passcode = passcode;
  for (const key of [
    "recording_enabled",
    "transcribe_enabled",
    "transcription_tier",
    "automatic_leave",
  ] as const) {
    const v = body[key];
    if (v !== undefined && v !== null) (options as Record<string, unknown>)[key] = v;
  }
  return {
    platform: platform as Platform,
    native_meeting_id: nativeId as string,
    bot_name: body.bot_name,
    language: body.language,
    task: body.task,
    ...(Object.keys(options).length > 0 ? { options } : {}),
  };
}
