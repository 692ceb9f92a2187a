import { randomBytes } from "node:crypto";
import { validationError } from "../errors.js";
import { isRefusedWebhookTarget } from "../net/ssrf.js";
import type { Ctx } from "./context.js";
import { type UserRow, type UserView, userView } from "./users.js";

const newSecret = () => `whsec_${randomBytes(24).toString("base64")}`;

/** Sets users.data.webhook_url (Vexa's shape); creates the signing secret on first use and returns it once. */
export async function setUserWebhook(
  ctx: Ctx,
  userId: number,
  webhookUrl: string,
  allowPrivate: boolean,
): Promise<UserView & { webhook_secret?: string }> {
  const url = new URL(webhookUrl);
  if (await isRefusedWebhookTarget(url, allowPrivate)) {
    throw validationError([
      {
        loc: ["body", "webhook_url"],
        msg: "webhook_url must point to a public address (not private, loopback, reserved or this server)",
        type: "value_error.url.host",
      },
    ]);
  }
  const secret = newSecret();
  const res = await ctx.db.query<UserRow & { created_secret: boolean }>(
    `UPDATE users SET data = data || jsonb_build_object('webhook_url', $2::text),
            webhook_secret = COALESCE(webhook_secret, $3)
      WHERE id = $1
      RETURNING id, email, name, image_url, max_concurrent_bots, data, created_at, webhook_secret = $3 AS created_secret`,
    [userId, webhookUrl, secret],
  );
  const row = res.rows[0];
  if (!row) throw new Error("user vanished");
  return row.created_secret ? { ...userView(row), webhook_secret: secret } : userView(row);
}

export async function rotateWebhookSecret(ctx: Ctx, userId: number): Promise<string> {
  const secret = newSecret();
  await ctx.db.query("UPDATE users SET webhook_secret = $2 WHERE id = $1", [userId, secret]);
  return secret;
}
