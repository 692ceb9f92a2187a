import { isoNaive } from "../db/client.js";
import { notFound } from "../errors.js";
import type { Ctx } from "./context.js";

export const OUTCOMES = ["delivered", "failed", "rejected", "blocked"] as const;

export interface Delivery {
  id: number;
  user_id: number;
  email: string;
  meeting_id: number;
  url: string;
  attempt: number;
  outcome: string;
  status_code: number | null;
  error: string | null;
  created_at: string | null;
}

/** Customer webhook attempts, newest first, optionally of one outcome. */
export async function listDeliveries(
  ctx: Ctx,
  q: { outcome?: string | undefined; skip: number; limit: number },
): Promise<{ total: number; items: Delivery[] }> {
  const where = q.outcome ? "WHERE d.outcome = $1" : "WHERE $1::text IS NULL";
  const param = q.outcome ?? null;
  const [total, rows] = await Promise.all([
    ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM webhook_deliveries d ${where}`, [param]),
    ctx.db.query<Delivery>(
      `SELECT d.id, d.user_id, u.email, d.meeting_id, d.url, d.attempt, d.outcome, d.status_code, d.error, d.created_at
         FROM webhook_deliveries d JOIN users u ON u.id = d.user_id ${where}
        ORDER BY d.id DESC OFFSET $2 LIMIT $3`,
      [param, q.skip, q.limit],
    ),
  ]);
  return {
    total: total.rows[0]?.n ?? 0,
    items: rows.rows.map((r) => ({ ...r, created_at: isoNaive(r.created_at) })),
  };
}

export async function getDelivery(ctx: Ctx, id: number): Promise<Delivery> {
  const res = await ctx.db.query<Delivery>(
    `SELECT d.id, d.user_id, u.email, d.meeting_id, d.url, d.attempt, d.outcome, d.status_code, d.error, d.created_at
       FROM webhook_deliveries d JOIN users u ON u.id = d.user_id WHERE d.id = $1`,
    [id],
  );
  if (!res.rows[0]) throw notFound("Delivery not found");
  return res.rows[0];
}
