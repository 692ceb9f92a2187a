import { isoNaive } from "../db/client.js";
import { HELD_STATUSES, sqlList } from "../meetings/statuses.js";
import type { Ctx } from "./context.js";

const HELD = `(${sqlList(HELD_STATUSES)})`;

export interface CustomerSummary {
  id: number;
  email: string;
  name: string | null;
  max_concurrent_bots: number;
  created_at: string | null;
  keys: number;
  live_holds: number;
}

/** Customers whose email or name contains `q` (all when empty), newest first, a page at a time. */
export async function searchCustomers(
  ctx: Ctx,
  q: { q: string; skip: number; limit: number },
): Promise<{ total: number; items: CustomerSummary[] }> {
  const pattern = `%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const where = q.q ? "WHERE u.email ILIKE $1 OR u.name ILIKE $1" : "WHERE $1::text IS NOT NULL";
  const [total, rows] = await Promise.all([
    ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users u ${where}`, [pattern]),
    ctx.db.query<CustomerSummary>(
      `SELECT u.id, u.email, u.name, u.max_concurrent_bots, u.created_at,
              (SELECT count(*)::int FROM api_tokens t WHERE t.user_id = u.id) AS keys,
              (SELECT count(*)::int FROM user_meetings um
                WHERE um.user_id = u.id AND um.status IN ${HELD}) AS live_holds
         FROM users u ${where} ORDER BY u.id DESC OFFSET $2 LIMIT $3`,
      [pattern, q.skip, q.limit],
    ),
  ]);
  return {
    total: total.rows[0]?.n ?? 0,
    items: rows.rows.map((r) => ({ ...r, created_at: isoNaive(r.created_at) })),
  };
}
