import type { BotManager, BotStatus } from "../bot-manager/types.js";
import type { Queryable } from "../db/client.js";
import { AppError, conflict, forbidden, notFound, type Platform, upstreamUnavailable } from "../errors.js";
import { UpstreamError } from "../upstream/errors.js";
import { type Ctx, nowNaive } from "./context.js";
import {
  constructMeetingUrl,
  latestUserMeeting,
  type MeetingView,
  meetingView,
  USER_MEETING_SELECT,
  type UserMeetingRow,
} from "./meeting-views.js";

export interface BotsCtx extends Ctx {
  bots: BotManager;
  serviceLayerId: string;
  /** How long a request waits for another request's in-flight wholesaler call for the same meeting. */
  followerWaitMs?: number;
}

export interface BotRequest {
  platform: Platform;
  native_meeting_id: string;
  bot_name?: string | null | undefined;
  language?: string | null | undefined;
  task?: string | null | undefined;
}

interface SharedMeeting {
  id: number;
  status: string;
}

type Claim = { role: "leader" | "follower" | "attached"; meeting: SharedMeeting } | { role: "busy" };

const LIVE_FOR_USER = ["requested", "active", "stopping"];

/**
 * POST /bots. One wholesaler bot per meeting: the first request (across all users and instances) claims the
 * meeting row and calls the wholesaler; everyone else attaches to it without an upstream call.
 */
export async function requestBot(
  ctx: BotsCtx,
  user: { id: number; token: string },
  input: BotRequest,
): Promise<MeetingView> {
  // Real time, not ctx.clock: waiting on another request is about this process, not about meeting time.
  const deadline = performance.now() + (ctx.followerWaitMs ?? 15_000);
  for (;;) {
    const claim = await claimMeeting(ctx, user.id, input);
    if (claim.role === "busy") {
      throw upstreamUnavailable(
        "The previous bot for this meeting is still leaving. Please retry in a few seconds.",
        5,
      );
    }
    if (claim.role === "leader") return startUpstream(ctx, user, input, claim.meeting.id);
    if (claim.role === "attached") return viewFor(ctx.db, user.id, claim.meeting.id);
    const outcome = await waitForLeader(ctx, claim.meeting.id, deadline);
    if (outcome === "active") {
      await ctx.db.query(
        `UPDATE user_meetings SET status = 'active', start_time = COALESCE(start_time, $3), updated_at = $3
          WHERE user_id = $1 AND meeting_id = $2 AND status = 'requested'`,
        [user.id, claim.meeting.id, nowNaive(ctx)],
      );
      return viewFor(ctx.db, user.id, claim.meeting.id);
    }
    if (outcome === "timeout") {
      await dropAttachment(ctx.db, user.id, claim.meeting.id);
      throw upstreamUnavailable("The meeting-bot service is slow to respond. Please retry shortly.", 5);
    }
    // The leader's upstream call failed and its rows are gone: try to become the leader ourselves.
    if (performance.now() > deadline)
      throw upstreamUnavailable("The meeting-bot service is unavailable. Please retry shortly.", 5);
  }
}

async function claimMeeting(ctx: BotsCtx, userId: number, input: BotRequest): Promise<Claim> {
  const now = nowNaive(ctx);
  return ctx.db.tx(async (tx) => {
    // Serialises one user's requests so the limit check below cannot be raced.
    const user = await tx.query<{ max_concurrent_bots: number }>(
      "SELECT max_concurrent_bots FROM users WHERE id = $1 FOR UPDATE",
      [userId],
    );
    const own = await latestUserMeeting(tx, userId, input.platform, input.native_meeting_id, LIVE_FOR_USER);
    if (own) {
      throw conflict(
        `An active or requested meeting already exists for this platform and meeting ID, and its container is running. Meeting ID: ${own.id}`,
      );
    }
    const limit = user.rows[0]?.max_concurrent_bots ?? 1;
    const live = await tx.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM user_meetings WHERE user_id = $1 AND detached_at IS NULL AND status IN ('requested', 'active')",
      [userId],
    );
    if ((live.rows[0]?.n ?? 0) >= limit)
      throw forbidden(`User has reached the maximum concurrent bot limit (${limit}).`);

    let meeting = await findLiveMeeting(tx, input);
    let inserted = false;
    // A conflict with a claim that is being released right now finds nothing on the re-read: claim again.
    for (let attempt = 0; !meeting && attempt < 5; attempt++) {
      const res = await tx.query<SharedMeeting>(
        `INSERT INTO meetings (user_id, platform, platform_specific_id, status, data, created_at, updated_at)
         VALUES ($1, $2, $3, 'requested', $4::jsonb, $5, $5)
         ON CONFLICT (platform, platform_specific_id) WHERE status IN ('requested', 'active', 'stopping') DO NOTHING
         RETURNING id, status`,
        [
          userId,
          input.platform,
          input.native_meeting_id,
          JSON.stringify({ is_live: true, service_layer_id: ctx.serviceLayerId }),
          now,
        ],
      );
      inserted = res.rows.length > 0;
      meeting = res.rows[0] ?? (await findLiveMeeting(tx, input));
    }
    if (!meeting) throw new AppError("INTERNAL", "Internal Server Error");
    let role: "leader" | "follower" | "attached";
    if (inserted) role = "leader";
    else if (meeting.status === "stopping") return { role: "busy" } as const;
    else role = meeting.status === "active" ? "attached" : "follower";
    const status = role === "attached" ? "active" : "requested";
    await tx.query(
      `INSERT INTO user_meetings (user_id, meeting_id, status, bot_name, language, task, created_at, updated_at, attached_at, start_time)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7, $8)
       ON CONFLICT (user_id, meeting_id) DO UPDATE SET status = EXCLUDED.status, bot_name = EXCLUDED.bot_name,
         language = EXCLUDED.language, task = EXCLUDED.task, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,
         attached_at = EXCLUDED.attached_at, start_time = EXCLUDED.start_time, end_time = NULL, detached_at = NULL`,
      [
        userId,
        meeting.id,
        status,
        input.bot_name ?? null,
        input.language ?? null,
        input.task ?? null,
        now,
        status === "active" ? now : null,
      ],
    );
    return { role, meeting };
  });
}

