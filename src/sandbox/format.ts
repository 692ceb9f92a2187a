/** Vexa's wire formats for times and meetings (baseline §2.4): naive UTC with microseconds, aware absolute times. */

export const PLATFORMS = ["google_meet", "zoom", "teams"] as const;
export type Platform = (typeof PLATFORMS)[number];

export function isPlatform(value: unknown): value is Platform {
  return typeof value === "string" && (PLATFORMS as readonly string[]).includes(value);
}

/** Microseconds since the epoch; the clock gives milliseconds, so this is clock.now() * 1000 plus a sub-ms offset. */
export type Micros = number;

function isoParts(us: Micros): { base: string; micros: string } {
  const ms = Math.floor(us / 1000);
  const base = new Date(ms).toISOString().slice(0, 19);
  const micros = String(Math.floor(us) - Math.floor(us / 1_000_000) * 1_000_000).padStart(6, "0");
  return { base, micros };
}

/** "2025-06-08T17:11:32.049728" — how Python prints a naive datetime; a zero fraction is left out, as isoformat() does. */
export function naiveIso(us: Micros): string {
  const { base, micros } = isoParts(us);
  return micros === "000000" ? base : `${base}.${micros}`;
}

/** "2025-06-08T17:11:56.004872+00:00" — absolute segment times are timezone-aware. */
export function awareIso(us: Micros): string {
  return `${naiveIso(us)}+00:00`;
}

/** "2025-06-08T17:11:31+00:00" — the Docker container creation time in GET /bots/status. */
export function secondsIso(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}+00:00`;
}

/** Baseline §7: the URL is informative only and recomputed on every read. */
export function constructMeetingUrl(platform: Platform, nativeId: string): string | null {
  if (platform === "google_meet") {
    return /^[a-z]{3}-[a-z]{4}-[a-z]{3}$/.test(nativeId) ? `https://meet.google.com/${nativeId}` : null;
  }
  if (platform === "zoom") {
    const m = /^(\d{9,11})(?:\?pwd=(.+))?$/.exec(nativeId);
    if (!m) return null;
    return m[2] ? `https://*.zoom.us/j/${m[1]}?pwd=${m[2]}` : `https://*.zoom.us/j/${m[1]}`;
  }
  return null;
}

/** Docker's HumanDuration, as in "Up 37 seconds". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 14) return `${Math.floor(hours / 24)} days`;
  return `${Math.floor(hours / 24 / 7)} weeks`;
}

/** Postgres JSONB returns object keys shorter-first, then bytewise; Vexa's `data` comes back that way. */
export function jsonbOrder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(jsonbOrder);
  if (value === null || typeof value !== "object") return value;
  const keys = Object.keys(value).sort((a, b) => {
    const la = Buffer.byteLength(a);
    const lb = Buffer.byteLength(b);
    if (la !== lb) return la - lb;
    return Buffer.compare(Buffer.from(a), Buffer.from(b));
  });
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = jsonbOrder((value as Record<string, unknown>)[k]);
  return out;
}
