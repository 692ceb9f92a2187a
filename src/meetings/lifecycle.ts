import type { HoldingsChange } from "../cache/holdings.js";
import { type Clock, msFromTimestamp, naiveFromMs } from "../clock.js";
import type { Db, Queryable } from "../db/client.js";
import { AppError, conflict, forbidden } from "../errors.js";
import { enqueueNotify, enqueueStart, type JobSender } from "./queues.js";
import { endedAs, HELD_STATUSES, LIVE_STATUSES, sqlList } from "./statuses.js";
import { aggregateParticipants, type Segment, storeSegments } from "./transcript-store.js";
import { onWholesalerTimeline } from "./window.js";

/**
 * Every state change of a meeting (one upstream bot's life in one room) and of a holding (a user's attachment
 * to it) goes through these verbs; routes' services, the webhook receiver, the finalizer and the reconciler only
 * call them. The state machine is drawn in the README ("Meeting lifecycle").
 */
export interface LifecycleCtx {
  db: Db;
  clock: Clock;
  queue: JobSender;
  serviceLayerId: string;
  /**
   * Called after every commit that changed a holding or its meeting (cached per-user views are dropped); the
   * verb resolves only once it has, so the caller's next read sees the change.
   */
  onHoldingsChanged?: (change: HoldingsChange) => Promise<void>;
}

export interface ClaimInput {
  platform: string;
  native_meeting_id: string;
  bot_name?: string | null | undefined;
  language?: string | null | undefined;
  task?: string | null | undefined;
  /** Current Vexa's optional bot fields, kept for a queued start; sent upstream only to a wholesaler that has them. */
  options?: BotOptions | null | undefined;
}

export interface BotOptions {
  meeting_url?: string;
  passcode?: string;
  recording_enabled?: boolean;
  transcribe_enabled?: boolean;
  transcription_tier?: string;
  automatic_leave?: Record<string, unknown>;
}

/** leader: call the wholesaler now; follower: another request is calling it; attached: nothing left to do. */
export type Claim = { role: "leader" | "follower" | "attached"; meetingId: number };

/** What the wholesaler answered when it started (or let us adopt) the bot. */
export interface StartedBot {
  botId: string;
  wholesalerMeetingId: number;
  adopted: boolean;
  /** Wholesaler time − our time, measured on this start. */
  clockOffsetMs: number;
}

/** A room whose bot must be stopped upstream (the caller does that after the commit: no network in a transaction). */
export interface StopOrder {
  meetingId: number;
  platform: string;
  nativeMeetingId: string;
}

const HELD = sqlList(HELD_STATUSES);
const LIVE = sqlList(LIVE_STATUSES);
const now = (ctx: { clock: Clock }) => naiveFromMs(ctx.clock.now());

async function changed(ctx: Pick<LifecycleCtx, "onHoldingsChanged">, change: HoldingsChange): Promise<void> {
  await ctx.onHoldingsChanged?.(change);
}

/**
 * POST /bots: the quota check, the room's one meeting (created, joined, or queued behind a bot that is still
 * leaving) and this user's holding, in one transaction. Exactly one request per room becomes the leader. The
 * statements run server-side in `retailer_claim` (migrations/0005), one round trip and its own transaction; only a
 * room whose previous bot is still leaving takes a second call inside a transaction that also queues the start.
 */
export async function claim(ctx: LifecycleCtx, userId: number, input: ClaimInput): Promise<Claim> {
  const nowMs = ctx.clock.now();
  const args = [
    userId,
    input.platform,
    input.native_meeting_id,
    ctx.serviceLayerId,
    naiveFromMs(nowMs),
    nowMs,
    input.bot_name ?? null,
    input.language ?? null,
    input.task ?? null,
    input.options ? JSON.stringify(input.options) : null,
  ];
  let res = await claimRoom(ctx.db, args, false);
  if (res.outcome === "queue") {
    res = await ctx.db.tx(async (tx) => {
      const queued = await claimRoom(tx, args, true);
      if (queued.outcome !== "leaving") return queued;
      await queueStart(ctx, tx, queued.meeting);
      return { ...queued, outcome: "attached" };
    });
  }
  const { outcome, meeting, lim } = res;
  if (outcome === "own") {
    throw conflict(
      `An active or requested meeting already exists for this platform and meeting ID, and its container is running. Meeting ID: ${meeting}`,
    );
  }
  if (outcome === "limit") throw forbidden(`User has reached the maximum concurrent bot limit (${lim}).`);
  if (outcome !== "leader" && outcome !== "follower" && outcome !== "attached")
    throw new AppError("INTERNAL", "Internal Server Error");
  await changed(ctx, { users: [userId] });
  return { role: outcome, meetingId: meeting };
}

