import { createHash } from "node:crypto";
import { msFromTimestamp } from "../clock.js";
import { AppError, badRequest, conflict, notFound, type Platform, upstreamUnavailable } from "../errors.js";
import * as lifecycle from "../meetings/lifecycle.js";
import { enqueueReconcileSoon, type JobSender } from "../meetings/queues.js";
import { HELD_STATUSES } from "../meetings/statuses.js";
import { startOnWholesaler } from "../meetings/upstream-bot.js";
import type { WholesalerClient } from "../upstream/client.js";
import { UpstreamError } from "../upstream/errors.js";
import { type Ctx, nowNaive } from "./context.js";
import {
  latestUserMeeting,
  type MeetingView,
  meetingView,
  USER_MEETING_SELECT,
  type UserMeetingRow,
} from "./meeting-views.js";

export interface BotsCtx extends Ctx {
  client: Pick<
    WholesalerClient,
    "requestBot" | "listMeetings" | "clockOffsetMs" | "stopBot" | "updateBotConfig"
  >;
  queue: JobSender;
  serviceLayerId: string;
  takesBotOptions?: () => boolean;
  /** How long a request waits for another request's in-flight wholesaler call for the same meeting. */
  followerWaitMs?: number;
  /** After an upstream stop, a reconcile run this many seconds later (0: only at the regular interval). */
  reconcileAfterStopSeconds?: number;
  log?: { warn(o: object, msg?: string): void };
  /** Drops cached views after each lifecycle commit (see LifecycleCtx). */
  onHoldingsChanged?: lifecycle.LifecycleCtx["onHoldingsChanged"];
}

export type BotRequest = lifecycle.ClaimInput & { platform: Platform };

/**
 * POST /bots. One wholesaler bot per room: the first request (across all users and instances) claims the
 * meeting and calls the wholesaler; everyone else attaches to it without an upstream call. A room whose bot is
 * still leaving gets a queued start (201 `requested`).
 */
export async function requestBot(ctx: BotsCtx, userId: number, input: BotRequest): Promise<MeetingView> {
  // Real time, not ctx.clock: waiting on another request is about this process, not about meeting time.
  const deadline = performance.now() + (ctx.followerWaitMs ?? 15_000);
  for (;;) {
    const claim = await lifecycle.claim(ctx, userId, input);
    if (claim.role === "leader") return lead(ctx, userId, input, claim.meetingId);
    if (claim.role === "attached") return viewFor(ctx, userId, claim.meetingId);
    const outcome = await waitForLeader(ctx, claim.meetingId, deadline);
    if (outcome === "settled") return viewFor(ctx, userId, claim.meetingId);
    if (outcome === "timeout") {
      await lifecycle.removeHolding(ctx, userId, claim.meetingId);
      throw upstreamUnavailable("The meeting-bot service is slow to respond. Please retry shortly.", 5);
    }
    // The leader's upstream call failed and its rows are gone: try to become the leader ourselves.
    if (performance.now() > deadline)
      throw upstreamUnavailable("The meeting-bot service is unavailable. Please retry shortly.", 5);
  }
}

async function lead(
  ctx: BotsCtx,
  userId: number,
  input: BotRequest,
  meetingId: number,
): Promise<MeetingView> {
  let started: Awaited<ReturnType<typeof startOnWholesaler>>;
  try {
    started = await startOnWholesaler(ctx, meetingId, input);
  } catch (err) {
    // Nothing half-written: the claim and every holding waiting on it go, so no quota slot is used up.
    await lifecycle.abandonClaim(ctx, meetingId);
    throw toUserError(err);
  }
  if (started === "taken") {
    await lifecycle.abandonClaim(ctx, meetingId);
    throw upstreamUnavailable(
      "Another bot from this service's meeting-bot provider is already in this meeting. Please retry later.",
      30,
    );
  }
  if (started === "busy") {
    await ctx.db.tx((tx) => lifecycle.queueStart(ctx, tx, meetingId));
    return viewFor(ctx, userId, meetingId);
  }
  // The answer's view comes back with the activation (one round trip); stopping upstream changes no row.
  const { held, view } = await lifecycle.activateWithView(ctx, meetingId, started, userId);
  if (!held) {
    await stopUpstream(ctx, {
      meetingId,
      platform: input.platform,
      nativeMeetingId: input.native_meeting_id,
    });
  }
  return view ? meetingView(view) : viewFor(ctx, userId, meetingId);
}

