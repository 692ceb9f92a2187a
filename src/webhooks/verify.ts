import { createHmac, timingSafeEqual } from "node:crypto";

export const TOLERANCE_SECONDS = 300;

export type Verified =
  | { ok: true; scheme: "hmac" | "bearer" | "standard"; webhookId?: string }
  | { ok: false; reason: string };

type Headers = Record<string, string | string[] | undefined>;

const header = (h: Headers, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const x = Buffer.isBuffer(a) ? a : Buffer.from(a);
  const y = Buffer.isBuffer(b) ? b : Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function fresh(tsHeader: string | undefined, nowMs: number): boolean {
  if (!tsHeader || !/^\d{1,12}$/.test(tsHeader)) return false;
  return Math.abs(nowMs / 1000 - Number(tsHeader)) <= TOLERANCE_SECONDS;
}

/** Vexa's signature: `sha256=<hex HMAC-SHA256(secret, "<ts>." + raw body)>`. */
export function vexaSignature(secret: string, ts: string, raw: Buffer | string): string {
  return `sha256=${createHmac("sha256", secret).update(`${ts}.`).update(raw).digest("hex")}`;
}

/** Standard Webhooks: base64 HMAC over "<id>.<ts>.<body>", keyed by the base64 part of a `whsec_` secret. */
export function standardSignature(secret: string, id: string, ts: string, raw: Buffer | string): string {
  const key = secret.startsWith("whsec_") ? Buffer.from(secret.slice(6), "base64") : Buffer.from(secret);
  return `v1,${createHmac("sha256", key).update(`${id}.${ts}.`).update(raw).digest("base64")}`;
}

/**
 * Accepts any of the three schemes the wholesaler may use, with any of our (comma-separated, rotating) secrets.
 * Every comparison is constant-time and runs over the exact bytes received.
 */
export function verifyWholesalerWebhook(
  headers: Headers,
  raw: Buffer,
  secrets: string[],
  nowMs: number,
): Verified {
  if (secrets.length === 0) return { ok: false, reason: "no webhook secret configured" };
  const sig = header(headers, "x-webhook-signature");
  if (sig) {
    const ts = header(headers, "x-webhook-timestamp");
    if (!ts || !fresh(ts, nowMs)) return { ok: false, reason: "stale or missing timestamp" };
    return secrets.some((s) => safeEqual(vexaSignature(s, ts, raw), sig.trim()))
      ? { ok: true, scheme: "hmac" }
      : { ok: false, reason: "bad signature" };
  }
  const stdSig = header(headers, "webhook-signature");
  if (stdSig) {
    const id = header(headers, "webhook-id");
    const ts = header(headers, "webhook-timestamp");
    if (!id || !ts || !fresh(ts, nowMs)) return { ok: false, reason: "stale or missing timestamp" };
    const given = stdSig.split(" ").filter(Boolean);
    const match = secrets.some((s) => {
      const expected = standardSignature(s, id, ts, raw);
      return given.some((g) => safeEqual(expected, g));
    });
    return match ? { ok: true, scheme: "standard", webhookId: id } : { ok: false, reason: "bad signature" };
  }
  const auth = header(headers, "authorization");
  if (auth?.startsWith("Bearer ")) {
    const token = auth.slice(7).trim();
    return secrets.some((s) =>
      safeEqual(
        createHmac("sha256", "bearer").update(s).digest(),
        createHmac("sha256", "bearer").update(token).digest(),
      ),
    )
      ? { ok: true, scheme: "bearer" }
      : { ok: false, reason: "bad bearer token" };
  }
  return { ok: false, reason: "unsigned" };
}