interface ClaimRow {
  outcome: "own" | "limit" | "leader" | "follower" | "attached" | "queue" | "leaving" | "none";
  meeting: number;
  lim: number | null;
}

async function claimRoom(q: Queryable, args: unknown[], mayQueue: boolean): Promise<ClaimRow> {
  const res = await q.query<ClaimRow>(
    "SELECT outcome, meeting, lim FROM retailer_claim($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)",
    [...args, mayQueue],
    mayQueue ? "claim-queued" : "claim",
  );
  const row = res.rows[0];
  if (!row) throw new AppError("INTERNAL", "Internal Server Error");
  return row;
}

/** Hands a requested meeting's start to the durable start job (the room is busy upstream for now). */
export async function queueStart(ctx: LifecycleCtx, tx: Queryable, meetingId: number): Promise<void> {
  const res = await tx.query(
    `UPDATE meetings SET start_queued_at = $2, updated_at = $2
      WHERE id = $1 AND status = 'requested' AND start_queued_at IS NULL RETURNING id`,
    [meetingId, now(ctx)],
  );
  if (res.rows.length > 0) await enqueueStart(ctx.queue, meetingId, tx);
}

/**
 * The wholesaler's bot is live: the meeting and every waiting holding become active. False if no one holds it
 * (the meeting goes to stopping). One round trip: `retailer_activate` (migrations/0005) runs the updates.
 */
export async function activate(ctx: LifecycleCtx, meetingId: number, bot: StartedBot): Promise<boolean> {
  const res = await ctx.db.query<{ held: boolean }>(
    "SELECT retailer_activate($1, $2, $3, $4, $5, $6, $7) AS held",
    activateArgs(ctx, meetingId, bot),
    "activate",
  );
  await changed(ctx, { meetings: [meetingId] });
  return res.rows[0]?.held === true;
}

/** The columns of a user's view of a meeting that POST /bots answers with (services/meeting-views.ts prints them). */
export interface HoldingView {
  id: number;
  user_id: number;
  platform: string;
  platform_specific_id: string | null;
  status: string;
  bot_container_id: string | null;
  start_time: string | null;
  end_time: string | null;
  data: Record<string, unknown>;
  created_at: string | null;
  updated_at: string | null;
}

/**
 * activate() for the leader's request, with that user's view of the meeting read after it in the same round trip
 * (`retailer_activate_view`, migrations/0006). `view` is undefined when the user holds no record of it any more.
 */
export async function activateWithView(
  ctx: LifecycleCtx,
  meetingId: number,
  bot: StartedBot,
  userId: number,
): Promise<{ held: boolean; view: HoldingView | undefined }> {
  const res = await ctx.db.query<{ held: boolean } & { [K in keyof HoldingView]: HoldingView[K] | null }>(
    "SELECT * FROM retailer_activate_view($1, $2, $3, $4, $5, $6, $7, $8)",
    [...activateArgs(ctx, meetingId, bot), userId],
    "activate-view",
  );
  await changed(ctx, { meetings: [meetingId] });
  const row = res.rows[0];
  return { held: row?.held === true, view: row?.id != null ? (row as HoldingView) : undefined };
}

const activateArgs = (ctx: LifecycleCtx, meetingId: number, bot: StartedBot) => [
  meetingId,
  bot.botId,
  now(ctx),
  bot.wholesalerMeetingId,
  bot.adopted,
  bot.clockOffsetMs,
  ctx.serviceLayerId,
];

