/**
 * A pasted meeting link → (platform, native meeting id), by the rules of current Vexa's meeting-api
 * (`collector/meeting_link.py`): the same inputs give the same ids, so a meeting requested by URL here has the id
 * Vexa's own clients would address it by. Pure string logic.
 */
const GMEET_ID = /^[a-z]{3}-[a-z]{4}-[a-z]{3}$/;
const ZOOM_ID = /\d{9,11}/;
const TEAMS_THREAD = /19:meeting_[^@%\s/]+@thread\.v2/i;
const TEAMS_SHORT = /\/meet\/([^/?#]+)/i;
const JITSI_ROOM = /^[^/?#\s]+$/;

function parseUrl(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

export function parseMeetingUrl(raw: string): { platform: string; nativeId: string } | null {
  const value = raw.trim();
  if (!value) return null;
  if (GMEET_ID.test(value.toLowerCase())) return { platform: "google_meet", nativeId: value.toLowerCase() };
  const url = parseUrl(value);
  const host = url?.hostname.toLowerCase() ?? "";
  if (url && host) {
    if (host.includes("meet.google.com")) {
      const code = [...url.pathname.split("/")].reverse().find((p) => p) ?? "";
      return GMEET_ID.test(code.toLowerCase())
        ? { platform: "google_meet", nativeId: code.toLowerCase() }
        : null;
    }
    if (host.includes("zoom")) {
      const m = ZOOM_ID.exec(url.pathname) ?? ZOOM_ID.exec(url.search.slice(1));
      return m ? { platform: "zoom", nativeId: m[0] } : null;
    }
    if (host.includes("teams.microsoft.com") || host.includes("teams.live.com")) {
      const thread = TEAMS_THREAD.exec(safeDecode(value));
      if (thread) return { platform: "teams", nativeId: thread[0] };
      const short = TEAMS_SHORT.exec(url.pathname);
      return short?.[1] ? { platform: "teams", nativeId: short[1] } : null;
    }
    if (host === "meet.jit.si" || host.includes("jitsi") || host.split(".").includes("meet")) {
      const room = url.pathname.replace(/^\/+|\/+$/g, "");
      if (!room || !JITSI_ROOM.test(room)) return null;
      return { platform: "jitsi", nativeId: host === "meet.jit.si" ? room : `${room}@${host}` };
    }
    return null;
  }
  if (/^\d{9,11}$/.test(value)) return { platform: "zoom", nativeId: value };
  return null;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The passcode a link carries itself (Zoom's `?pwd=`, Teams' `?p=`), used when the body names none. */
export function passcodeFromUrl(raw: string): string | null {
  const url = parseUrl(raw.trim());
  if (!url) return null;
  for (const key of ["pwd", "p"]) {
    const v = url.searchParams.get(key);
    if (v) return v;
  }
  return null;
}

/**
 * Current Vexa's entry checks on a caller-supplied `meeting_url` (the bot's browser goes wherever it points):
 * https only, a host name that is neither localhost nor an IP literal. Returns Vexa's 422 detail, or null.
 */
export function meetingUrlProblem(raw: string): string | null {
  const value = raw.trim();
  if (!value) return "meeting_url must be a non-empty string";
  const url = parseUrl(value);
  if (url?.protocol !== "https:") return "meeting_url must use https:// — the bot only joins TLS deployments";
  const host = url.hostname.toLowerCase();
  if (!host) return "meeting_url must have a valid hostname";
  if (host === "localhost" || host.endsWith(".localhost")) return "meeting_url cannot target localhost";
  if (
    /^\[.*\]$/.test(host) ||
    /^\d{1,3}(\.\d{1,3}){3}$/.test(host) ||
    /^\d+$/.test(host) ||
    /^0x/i.test(host)
  )
    return "meeting_url cannot be an IP literal — use the deployment's hostname";
  return null;
}
