import { type ValidationItem, validationError } from "../errors.js";
import { type Ctx, naiveFromMs } from "./context.js";

export interface Period {
  fromMs: number;
  toMs: number;
}

export interface UsageRow {
  user_id: number;
  email: string;
  /** Minutes this user held a bot in the period, to two decimals. */
  bot_minutes: number;
  /** Meetings whose held time overlaps the period. */
  meetings: number;
}

export interface UsageReport {
  from: string;
  to: string;
  users: UsageRow[];
  total_bot_minutes: number;
  /** Minutes our upstream bots ran in the period (what the wholesaler bills us; a shared bot counts once). */
  wholesaler_bot_minutes: number;
}

export interface MyUsage extends UsageRow {
  from: string;
  to: string;
}

// A date, or a date-time with optional seconds/fraction/zone; no zone means UTC, as everywhere in Vexa.
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?([zZ]|[+-]\d{2}:?\d{2})?)?$/;

function parseInstant(raw: string): number | undefined {
  const m = ISO.exec(raw.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = "00", mi = "00", s = "00", zone] = m;
  if (Number(mo) < 1 || Number(mo) > 12 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59)
    return undefined;
  const dayCheck = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (dayCheck.getUTCDate() !== Number(d)) return undefined;
  const ms = Date.parse(raw.trim().replace(" ", "T") + (zone ? "" : m[4] ? "Z" : "T00:00:00Z"));
  return Number.isNaN(ms) ? undefined : ms;
}

// Instants PostgreSQL's timestamp and our naive formatting both hold (year 0 and five-digit years do not).
const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59);

const startOfMonth = (ms: number, add = 0) => {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + add, 1);
};

/**
 * The billing period [from, to). Defaults: `to` = the start of next month (UTC), `from` = the start of the month
 * before `to`; so no parameters means the current calendar month, and `?to=2025-06-01` means May 2025.
 */
export function resolvePeriod(
  ctx: Pick<Ctx, "clock">,
  q: { from?: string | undefined; to?: string | undefined },
): Period {
  const items: ValidationItem[] = [];
  const read = (name: "from" | "to") => {
    const raw = q[name];
    if (raw === undefined || raw === "") return undefined;
    const ms = parseInstant(raw);
    if (ms === undefined) {
      items.push({
        loc: ["query", name],
        msg: "invalid datetime format (ISO 8601 expected)",
        type: "value_error.datetime",
      });
    } else if (ms < EARLIEST || ms > LATEST) {
      items.push({
        loc: ["query", name],
        msg: "ensure this value is between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z",
        type: "value_error.datetime.range",
      });
      return undefined;
    }
    return ms;
  };
  const from = read("from");
  const to = read("to");
  if (items.length > 0) throw validationError(items);
  const toMs = to ?? startOfMonth(ctx.clock.now(), 1);
  const fromMs = from ?? startOfMonth(toMs - 1);
  if (fromMs >= toMs) {
    throw validationError([
      { loc: ["query", "to"], msg: "to must be later than from", type: "value_error.period" },
    ]);
  }
  return { fromMs, toMs };
}

// Ended holds are in the usage ledger (written by the lifecycle when a hold ends, and kept when the record is
// deleted); a hold still running counts up to now.
const SPANS = `
  SELECT user_id, meeting_id, GREATEST(started_at, $1::timestamp) AS s, LEAST(ended_at, $2::timestamp) AS e
    FROM bot_usage WHERE started_at < $2::timestamp
  UNION ALL
  SELECT user_id, meeting_id, GREATEST(start_time, $1::timestamp) AS s, LEAST($3::timestamp, $2::timestamp) AS e
    FROM user_meetings WHERE detached_at IS NULL AND status = 'active' AND start_time < $2::timestamp`;

async function usageRows(ctx: Ctx, period: Period, userId?: number): Promise<UsageRow[]> {
  const params: unknown[] = [
    naiveFromMs(period.fromMs),
    naiveFromMs(period.toMs),
    naiveFromMs(ctx.clock.now()),
  ];
  if (userId !== undefined) params.push(userId);
  const res = await ctx.db.query<{
    user_id: number;
    email: string;
    seconds: number | string;
    meetings: number;
  }>(
    `WITH spans AS (${SPANS})
     SELECT u.id AS user_id, u.email, SUM(EXTRACT(EPOCH FROM (sp.e - sp.s)))::float8 AS seconds,
            count(DISTINCT sp.meeting_id)::int AS meetings
       FROM spans sp JOIN users u ON u.id = sp.user_id
      WHERE sp.e > sp.s${userId !== undefined ? " AND sp.user_id = $4" : ""}
      GROUP BY u.id, u.email
      ORDER BY u.id`,
    params,
  );
  return res.rows.map((r) => ({
    user_id: r.user_id,
    email: r.email,
    bot_minutes: minutes(Number(r.seconds)),
    meetings: r.meetings,
  }));
}

const minutes = (seconds: number) => Math.round((seconds / 60) * 100) / 100;
const iso = (ms: number) => new Date(ms).toISOString();

/** Every user's bot-minutes in the period (users with none are left out), for billing. */
export async function usageReport(ctx: Ctx, period: Period): Promise<UsageReport> {
  const users = await usageRows(ctx, period);
  const total = users.reduce((sum, u) => sum + u.bot_minutes, 0);
  const bots = await ctx.db.query<{ seconds: number | string | null }>(
    `SELECT SUM(EXTRACT(EPOCH FROM (LEAST(COALESCE(end_time, $3::timestamp), $2::timestamp)
                                   - GREATEST(start_time, $1::timestamp))))::float8 AS seconds
       FROM meetings
      WHERE start_time IS NOT NULL AND start_time < $2::timestamp AND COALESCE(end_time, $3::timestamp) > $1::timestamp`,
    [naiveFromMs(period.fromMs), naiveFromMs(period.toMs), naiveFromMs(ctx.clock.now())],
  );
  return {
    from: iso(period.fromMs),
    to: iso(period.toMs),
    users,
    total_bot_minutes: Math.round(total * 100) / 100,
    wholesaler_bot_minutes: minutes(Number(bots.rows[0]?.seconds ?? 0)),
  };
}

/** One user's own bot-minutes in the period. */
export async function userUsage(
  ctx: Ctx,
  user: { id: number; email: string },
  period: Period,
): Promise<MyUsage> {
  const [row] = await usageRows(ctx, period, user.id);
  return {
    from: iso(period.fromMs),
    to: iso(period.toMs),
    user_id: user.id,
    email: user.email,
    bot_minutes: row?.bot_minutes ?? 0,
    meetings: row?.meetings ?? 0,
  };
}