async function findLiveMeeting(tx: Queryable, input: BotRequest): Promise<SharedMeeting | undefined> {
  const res = await tx.query<SharedMeeting>(
    `SELECT id, status FROM meetings WHERE platform = $1 AND platform_specific_id = $2
        AND status IN ('requested', 'active', 'stopping') FOR UPDATE`,
    [input.platform, input.native_meeting_id],
  );
  return res.rows[0];
}

async function startUpstream(
  ctx: BotsCtx,
  user: { id: number; token: string },
  input: BotRequest,
  meetingId: number,
): Promise<MeetingView> {
  let started: Awaited<ReturnType<BotManager["startBot"]>>;
  try {
    started = await ctx.bots.startBot({
      userId: user.id,
      meetingId,
      meetingUrl: constructMeetingUrl(input.platform, input.native_meeting_id),
      platform: input.platform,
      botName: input.bot_name ?? null,
      userToken: user.token,
      nativeMeetingId: input.native_meeting_id,
      language: input.language ?? null,
      task: input.task ?? null,
    });
  } catch (err) {
    // Nothing half-written: the claim and every attachment waiting on it go, so no slot is used up.
    await ctx.db.tx(async (tx) => {
      // The claim's row lock first: a request attaching right now (it holds that lock while it inserts its
      // attachment) either commits before us, and its attachment goes too, or afterwards finds the claim gone.
      // Without it, an attachment committed between the two deletes broke the foreign key: a 500 for this
      // request and a 15 s wait for every follower.
      await tx.query("SELECT id FROM meetings WHERE id = $1 FOR UPDATE", [meetingId]);
      await tx.query("DELETE FROM user_meetings WHERE meeting_id = $1", [meetingId]);
      await tx.query("DELETE FROM meetings WHERE id = $1 AND status = 'requested'", [meetingId]);
    });
    throw toUserError(err);
  }
  const now = nowNaive(ctx);
  await ctx.db.tx(async (tx) => {
    await tx.query(
      `UPDATE meetings SET status = 'active', bot_container_id = $2, start_time = $3, updated_at = $3,
              data = data || $4::jsonb WHERE id = $1`,
      [
        meetingId,
        started.botId,
        now,
        JSON.stringify({
          is_live: true,
          transcript_cached: false,
          wholesaler_meeting_id: started.wholesalerMeetingId,
          bot_id: started.botId,
          service_layer_id: ctx.serviceLayerId,
          ...(started.adopted ? { adopted: true } : {}),
        }),
      ],
    );
    await tx.query(
      "INSERT INTO meeting_sessions (meeting_id, session_uid, session_start_time) VALUES ($1, $2, $3::timestamp AT TIME ZONE 'UTC') ON CONFLICT DO NOTHING",
      [meetingId, started.sessionId, now],
    );
    await tx.query(
      "UPDATE user_meetings SET status = 'active', start_time = $2, updated_at = $2 WHERE meeting_id = $1 AND status = 'requested'",
      [meetingId, now],
    );
  });
  return viewFor(ctx.db, user.id, meetingId);
}

