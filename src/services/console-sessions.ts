import { createHash, randomBytes } from "node:crypto";
import { type Ctx, naiveFromMs } from "./context.js";

export interface SessionPolicy {
  /** A session unused this long ends. */
  idleMs: number;
  /** A session ends this long after sign-in, however busy. */
  absoluteMs: number;
}

export interface ConsoleSession {
  /** The cookie value; only its digest is stored. */
  id: string;
  expiresAtMs: number;
}

const digest = (s: string) => createHash("sha256").update(s).digest("hex");

// Touching on every request would be a write per page view; a minute's slack on the idle timeout is harmless.
const TOUCH_EVERY_MS = 60_000;

/** Opens a session for whoever just presented `adminToken`; expired rows are swept at the same time. */
export async function openConsoleSession(
  ctx: Ctx,
  adminToken: string,
  policy: SessionPolicy,
): Promise<ConsoleSession> {
  const now = ctx.clock.now();
  const id = randomBytes(32).toString("base64url");
  await ctx.db.query("DELETE FROM console_sessions WHERE expires_at < $1", [naiveFromMs(now)]);
  await ctx.db.query(
    `INSERT INTO console_sessions (id_hash, token_digest, created_at, last_seen_at, expires_at)
     VALUES ($1, $2, $3, $3, $4)`,
    [digest(id), digest(adminToken), naiveFromMs(now), naiveFromMs(now + policy.absoluteMs)],
  );
  return { id, expiresAtMs: now + policy.absoluteMs };
}

/**
 * True when the session exists, has neither expired nor idled out, and was opened with the admin token in force
 * now (rotating the token signs everyone out).
 */
export async function checkConsoleSession(
  ctx: Ctx,
  id: string,
  adminToken: string,
  policy: SessionPolicy,
): Promise<boolean> {
  const now = ctx.clock.now();
  const res = await ctx.db.query<{ last_seen_ms: number }>(
    `SELECT (EXTRACT(EPOCH FROM last_seen_at) * 1000)::float8 AS last_seen_ms FROM console_sessions
      WHERE id_hash = $1 AND token_digest = $2 AND expires_at > $3 AND last_seen_at > $4`,
    [digest(id), digest(adminToken), naiveFromMs(now), naiveFromMs(now - policy.idleMs)],
  );
  const row = res.rows[0];
  if (!row) return false;
  if (now - Number(row.last_seen_ms) > TOUCH_EVERY_MS) {
    await ctx.db.query("UPDATE console_sessions SET last_seen_at = $2 WHERE id_hash = $1", [
      digest(id),
      naiveFromMs(now),
    ]);
  }
  return true;
}

export async function closeConsoleSession(ctx: Ctx, id: string): Promise<void> {
  await ctx.db.query("DELETE FROM console_sessions WHERE id_hash = $1", [digest(id)]);
}
