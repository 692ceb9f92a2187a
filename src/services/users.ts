import { createHash, randomInt, timingSafeEqual } from "node:crypto";
import { isoNaive, type Queryable } from "../db/client.js";
import { badRequest, notFound } from "../errors.js";
import type { Ctx } from "./context.js";

export interface UserView {
  email: string;
  name: string | null;
  image_url: string | null;
  max_concurrent_bots: number;
  data: Record<string, unknown>;
  id: number;
  created_at: string | null;
}

export interface TokenView {
  user_id: number;
  id: number;
  token: string;
  created_at: string | null;
}

export interface UserRow {
  id: number;
  email: string;
  name: string | null;
  image_url: string | null;
  max_concurrent_bots: number;
  data: Record<string, unknown>;
  created_at: string | null;
}

const USER_COLUMNS = "id, email, name, image_url, max_concurrent_bots, data, created_at";

export function userView(u: UserRow): UserView {
  return {
    email: u.email,
    name: u.name,
    image_url: u.image_url,
    max_concurrent_bots: u.max_concurrent_bots,
    data: u.data ?? {},
    id: u.id,
    created_at: isoNaive(u.created_at),
  };
}

/** Find-or-create by exact email; `created` tells the route whether to answer 201 or 200. */
export async function createUser(
  ctx: Ctx,
  input: {
    email: string;
    name?: string | null;
    image_url?: string | null;
    max_concurrent_bots?: number | null;
    data?: Record<string, unknown> | null;
  },
): Promise<{ user: UserView; created: boolean }> {
  const inserted = await ctx.db.query<UserRow>(
    `INSERT INTO users (email, name, image_url, max_concurrent_bots, data)
     VALUES ($1, $2, $3, COALESCE($4, 1), COALESCE($5::jsonb, '{}'::jsonb))
     ON CONFLICT (email) DO NOTHING RETURNING ${USER_COLUMNS}`,
    [
      input.email,
      input.name ?? null,
      input.image_url ?? null,
      input.max_concurrent_bots ?? null,
      input.data ? JSON.stringify(input.data) : null,
    ],
  );
  if (inserted.rows[0]) return { user: userView(inserted.rows[0]), created: true };
  const existing = await ctx.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE email = $1`, [
    input.email,
  ]);
  if (!existing.rows[0]) throw new Error("user vanished between insert and select");
  return { user: userView(existing.rows[0]), created: false };
}

export async function listUsers(ctx: Ctx, page: { skip: number; limit: number }): Promise<UserView[]> {
  const res = await ctx.db.query<UserRow>(
    `SELECT ${USER_COLUMNS} FROM users ORDER BY id OFFSET $1 LIMIT $2`,
    [page.skip, page.limit],
  );
  return res.rows.map(userView);
}

export async function getUserByEmail(ctx: Ctx, email: string): Promise<UserView> {
  const res = await ctx.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE email = $1`, [email]);
  if (!res.rows[0]) throw notFound("User not found");
  return userView(res.rows[0]);
}

export async function getUserRow(db: Queryable, id: number): Promise<UserRow | undefined> {
  const res = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
  return res.rows[0];
}

export async function getUserDetail(ctx: Ctx, id: number): Promise<UserView & { api_tokens: TokenView[] }> {
  const user = await getUserRow(ctx.db, id);
  if (!user) throw notFound("User not found");
  const tokens = await ctx.db.query<{ id: number; user_id: number; token_hint: string; created_at: string }>(
    "SELECT id, user_id, token_hint, created_at FROM api_tokens WHERE user_id = $1 ORDER BY id",
    [id],
  );
  return {
    ...userView(user),
    api_tokens: tokens.rows.map((t) => ({
      user_id: t.user_id,
      id: t.id,
      token: maskToken(t.token_hint),
      created_at: isoNaive(t.created_at),
    })),
  };
}

