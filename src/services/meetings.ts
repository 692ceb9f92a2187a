import { badRequest, notFound, type Platform } from "../errors.js";
import { removeHolding } from "../meetings/lifecycle.js";
import { type BotsCtx, stopUpstream } from "./bots.js";
import { type Ctx, nowNaive } from "./context.js";
import {
  latestUserMeeting,
  userMeetingById,
  type MeetingView,
  meetingView,
  USER_MEETING_SELECT,
  type UserMeetingRow,
} from "./meeting-views.js";
import { userView, type UserView } from "./users.js";

/** Current Vexa's `GET /meetings` filters; with none the answer is the baseline's (every meeting). */
export interface MeetingFilter {
  status?: string | undefined;
  platform?: string | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

export async function listMeetings(
  ctx: Ctx,
  userId: number,
  filter: MeetingFilter = {},
): Promise<MeetingView[]> {
  const params: unknown[] = [userId];
  let where = "um.user_id = $1";
  // The status is the caller's own view of the meeting (a user who left a shared bot sees it completed).
  if (filter.status !== undefined) where += ` AND um.status = $${params.push(filter.status)}`;
  if (filter.platform !== undefined) where += ` AND m.platform = $${params.push(filter.platform)}`;
  let page = "";
  if (filter.offset !== undefined) page += ` OFFSET $${params.push(filter.offset)}`;
  if (filter.limit !== undefined) page += ` LIMIT $${params.push(filter.limit)}`;
  const res = await ctx.db.query<UserMeetingRow>(
    `${USER_MEETING_SELECT} WHERE ${where} ORDER BY um.created_at DESC, m.id DESC${page}`,
    params,
  );
  return res.rows.map(meetingView);
}

/** Current Vexa's `GET /meetings/{id}`: the caller's own view of that meeting; anyone else's id is a 404. */
export async function getMeetingById(ctx: Ctx, userId: number, meetingId: number): Promise<MeetingView> {
  const row = await userMeetingById(ctx, userId, meetingId);
  if (!row) throw notFound("Meeting not found");
  return meetingView(row);
}

const notFoundFor = (platform: string, nativeId: string) =>
  notFound(`Meeting not found for platform ${platform} and ID ${nativeId}`);

const UPDATABLE = ["name", "participants", "languages", "notes"] as const;

/** Shallow-merges the allowed keys into this user's own view of the meeting. */
export async function updateMeetingData(
  ctx: Ctx,
  userId: number,
  platform: Platform,
  nativeId: string,
  data: Record<string, unknown>,
): Promise<MeetingView> {
  const meeting = await latestUserMeeting(ctx.db, userId, platform, nativeId);
  if (!meeting) throw notFoundFor(platform, nativeId);
  const patch: Record<string, unknown> = {};
  for (const key of UPDATABLE) {
    if (data[key] !== undefined && data[key] !== null) patch[key] = data[key];
  }
  if (Object.keys(patch).length === 0) throw badRequest("No data provided for update.");
  await ctx.db.query(
    "UPDATE user_meetings SET data = data || $3::jsonb, updated_at = $4 WHERE user_id = $1 AND meeting_id = $2",
    [userId, meeting.id, JSON.stringify(patch), nowNaive(ctx)],
  );
  await ctx.views?.invalidate({ users: [userId] });
  const updated = await latestUserMeeting(ctx.db, userId, platform, nativeId);
  if (!updated) throw notFoundFor(platform, nativeId);
  return meetingView(updated);
}

/**
 * DELETE /meetings: removes the caller's record. On a live meeting the caller's hold ends first, exactly as
 * DELETE /bots would end it (usage counted, the bot stopped if no one else holds it); the shared transcript goes
 * with the last record.
 */
export async function deleteMeeting(
  ctx: BotsCtx,
  userId: number,
  platform: Platform,
  nativeId: string,
): Promise<string> {
  const meeting = await latestUserMeeting(ctx.db, userId, platform, nativeId);
  if (!meeting) throw notFoundFor(platform, nativeId);
  const stop = await removeHolding(ctx, userId, meeting.id);
  if (stop) await stopUpstream(ctx, stop);
  return `Meeting ${platform}/${nativeId} and all its transcripts have been deleted`;
}

/** Admin stats: every user's view of every meeting, newest first, with real ids (Vexa printed nulls). */
export async function meetingUserStats(
  ctx: Ctx,
  page: { skip: number; limit: number },
): Promise<{ total: number; items: (MeetingView & { user: UserView })[] }> {
  const total = await ctx.db.query<{ n: number }>("SELECT count(*)::int AS n FROM user_meetings");
  const rows = await ctx.db.query<UserMeetingRow & { u: Parameters<typeof userView>[0] }>(
    `SELECT q.*, row_to_json(u) AS u FROM (${USER_MEETING_SELECT}) q
       JOIN (SELECT id, email, name, image_url, max_concurrent_bots, data, created_at FROM users) u ON u.id = q.user_id
      ORDER BY q.created_at DESC, q.id DESC OFFSET $1 LIMIT $2`,
    [page.skip, page.limit],
  );
  return {
    total: total.rows[0]?.n ?? 0,
    items: rows.rows.map((r) => ({ ...meetingView(r), user: userView(r.u) })),
  };
}
