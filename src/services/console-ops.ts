import { HELD_STATUSES, LIVE_STATUSES, sqlList } from "../meetings/statuses.js";
import { type Ctx, naiveFromMs } from "./context.js";

const LIVE = `(${sqlList(LIVE_STATUSES)})`;
const HELD = `(${sqlList(HELD_STATUSES)})`;
const FAILED = "('failed', 'rejected', 'blocked')";

export interface LiveCounts {
  /** Wholesaler bots we hold (one per meeting, however many customers share it). */
  live_meetings: number;
  /** Customers' holds on those bots. */
  live_holders: number;
  /** Live meetings the wholesaler has given a bot id. */
  upstream_bots: number;
}

export async function liveCounts(ctx: Ctx): Promise<LiveCounts> {
  const res = await ctx.db.query<LiveCounts>(
    `SELECT (SELECT count(*)::int FROM meetings WHERE status IN ${LIVE}) AS live_meetings,
            (SELECT count(*)::int FROM user_meetings WHERE status IN ${HELD}) AS live_holders,
            (SELECT count(*)::int FROM meetings WHERE status IN ${LIVE} AND bot_container_id IS NOT NULL) AS upstream_bots`,
  );
  return res.rows[0] ?? { live_meetings: 0, live_holders: 0, upstream_bots: 0 };
}

/** Customer webhook attempts that did not deliver since `sinceMs`. */
export async function failedDeliveriesSince(ctx: Ctx, sinceMs: number): Promise<number> {
  const res = await ctx.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM webhook_deliveries WHERE outcome IN ${FAILED} AND created_at >= $1`,
    [naiveFromMs(sinceMs)],
  );
  return res.rows[0]?.n ?? 0;
}

export interface OpsSample {
  upstream_calls: number;
  upstream_errors: number;
  upstream_ms_sum: number;
  upstream_ms_max: number;
  breaker_state: string;
  live_meetings: number;
  upstream_bots: number;
  queue_depth: number;
}

export interface OpsMinute extends Omit<OpsSample, "breaker_state"> {
  minute_ms: number;
  /** The worst breaker state any instance reported that minute: 0 closed, 1 half open, 2 open. */
  breaker_level: number;
  failed_deliveries: number;
}

// Kept a little longer than the hour the console charts.
const KEEP_MS = 2 * 3600_000;

/** Adds one process's figures for a minute; call counts add up, gauges keep the latest value. */
export async function recordOpsSample(
  ctx: Ctx,
  instanceId: string,
  minuteMs: number,
  s: OpsSample,
): Promise<void> {
  await ctx.db.query(
    `INSERT INTO ops_samples (instance_id, minute, upstream_calls, upstream_errors, upstream_ms_sum, upstream_ms_max,
                              breaker_state, live_meetings, upstream_bots, queue_depth)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (instance_id, minute) DO UPDATE SET
       upstream_calls = ops_samples.upstream_calls + EXCLUDED.upstream_calls,
       upstream_errors = ops_samples.upstream_errors + EXCLUDED.upstream_errors,
       upstream_ms_sum = ops_samples.upstream_ms_sum + EXCLUDED.upstream_ms_sum,
       upstream_ms_max = GREATEST(ops_samples.upstream_ms_max, EXCLUDED.upstream_ms_max),
       breaker_state = EXCLUDED.breaker_state, live_meetings = EXCLUDED.live_meetings,
       upstream_bots = EXCLUDED.upstream_bots, queue_depth = EXCLUDED.queue_depth`,
    [
      instanceId,
      naiveFromMs(minuteMs),
      s.upstream_calls,
      s.upstream_errors,
      s.upstream_ms_sum,
      s.upstream_ms_max,
      s.breaker_state,
      s.live_meetings,
      s.upstream_bots,
      s.queue_depth,
    ],
  );
  await ctx.db.query("DELETE FROM ops_samples WHERE minute < $1", [naiveFromMs(minuteMs - KEEP_MS)]);
}

/** Every instance's samples since `sinceMs`, one row per minute, with failed deliveries counted per minute. */
export async function opsHistory(ctx: Ctx, sinceMs: number): Promise<OpsMinute[]> {
  const since = naiveFromMs(sinceMs);
  const res = await ctx.db.query<Record<keyof OpsMinute, number | string>>(
    `WITH s AS (
       SELECT minute, sum(upstream_calls)::int AS upstream_calls, sum(upstream_errors)::int AS upstream_errors,
              sum(upstream_ms_sum)::float8 AS upstream_ms_sum, max(upstream_ms_max)::float8 AS upstream_ms_max,
              max(CASE breaker_state WHEN 'open' THEN 2 WHEN 'half_open' THEN 1 ELSE 0 END)::int AS breaker_level,
              max(live_meetings)::int AS live_meetings, max(upstream_bots)::int AS upstream_bots,
              max(queue_depth)::int AS queue_depth
         FROM ops_samples WHERE minute >= $1 GROUP BY minute),
     d AS (
       SELECT date_trunc('minute', created_at) AS minute, count(*)::int AS failed_deliveries
         FROM webhook_deliveries WHERE outcome IN ${FAILED} AND created_at >= $1 GROUP BY 1)
     SELECT (EXTRACT(EPOCH FROM COALESCE(s.minute, d.minute)) * 1000)::float8 AS minute_ms,
            COALESCE(s.upstream_calls, 0) AS upstream_calls, COALESCE(s.upstream_errors, 0) AS upstream_errors,
            COALESCE(s.upstream_ms_sum, 0) AS upstream_ms_sum, COALESCE(s.upstream_ms_max, 0) AS upstream_ms_max,
            COALESCE(s.breaker_level, 0) AS breaker_level, COALESCE(s.live_meetings, 0) AS live_meetings,
            COALESCE(s.upstream_bots, 0) AS upstream_bots, COALESCE(s.queue_depth, 0) AS queue_depth,
            COALESCE(d.failed_deliveries, 0) AS failed_deliveries
       FROM s FULL OUTER JOIN d ON d.minute = s.minute
      ORDER BY 1`,
    [since],
  );
  return res.rows.map((r) => ({
    minute_ms: Number(r.minute_ms),
    upstream_calls: Number(r.upstream_calls),
    upstream_errors: Number(r.upstream_errors),
    upstream_ms_sum: Number(r.upstream_ms_sum),
    upstream_ms_max: Number(r.upstream_ms_max),
    breaker_level: Number(r.breaker_level),
    live_meetings: Number(r.live_meetings),
    upstream_bots: Number(r.upstream_bots),
    queue_depth: Number(r.queue_depth),
    failed_deliveries: Number(r.failed_deliveries),
  }));
}
