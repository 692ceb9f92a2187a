import { isoNaive, type Queryable } from "../db/client.js";
import type { Platform } from "../errors.js";
import type { HoldingView } from "../meetings/lifecycle.js";
import type { Ctx } from "./context.js";

/** Vexa's MeetingResponse, as one user sees one (possibly shared) meeting. */
export interface MeetingView {
  id: number;
  user_id: number;
  platform: string;
  native_meeting_id: string | null;
  constructed_meeting_url: string | null;
  status: string;
  bot_container_id: string | null;
  start_time: string | null;
  end_time: string | null;
  data: Record<string, unknown>;
  created_at: string | null;
  updated_at: string | null;
}

/** A user_meetings row joined with its meeting: everything the per-user view and the bot logic need. */
export interface UserMeetingRow extends HoldingView {
  attached_at: string;
  detached_at: string | null;
  /** This holding's transcript window, on the wholesaler's timeline (null: unbounded). */
  window_from: string | null;
  window_to: string | null;
  meeting_status: string;
  transcript_cached: boolean;
  clock_offset_ms: number;
  meeting_start_time: string | null;
  upstream_start_time: string | null;
}

export const USER_MEETING_SELECT = `
  SELECT m.id, um.user_id, m.platform, m.platform_specific_id, um.status, m.bot_container_id,
         um.start_time, um.end_time, um.data, um.created_at, um.updated_at, um.attached_at, um.detached_at,
         um.window_from, um.window_to, m.status AS meeting_status, m.transcript_cached, m.clock_offset_ms,
         m.start_time AS meeting_start_time, m.upstream_start_time
    FROM user_meetings um JOIN meetings m ON m.id = um.meeting_id`;

/** Any row with the view's columns: a UserMeetingRow, or what the leader's activation returns. */
export function meetingView(r: HoldingView): MeetingView {
  return {
    id: r.id,
    user_id: r.user_id,
    platform: r.platform,
    native_meeting_id: r.platform_specific_id,
    constructed_meeting_url: constructMeetingUrl(r.platform, r.platform_specific_id),
    status: r.status,
    bot_container_id: r.bot_container_id,
    start_time: isoNaive(r.start_time),
    end_time: isoNaive(r.end_time),
    data: r.data ?? {},
    created_at: isoNaive(r.created_at),
    updated_at: isoNaive(r.updated_at),
  };
}

/** The user's newest meeting for this platform and native id (Vexa always acts on the newest). */
export async function latestUserMeeting(
  db: Queryable,
  userId: number,
  platform: Platform,
  nativeId: string,
  statuses?: string[],
): Promise<UserMeetingRow | undefined> {
  const params: unknown[] = [userId, platform, nativeId];
  let filter = "";
  if (statuses) {
    params.push(statuses);
    filter = " AND um.status = ANY($4::text[])";
  }
  const res = await db.query<UserMeetingRow>(
    `${USER_MEETING_SELECT}
      WHERE um.user_id = $1 AND m.platform = $2 AND m.platform_specific_id = $3${filter}
      ORDER BY um.created_at DESC, m.id DESC LIMIT 1`,
    params,
    statuses ? "latest-user-meeting-in" : "latest-user-meeting",
  );
  return res.rows[0];
}

/**
 * latestUserMeeting for hot reads: from the per-user view cache when there is one (every change to a holding
 * drops its entries, on every instance, before the change is acknowledged to whoever made it).
 */
export function cachedUserMeeting(
  ctx: Pick<Ctx, "db" | "views">,
  userId: number,
  platform: Platform,
  nativeId: string,
): Promise<UserMeetingRow | undefined> {
  const load = () => latestUserMeeting(ctx.db, userId, platform, nativeId);
  return ctx.views ? ctx.views.get(userId, `${platform}/${nativeId}`, load) : load();
}

/** The caller's holding of the meeting with this (retailer) id, through the view cache like cachedUserMeeting. */
export function userMeetingById(
  ctx: Pick<Ctx, "db" | "views">,
  userId: number,
  meetingId: number,
): Promise<UserMeetingRow | undefined> {
  const load = async () =>
    (
      await ctx.db.query<UserMeetingRow>(
        `${USER_MEETING_SELECT} WHERE um.user_id = $1 AND um.meeting_id = $2`,
        [userId, meetingId],
        "user-meeting-by-id",
      )
    ).rows[0];
  return ctx.views ? ctx.views.get(userId, `#${meetingId}`, load) : load();
}

const GOOGLE_MEET_ID = /^[a-z]{3}-[a-z]{4}-[a-z]{3}$/;
const ZOOM_ID = /^(\d{9,11})(?:\?pwd=(.+))?$/;

/** Vexa's baseline URL rules: informative only, null when no URL can be built (always for Teams). */
export function constructMeetingUrl(platform: string, nativeId: string | null): string | null {
  if (!nativeId) return null;
  if (platform === "google_meet")
    return GOOGLE_MEET_ID.test(nativeId) ? `https://meet.google.com/${nativeId}` : null;
  if (platform === "zoom") {
    const m = ZOOM_ID.exec(nativeId);
    if (!m) return null;
    return `https://*.zoom.us/j/${m[1]}${m[2] ? `?pwd=${m[2]}` : ""}`;
  }
  return null;
}