/** The wholesaler refused the leader's start: the claim and every holding waiting on it go, using up no quota. */
export async function abandonClaim(
  ctx: Pick<LifecycleCtx, "db" | "onHoldingsChanged">,
  meetingId: number,
): Promise<void> {
  await ctx.db.tx(async (tx) => {
    // The claim's row lock first: a request attaching right now either commits before us (and its holding goes
    // too) or finds the claim gone afterwards.
    await tx.query("SELECT id FROM meetings WHERE id = $1 FOR UPDATE", [meetingId]);
    await tx.query(
      "DELETE FROM user_meetings WHERE meeting_id = $1 AND EXISTS (SELECT 1 FROM meetings WHERE id = $1 AND status = 'requested')",
      [meetingId],
    );
    await tx.query(
      "DELETE FROM meetings WHERE id = $1 AND status = 'requested' AND NOT EXISTS (SELECT 1 FROM user_meetings WHERE meeting_id = $1)",
      [meetingId],
    );
  });
  await changed(ctx, { meetings: [meetingId] });
}

/** A queued start that never got a bot: the meeting and its holdings end as failed, with the reason shown. */
export async function failStart(ctx: LifecycleCtx, meetingId: number, reason: string): Promise<boolean> {
  const ts = now(ctx);
  const failed = await ctx.db.tx(async (tx) => {
    const res = await tx.query(
      `UPDATE meetings SET status = 'failed', final_status = 'failed', end_time = $2, updated_at = $2,
              failure_reason = $3, transcript_cached = true, upstream_deleted = true, start_queued_at = NULL
        WHERE id = $1 AND status = 'requested' RETURNING id`,
      [meetingId, ts, reason],
    );
    if (res.rows.length === 0) return false;
    await tx.query(
      `UPDATE user_meetings SET status = 'failed', end_time = $2, detached_at = COALESCE(detached_at, $2), updated_at = $2,
              data = data || jsonb_build_object('failure_reason', $3::text)
        WHERE meeting_id = $1 AND status IN (${HELD})`,
      [meetingId, ts, reason],
    );
    await notifyHolders(ctx, tx, meetingId);
    return true;
  });
  if (failed) await changed(ctx, { meetings: [meetingId] });
  return failed;
}

/**
 * DELETE /bots (and DELETE /meetings on a live meeting): ends this user's hold now — usage counted to this
 * instant, window closed on the wholesaler's timeline, quota slot freed. The last holder's release stops the bot.
 */
export async function release(
  ctx: LifecycleCtx,
  userId: number,
  meetingId: number,
): Promise<{ released: boolean; stop: StopOrder | null }> {
  const ts = now(ctx);
  const result = await ctx.db.tx(async (tx) => {
    const m = await tx.query<{
      status: string;
      platform: string;
      platform_specific_id: string;
      clock_offset_ms: number;
      start_queued_at: string | null;
    }>(
      "SELECT status, platform, platform_specific_id, clock_offset_ms, start_queued_at FROM meetings WHERE id = $1 FOR UPDATE",
      [meetingId],
    );
    const meeting = m.rows[0];
    const mine = await tx.query<{ start_time: string | null }>(
      `SELECT start_time FROM user_meetings
        WHERE user_id = $1 AND meeting_id = $2 AND detached_at IS NULL AND status IN (${HELD})`,
      [userId, meetingId],
    );
    if (!meeting || !mine.rows[0]) return { released: false, stop: null };
    const others = await tx.query(
      `SELECT 1 FROM user_meetings WHERE meeting_id = $1 AND user_id <> $2 AND detached_at IS NULL
          AND status IN (${HELD}) LIMIT 1`,
      [meetingId, userId],
    );
    const last = others.rows.length === 0;
    const stopsBot = last && meeting.status === "active";
    // The last holder's meeting is stopping like the bot, and everything the bot still hears is theirs (no upper
    // bound); anyone else's own bot has simply left.
    await tx.query(
      `UPDATE user_meetings SET status = $3::text, detached_at = $4::timestamp, updated_at = $4::timestamp,
              window_to = $5::timestamp, end_time = CASE WHEN $3::text = 'completed' THEN $4::timestamp ELSE end_time END
        WHERE user_id = $1 AND meeting_id = $2`,
      [
        userId,
        meetingId,
        stopsBot ? "stopping" : "completed",
        ts,
        stopsBot ? null : onWholesalerTimeline(ctx.clock.now(), meeting.clock_offset_ms),
      ],
    );
    await recordUsage(tx, "user_id = $2 AND meeting_id = $1", [meetingId, userId], ts);
    if (stopsBot) {
      await tx.query("UPDATE meetings SET status = 'stopping', updated_at = $2 WHERE id = $1", [
        meetingId,
        ts,
      ]);
      return {
        released: true,
        stop: { meetingId, platform: meeting.platform, nativeMeetingId: meeting.platform_specific_id },
      };
    }
    if (last && meeting.start_queued_at !== null) {
      // Nobody waits for the queued start any more: the meeting ends without ever having had a bot.
      await tx.query(
        `UPDATE meetings SET status = 'completed', final_status = 'completed', end_time = $2, updated_at = $2,
                transcript_cached = true, upstream_deleted = true, start_queued_at = NULL WHERE id = $1`,
        [meetingId, ts],
      );
    }
    return { released: true, stop: null };
  });
  if (result.released) await changed(ctx, { users: [userId], meetings: [meetingId] });
  return result;
}