async function waitForLeader(
  ctx: BotsCtx,
  meetingId: number,
  deadline: number,
): Promise<"settled" | "gone" | "timeout"> {
  for (;;) {
    const res = await ctx.db.query<{ status: string; start_queued_at: string | null }>(
      "SELECT status, start_queued_at FROM meetings WHERE id = $1",
      [meetingId],
    );
    const m = res.rows[0];
    if (!m || (m.status !== "requested" && m.status !== "active")) return "gone";
    if (m.status === "active" || m.start_queued_at !== null) return "settled";
    if (performance.now() > deadline) return "timeout";
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function viewFor(ctx: Ctx, userId: number, meetingId: number): Promise<MeetingView> {
  const res = await ctx.db.query<UserMeetingRow>(
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

/** DELETE /bots: ends the caller's hold; the wholesaler bot is stopped only when its last holder leaves. */
export async function stopBot(
  ctx: BotsCtx,
  userId: number,
  platform: Platform,
  nativeId: string,
): Promise<string> {
  const mine = await latestUserMeeting(ctx.db, userId, platform, nativeId);
  if (mine?.status !== "active") throw notFound("Active meeting not found.");
  const { stop } = await lifecycle.release(ctx, userId, mine.id);
  if (stop) await stopUpstream(ctx, stop);
  return "Stop request accepted and is being processed.";
}

/** A failure here is repaired by the reconciler, which re-sends stops and stops any bot no one holds. */
export async function stopUpstream(ctx: BotsCtx, stop: lifecycle.StopOrder): Promise<void> {
  await ctx.client.stopBot(stop.platform, stop.nativeMeetingId).catch((err: unknown) => {
    if (err instanceof UpstreamError && err.kind === "not_found") return;
    ctx.log?.warn(
      { meetingId: stop.meetingId, err: String(err) },
      "upstream stop failed; the reconciler retries",
    );
  });
  if (ctx.reconcileAfterStopSeconds)
    await enqueueReconcileSoon(ctx.queue, ctx.reconcileAfterStopSeconds).catch((err: unknown) =>
      ctx.log?.warn({ err: String(err) }, "could not schedule a reconcile after a stop"),
    );
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
    await ctx.client.updateBotConfig(platform, nativeId, {
      language: config.language ?? null,
      task: config.task ?? null,
    });
  } catch (err) {
    // Current Vexa dropped the route altogether.
    if (err instanceof UpstreamError && err.kind === "unsupported") {
      throw badRequest(
        "Changing a running bot's language or task is not supported by this service's meeting-bot provider.",
      );
    }
    if (err instanceof UpstreamError && (err.kind === "not_found" || err.kind === "conflict")) {
      throw conflict("Meeting is active but session information is missing. Cannot process reconfiguration.");
    }
    throw toUserError(err);
  }
  await ctx.db.query(
    "UPDATE user_meetings SET language = COALESCE($3, language), task = COALESCE($4, task), updated_at = $5 WHERE user_id = $1 AND meeting_id = $2",
    [userId, active.id, config.language ?? null, config.task ?? null, nowNaive(ctx)],
  );
  await ctx.views?.invalidate({ users: [userId] });
  return "Reconfiguration request accepted and sent to the bot.";
}

/** Vexa's BotStatus item (baseline §3.5). */
export interface BotStatus {
  container_id: string | null;
  container_name: string | null;
  platform: string | null;
  native_meeting_id: string | null;
  status: string | null;
  created_at: string | null;
  labels: Record<string, string> | null;
  meeting_id_from_name: string | null;
}

/** GET /bots/status: the user's requested or running bots, from our records, in Vexa's Docker-flavoured shape. */
export async function runningBots(ctx: Ctx, userId: number): Promise<BotStatus[]> {
  const res = await ctx.db.query<{
    id: number;
    platform: string;
    platform_specific_id: string;
    bot_container_id: string | null;
    start_time: string | null;
  }>(
    `SELECT m.id, m.platform, m.platform_specific_id, m.bot_container_id, COALESCE(um.start_time, um.created_at) AS start_time
       FROM user_meetings um JOIN meetings m ON m.id = um.meeting_id
      WHERE um.user_id = $1 AND um.status = ANY($2::text[]) AND um.detached_at IS NULL
      ORDER BY um.created_at DESC`,
    [userId, HELD_STATUSES],
  );
  const nowMs = ctx.clock.now();
  return res.rows.map((r) => {
    const startedMs = r.start_time ? msFromTimestamp(r.start_time) : nowMs;
    const suffix = createHash("sha256").update(`${r.id}:${userId}`).digest("hex").slice(0, 8);
    return {
      container_id: r.bot_container_id,
      container_name: `vexa-bot-${r.id}-${suffix}`,
      platform: r.platform,
      native_meeting_id: r.platform_specific_id,
      status: upFor(nowMs - startedMs),
      created_at: `${new Date(startedMs).toISOString().slice(0, 19)}+00:00`,
      labels: { "vexa.user_id": String(userId) },
      meeting_id_from_name: String(r.id),
    };
  });
}

/** Docker's "Up 37 seconds" wording, which Vexa's BotStatus.status carries. */
function upFor(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return s <= 1 ? "Up Less than a second" : `Up ${s} seconds`;
  const m = Math.floor(s / 60);
  if (m < 60) return m === 1 ? "Up About a minute" : `Up ${m} minutes`;
  const h = Math.floor(m / 60);
  return h === 1 ? "Up About an hour" : `Up ${h} hours`;
}
