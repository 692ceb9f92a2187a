import { createHash } from "node:crypto";
import type { Clock } from "../clock.js";
import type { Db } from "../db/client.js";
import { AppError, badRequest } from "../errors.js";
import { recordUpstreamStatus } from "../meetings/lifecycle.js";
import { enqueueFinalize, type JobSender } from "../meetings/queues.js";
import { endedAs, HELD_STATUSES, sqlList } from "../meetings/statuses.js";
import { verifyWholesalerWebhook } from "./verify.js";

export interface EventsCtx {
  db: Db;
  clock: Clock;
  queue: JobSender;
  secrets: string[];
}

interface UpstreamMeetingRef {
  id?: unknown;
  meeting_id?: unknown;
  platform?: unknown;
  native_meeting_id?: unknown;
  status?: unknown;
}

/**
 * POST /webhooks/meeting-finished: verify, record the event and its finalization job in one transaction, answer.
 * The work itself runs in the durable job; a duplicate delivery changes nothing.
 */
export async function receiveWholesalerWebhook(
  ctx: EventsCtx,
  input: { headers: Record<string, string | string[] | undefined>; raw: Buffer | undefined; body: unknown },
): Promise<{ status: "accepted" | "duplicate" | "ignored" }> {
  const raw = input.raw ?? Buffer.alloc(0);
  const verified = verifyWholesalerWebhook(input.headers, raw, ctx.secrets, ctx.clock.now());
  if (!verified.ok) throw new AppError("UNAUTHORIZED", "Invalid webhook signature");
  const body = input.body as Record<string, unknown> | null;
  if (!body || typeof body !== "object") throw badRequest("Webhook body must be a JSON object.");
  const envelope = typeof body.event_id === "string" && typeof body.data === "object" && body.data !== null;
  const meeting = (envelope ? (body.data as { meeting?: unknown }).meeting : body) as
    | UpstreamMeetingRef
    | undefined;
  const upstreamId = Number(meeting?.id ?? meeting?.meeting_id);
  if (!meeting || !Number.isInteger(upstreamId)) throw badRequest("Webhook payload has no meeting id.");
  const status = typeof meeting.status === "string" ? meeting.status : "";
  const eventId = envelope
    ? String(body.event_id)
    : (verified.ok && verified.webhookId) || `meeting:${upstreamId}:${status}`;
  const digest = createHash("sha256").update(raw).digest("hex");

  return ctx.db.tx(async (tx) => {
    // By the wholesaler's meeting id; failing that, the live meeting in that room whose wholesaler id we have not
    // recorded yet (the webhook raced our own commit). Never a live meeting known to be a different wholesaler
    // meeting: a late webhook about an earlier, purged meeting in the same room must not end the current one.
    const local = await tx.query<{ id: number }>(
      `SELECT id FROM (
         SELECT id, 0 AS pref FROM meetings WHERE wholesaler_meeting_id = $1
          UNION ALL
         SELECT id, 1 AS pref FROM meetings WHERE platform = $2 AND platform_specific_id = $3
            AND status IN (${sqlList(HELD_STATUSES)}) AND wholesaler_meeting_id IS NULL
       ) candidates ORDER BY pref, id DESC LIMIT 1`,
      [upstreamId, String(meeting.platform ?? ""), String(meeting.native_meeting_id ?? "")],
    );
    const meetingId = local.rows[0]?.id ?? null;
    const recorded = await tx.query(
      `INSERT INTO webhook_events (source, event_id, meeting_id, payload, received_at)
       VALUES ('wholesaler', $1, $2, $3::jsonb, $4) ON CONFLICT (source, event_id) DO NOTHING RETURNING id`,
      [eventId, meetingId, JSON.stringify({ body, sha256: digest }), new Date(ctx.clock.now()).toISOString()],
    );
    if (recorded.rows.length === 0) return { status: "duplicate" as const };
    if (meetingId === null || endedAs(status) === null) return { status: "ignored" as const };
    await recordUpstreamStatus(tx, meetingId, status);
    await enqueueFinalize(ctx.queue, meetingId, tx);
    return { status: "accepted" as const };
  });
}