/** Appends the spans of the matching open, started holdings to the usage ledger, ending at `endTs`. */
async function recordUsage(tx: Queryable, where: string, params: unknown[], endTs: string): Promise<void> {
  await tx.query(
    `INSERT INTO bot_usage (user_id, meeting_id, started_at, ended_at)
     SELECT user_id, meeting_id, start_time, GREATEST(start_time, $${params.length + 1}::timestamp)
       FROM user_meetings WHERE ${where} AND start_time IS NOT NULL`,
    [...params, endTs],
  );
}

/**
 * DELETE /meetings: a live hold is released first (as DELETE /bots would), then the user's record goes. The
 * shared transcript goes with the last record, unless the meeting is still live (finalization purges it then).
 */
export async function removeHolding(
  ctx: LifecycleCtx,
  userId: number,
  meetingId: number,
): Promise<StopOrder | null> {
  const { stop } = await release(ctx, userId, meetingId);
  await ctx.db.tx(async (tx) => {
    const live = await tx.query<{ status: string; upstream_deleted: boolean }>(
      "SELECT status, upstream_deleted FROM meetings WHERE id = $1 FOR UPDATE",
      [meetingId],
    );
    await tx.query("DELETE FROM user_meetings WHERE user_id = $1 AND meeting_id = $2", [userId, meetingId]);
    const holders = await tx.query("SELECT 1 FROM user_meetings WHERE meeting_id = $1 LIMIT 1", [meetingId]);
    const m = live.rows[0];
    if (holders.rows.length > 0 || !m || !m.upstream_deleted) return;
    await purge(tx, meetingId);
  });
  await changed(ctx, { users: [userId], meetings: [meetingId] });
  return stop;
}

/** Removes a meeting and its transcript for good (no holder is left to see it). */
export async function purge(tx: Queryable, meetingId: number): Promise<void> {
  await tx.query("DELETE FROM transcriptions WHERE meeting_id = $1", [meetingId]);
  await tx.query("DELETE FROM meeting_sessions WHERE meeting_id = $1", [meetingId]);
  await tx.query("DELETE FROM user_meetings WHERE meeting_id = $1", [meetingId]);
  await tx.query("DELETE FROM meetings WHERE id = $1", [meetingId]);
}

/** The wholesaler says the meeting ended (webhook or reconciler); the caller enqueues finalization in the same tx. */
export async function recordUpstreamStatus(tx: Queryable, meetingId: number, status: string): Promise<void> {
  await tx.query("UPDATE meetings SET upstream_status = $2 WHERE id = $1", [meetingId, status]);
}

export interface FinalTranscript {
  status: string;
  start_time?: string | null | undefined;
  end_time?: string | null | undefined;
  segments: Segment[];
}

/**
 * The final transcript and the meeting's end, in one commit (null `final`: the wholesaler no longer has it, so
 * the checkpoint stands). Holdings still attached end with the meeting and keep no upper window bound.
 */
