import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { Agent, request } from "undici";
import type { Clock } from "../clock.js";
import type { Db } from "../db/client.js";
import { meetingView, USER_MEETING_SELECT, type UserMeetingRow } from "../services/meeting-views.js";
import { BlockedTargetError, isBlockedAddress, resolvePublicTarget } from "../net/ssrf.js";
import { standardSignature, vexaSignature } from "./verify.js";

export interface NotifierDeps {
  db: Db;
  clock: Clock;
  allowPrivate: boolean;
  timeoutMs?: number;
  /** Called with each attempt's outcome (delivered, failed, rejected, blocked), for metrics. */
  onDelivery?: (outcome: string) => void;
}

/**
 * Sends one user the baseline flat meeting payload (their own view), signed both the Standard Webhooks way and
 * the Vexa way. Throws on a retryable failure so the queue retries with backoff; every attempt is recorded.
 */
export function createUserNotifier(deps: NotifierDeps) {
  // Checked again at connect time, so DNS rebinding between our check and the connection cannot reach inside.
  const agent = new Agent({
    connect: {
      lookup: (hostname, options, cb) =>
        dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
          if (err) return cb(err, "", 0);
          const list = addresses as LookupAddress[];
          const allowed = deps.allowPrivate ? list : list.filter((a) => !isBlockedAddress(a.address));
          const first = allowed[0];
          if (!first) return cb(new Error(`refusing ${hostname}: not a public address`), "", 0);
          if ((options as { all?: boolean }).all)
            return (cb as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
          cb(null, first.address, first.family);
        }),
    },
  });

  async function record(d: {
    userId: number;
    meetingId: number;
    eventId: string;
    url: string;
    attempt: number;
    outcome: string;
    status?: number;
    error?: string;
  }) {
    await deps.db.query(
      `INSERT INTO webhook_deliveries (user_id, meeting_id, event_id, url, attempt, outcome, status_code, error)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        d.userId,
        d.meetingId,
        d.eventId,
        d.url,
        d.attempt,
        d.outcome,
        d.status ?? null,
        d.error?.slice(0, 500) ?? null,
      ],
    );
    deps.onDelivery?.(d.outcome);
  }

  async function notify(job: { meetingId: number; userId: number }, attempt: number): Promise<void> {
    const user = await deps.db.query<{ url: string | null; secret: string | null }>(
      "SELECT data->>'webhook_url' AS url, webhook_secret AS secret FROM users WHERE id = $1",
      [job.userId],
    );
    const url = user.rows[0]?.url;
    const view = await deps.db.query<UserMeetingRow>(
      `${USER_MEETING_SELECT} WHERE um.user_id = $1 AND um.meeting_id = $2`,
      [job.userId, job.meetingId],
    );
    if (!url || !view.rows[0]) return;
    const eventId = `msg_meeting_${job.meetingId}_user_${job.userId}`;
    const body = JSON.stringify(meetingView(view.rows[0]));
    const base = { userId: job.userId, meetingId: job.meetingId, eventId, url, attempt };
    try {
      await resolvePublicTarget(new URL(url), deps.allowPrivate);
    } catch (err) {
      if (err instanceof BlockedTargetError)
        return record({ ...base, outcome: "blocked", error: err.message });
      // A DNS failure says nothing about the target: retried with backoff like a refused connection.
      await record({ ...base, outcome: "failed", error: err instanceof Error ? err.message : String(err) });
      throw err;
    }
    const ts = String(Math.floor(deps.clock.now() / 1000));
    const secret = user.rows[0]?.secret ?? "";
    let status: number;
    try {
      const res = await request(url, {
        method: "POST",
        dispatcher: agent,
        body,
        headersTimeout: deps.timeoutMs ?? 10_000,
        bodyTimeout: deps.timeoutMs ?? 10_000,
        headers: {
          "content-type": "application/json",
          "user-agent": "vexa-retailer-webhooks/1",
          "webhook-id": eventId,
          "webhook-timestamp": ts,
          "webhook-signature": standardSignature(secret, eventId, ts, body),
          "x-webhook-timestamp": ts,
          "x-webhook-signature": vexaSignature(secret, ts, body),
        },
      });
      status = res.statusCode;
      await res.body.dump();
    } catch (err) {
      await record({ ...base, outcome: "failed", error: err instanceof Error ? err.message : String(err) });
      throw err;
    }
    if (status >= 200 && status < 300) return record({ ...base, outcome: "delivered", status });
    // A redirect could lead anywhere (including inside our network): never followed, never retried.
    const permanent =
      (status >= 300 && status < 400) || (status >= 400 && status < 500 && status !== 408 && status !== 429);
    await record({ ...base, outcome: permanent ? "rejected" : "failed", status });
    if (!permanent) throw new Error(`webhook answered ${status}`);
  }

  return { notify, close: () => agent.close() };
}