async function waitForLeader(
  ctx: BotsCtx,
  meetingId: number,
  deadline: number,
): Promise<"active" | "gone" | "timeout"> {
  for (;;) {
    const res = await ctx.db.query<{ status: string }>("SELECT status FROM meetings WHERE id = $1", [
      meetingId,
    ]);
    const status = res.rows[0]?.status;
    if (status === undefined) return "gone";
    if (status !== "requested") return status === "active" ? "active" : "gone";
    if (performance.now() > deadline) return "timeout";
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function dropAttachment(db: Queryable, userId: number, meetingId: number): Promise<void> {
  await db.query(
    "DELETE FROM user_meetings WHERE user_id = $1 AND meeting_id = $2 AND status = 'requested'",
    [userId, meetingId],
  );
}

async function viewFor(db: Queryable, userId: number, meetingId: number): Promise<MeetingView> {
  const res = await db.query<UserMeetingRow>(
    `${USER_MEETING_SELECT} WHERE um.user_id = $1 AND um.meeting_id = $2`,
    [userId, meetingId],
  );
  if (!res.rows[0]) throw new AppError("INTERNAL", "Internal Server Error");
  return meetingView(res.rows[0]);
}

/** The wholesaler's trouble is never the user's fault: capacity, outages and our own key problems are a 503. */
export function toUserError(err: unknown): unknown {
  if (!(err instanceof UpstreamError)) return err;
  if (err.kind === "limit") {
    return upstreamUnavailable(
      "The meeting-bot service is at capacity right now. Please retry later.",
      err.retryAfterSeconds ?? 30,
      err,
    );
  }
  return upstreamUnavailable(
    "The meeting-bot service is temporarily unavailable. Please retry shortly.",
    err.retryAfterSeconds ?? 5,
    err,
  );
}

/** DELETE /bots: detaches the caller; the wholesaler bot is stopped only when its last holder leaves. */
export async function stopBot(
  ctx: BotsCtx,
  userId: number,
  platform: Platform,
  nativeId: string,
): Promise<string> {
  const mine = await latestUserMeeting(ctx.db, userId, platform, nativeId);
  if (mine?.status !== "active") throw notFound("Active meeting not found.");
  const now = nowNaive(ctx);
  const isLast = await ctx.db.tx(async (tx) => {
    const m = await tx.query<{ status: string }>("SELECT status FROM meetings WHERE id = $1 FOR UPDATE", [
      mine.id,
    ]);
    const others = await tx.query(
      "SELECT 1 FROM user_meetings WHERE meeting_id = $1 AND user_id <> $2 AND detached_at IS NULL AND status IN ('requested', 'active') LIMIT 1",
      [mine.id, userId],
    );
    const last = others.rows.length === 0 && m.rows[0]?.status === "active";
    // Someone else still holds the bot: this user's own bot has simply left.
    await tx.query(
      `UPDATE user_meetings SET status = $3::text, detached_at = $4::timestamp, updated_at = $4::timestamp,
              end_time = CASE WHEN $3::text = 'completed' THEN $4::timestamp ELSE end_time END
        WHERE user_id = $1 AND meeting_id = $2`,
      [userId, mine.id, last ? "stopping" : "completed", now],
    );
    if (last) {
      await tx.query(
        `UPDATE meetings SET status = 'stopping', updated_at = $2, data = data || '{"stop_requested": true}'::jsonb WHERE id = $1`,
        [mine.id, now],
      );
    }
    return last;
  });
  if (isLast) {
    // Failure here is repaired by the reconciler, which re-sends the stop for meetings left 'stopping'.
    await ctx.bots
      .stopBot(mine.bot_container_id ?? "", { platform, nativeMeetingId: nativeId })
      .catch(() => false);
  }
  return "Stop request accepted and is being processed.";
}

/** PUT /bots/.../config: forwarded to the shared bot, with Vexa's 404/409 answers. */
export async function reconfigureBot(
  ctx: BotsCtx,
  userId: number,
  platform: Platform,
  nativeId: string,
  config: { language?: string | null | undefined; task?: string | null | undefined },
): Promise<string> {
  const active = await latestUserMeeting(ctx.db, userId, platform, nativeId, ["active"]);
  if (!active) {
    const any = await latestUserMeeting(ctx.db, userId, platform, nativeId);
    if (any) throw conflict(`Meeting found but is not active (status: '${any.status}'). Cannot reconfigure.`);
    throw notFound(`No active meeting found for platform ${platform} and meeting ID ${nativeId}.`);
  }
  try {
    await ctx.bots.reconfigureBot(
      { platform, nativeMeetingId: nativeId },
      { language: config.language ?? null, task: config.task ?? null },
    );
  } catch (err) {
    if (err instanceof UpstreamError && (err.kind === "not_found" || err.kind === "conflict")) {
      throw conflict("Meeting is active but session information is missing. Cannot process reconfiguration.");
    }
    throw toUserError(err);
  }
  await ctx.db.query(
    "UPDATE user_meetings SET language = COALESCE($3, language), task = COALESCE($4, task), updated_at = $5 WHERE user_id = $1 AND meeting_id = $2",
    [userId, active.id, config.language ?? null, config.task ?? null, nowNaive(ctx)],
  );
  return "Reconfiguration request accepted and sent to the bot.";
}

export async function runningBots(ctx: BotsCtx, userId: number): Promise<BotStatus[]> {
  return ctx.bots.getRunningBotsStatus(userId);
}