export async function storeFinal(
  ctx: LifecycleCtx,
  meetingId: number,
  final: FinalTranscript | null,
): Promise<void> {
  const ts = now(ctx);
  await ctx.db.tx(async (tx) => {
    const locked = await tx.query<{
      transcript_cached: boolean;
      upstream_status: string | null;
      clock_offset_ms: number;
      end_time: string | null;
    }>(
      "SELECT transcript_cached, upstream_status, clock_offset_ms, end_time FROM meetings WHERE id = $1 FOR UPDATE",
      [meetingId],
    );
    const m = locked.rows[0];
    if (!m || m.transcript_cached) return;
    if (final) await storeSegments(tx, meetingId, final.segments, { replace: true, storedAt: ts });
    const finalStatus = endedAs(final?.status) ?? endedAs(m.upstream_status) ?? "completed";
    // Meeting times are ours; the wholesaler's end is converted from its clock.
    const upstreamEnd = final?.end_time ? msFromTimestamp(final.end_time) - m.clock_offset_ms : Number.NaN;
    const endTime = Number.isFinite(upstreamEnd) ? naiveFromMs(upstreamEnd) : (m.end_time ?? ts);
    const agg = await aggregateParticipants(tx, meetingId);
    await tx.query(
      `UPDATE meetings SET status = $4, final_status = $4, end_time = $2, updated_at = $3, transcript_cached = true,
              upstream_start_time = $5
        WHERE id = $1`,
      [meetingId, endTime, ts, finalStatus, final?.start_time ?? null],
    );
    await recordUsage(
      tx,
      `meeting_id = $1 AND detached_at IS NULL AND status IN (${LIVE})`,
      [meetingId],
      endTime,
    );
    await tx.query(
      `UPDATE user_meetings SET status = $2, end_time = COALESCE(end_time, $3), updated_at = $4,
              detached_at = COALESCE(detached_at, $3)
        WHERE meeting_id = $1 AND status IN (${LIVE})`,
      [meetingId, finalStatus, endTime, ts],
    );
    await tx.query(
      `UPDATE user_meetings SET data = data
              || CASE WHEN data ? 'participants' THEN '{}'::jsonb ELSE jsonb_build_object('participants', $2::jsonb) END
              || CASE WHEN data ? 'languages' THEN '{}'::jsonb ELSE jsonb_build_object('languages', $3::jsonb) END
        WHERE meeting_id = $1`,
      [meetingId, JSON.stringify(agg.participants), JSON.stringify(agg.languages)],
    );
  });
  await changed(ctx, { meetings: [meetingId] });
}

/** The wholesaler's copy is gone (or was never ours to delete): notify the holders; purge if none is left. */
export async function markUpstreamDeleted(ctx: LifecycleCtx, meetingId: number): Promise<void> {
  await ctx.db.tx(async (tx) => {
    const res = await tx.query(
      `UPDATE meetings SET upstream_deleted = true, updated_at = $2 WHERE id = $1 AND NOT upstream_deleted RETURNING id`,
      [meetingId, now(ctx)],
    );
    if (res.rows.length === 0) return;
    await notifyHolders(ctx, tx, meetingId);
    const anyHolder = await tx.query("SELECT 1 FROM user_meetings WHERE meeting_id = $1 LIMIT 1", [
      meetingId,
    ]);
    // Everyone deleted their record while the bot was live: the transcript goes with the last of them.
    if (anyHolder.rows.length === 0) await purge(tx, meetingId);
  });
  await changed(ctx, { meetings: [meetingId] });
}

async function notifyHolders(ctx: LifecycleCtx, tx: Queryable, meetingId: number): Promise<void> {
  const holders = await tx.query<{ user_id: number }>(
    `SELECT um.user_id FROM user_meetings um JOIN users u ON u.id = um.user_id
      WHERE um.meeting_id = $1 AND u.data ? 'webhook_url'`,
    [meetingId],
  );
  for (const h of holders.rows) await enqueueNotify(ctx.queue, meetingId, h.user_id, tx);
}

/** An active meeting nobody holds (the reconciler's repair): it goes to stopping; the caller stops the bot. */
export async function stopUnheld(ctx: LifecycleCtx, meetingId: number): Promise<StopOrder | null> {
  const res = await ctx.db.query<{ platform: string; platform_specific_id: string }>(
    `UPDATE meetings SET status = 'stopping', updated_at = $2
      WHERE id = $1 AND status = 'active' AND NOT EXISTS (
        SELECT 1 FROM user_meetings WHERE meeting_id = $1 AND detached_at IS NULL AND status IN (${HELD}))
      RETURNING platform, platform_specific_id`,
    [meetingId, now(ctx)],
  );
  const m = res.rows[0];
  if (m) await changed(ctx, { meetings: [meetingId] });
  return m ? { meetingId, platform: m.platform, nativeMeetingId: m.platform_specific_id } : null;
}