export async function updateUser(
  ctx: Ctx,
  id: number,
  patch: {
    email?: string | null;
    name?: string | null;
    image_url?: string | null;
    max_concurrent_bots?: number | null;
  },
): Promise<UserView> {
  const user = await getUserRow(ctx.db, id);
  if (!user) throw notFound("User not found");
  if (patch.email !== undefined && patch.email !== null && patch.email !== user.email) {
    throw badRequest("Cannot change user email via this endpoint.");
  }
  const sets: string[] = [];
  const params: unknown[] = [id];
  for (const key of ["name", "image_url", "max_concurrent_bots"] as const) {
    if (patch[key] === undefined) continue;
    // Vexa answers 500 "Failed to update user." when null hits the NOT NULL column; we refuse it as bad input.
    if (key === "max_concurrent_bots" && patch[key] === null)
      throw badRequest("max_concurrent_bots cannot be null.");
    params.push(patch[key]);
    sets.push(`${key} = $${params.length}`);
  }
  if (sets.length === 0) return userView(user);
  const res = await ctx.db.query<UserRow>(
    `UPDATE users SET ${sets.join(", ")} WHERE id = $1 RETURNING ${USER_COLUMNS}`,
    params,
  );
  return userView(res.rows[0] ?? user);
}

// ---- API tokens: 40 random alphanumerics, stored as SHA-256 ----

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

function maskToken(hint: string): string {
  return `${hint.slice(0, 4)}${"*".repeat(32)}${hint.slice(4, 8)}`;
}

export async function createToken(ctx: Ctx, userId: number): Promise<TokenView> {
  if (!(await getUserRow(ctx.db, userId))) throw notFound("User not found");
  const token = Array.from({ length: 40 }, () => ALPHABET[randomInt(ALPHABET.length)]).join("");
  const res = await ctx.db.query<{ id: number; created_at: string }>(
    "INSERT INTO api_tokens (token, token_hint, user_id) VALUES ($1, $2, $3) RETURNING id, created_at",
    [hashToken(token), `${token.slice(0, 4)}${token.slice(-4)}`, userId],
  );
  const row = res.rows[0];
  if (!row) throw new Error("token insert returned nothing");
  return { user_id: userId, id: row.id, token, created_at: isoNaive(row.created_at) };
}

export async function deleteToken(ctx: Ctx, tokenId: number): Promise<void> {
  const res = await ctx.db.query<{ token: string }>("DELETE FROM api_tokens WHERE id = $1 RETURNING token", [
    tokenId,
  ]);
  if (!res.rows[0]) throw notFound("Token not found");
  ctx.keys?.revoke(res.rows[0].token);
}

/**
 * Resolves a plaintext key to its user, or undefined: one indexed lookup on the hash, remembered briefly.
 * Only the user's id is taken from a remembered row; limits and webhook settings are always read fresh.
 */
export async function verifyApiKey(ctx: Ctx, token: string): Promise<UserRow | undefined> {
  const hash = hashToken(token);
  const known = ctx.keys?.get(hash);
  if (known) return known;
  const version = ctx.keys?.version() ?? 0;
  // Requests with the same key that miss together share one lookup (a burst of polls when the entry expires),
  // unless a key was revoked since that lookup started.
  let pending = lookups.get(ctx.db);
  if (!pending) {
    pending = new Map();
    lookups.set(ctx.db, pending);
  }
  const joined = pending.get(hash);
  if (joined && joined.version === version) return joined.row;
  const row = ctx.db
    .query<UserRow>(
      `SELECT u.id, u.email, u.name, u.image_url, u.max_concurrent_bots, u.data, u.created_at
         FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token = $1`,
      [hash],
      "verify-api-key",
    )
    .then((res) => {
      if (res.rows[0]) ctx.keys?.set(hash, res.rows[0], version);
      return res.rows[0];
    });
  const entry = { version, row };
  pending.set(hash, entry);
  try {
    return await row;
  } finally {
    if (pending.get(hash) === entry) pending.delete(hash);
  }
}

const lookups = new WeakMap<object, Map<string, { version: number; row: Promise<UserRow | undefined> }>>();

/** Constant-time comparison of two secrets of any length (hashing first equalises the lengths). */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest());
}
