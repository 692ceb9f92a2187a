/** Small JSON helpers for set-up and control calls (not for load: load goes through autocannon). */
export async function call(
  method: string,
  url: string,
  opts: { headers?: Record<string, string>; body?: unknown } = {},
): Promise<{ status: number; body: any; bytes: number }> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(url, {
    method,
    headers,
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: res.status, body, bytes: Buffer.byteLength(text) };
}

export async function expectStatus(
  what: string,
  p: Promise<{ status: number; body: any; bytes: number }>,
  ...ok: number[]
): Promise<{ status: number; body: any; bytes: number }> {
  const r = await p;
  if (!ok.includes(r.status))
    throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  return r;
}

const LETTERS = "abcdefghijklmnopqrstuvwxyz";

/** A Google-Meet-shaped id (`abc-defg-hij`), distinct for every n under a three-letter prefix. */
export function meetId(prefix: string, n: number): string {
  let s = "";
  let x = n;
  for (let i = 0; i < 7; i++) {
    s = LETTERS[x % 26] + s;
    x = Math.floor(x / 26);
  }
  return `${prefix}-${s.slice(0, 4)}-${s.slice(4)}`;
}

/**
 * Adds segments to a sandbox meeting, waiting for room: the sandbox answers 409 (its typed SandboxHttpError, from
 * the generator's "no room") while the meeting has no stretch yet that the segments could have been spoken in — a
 * bot joins 1–3 s after it is requested. As test/chaos/support.ts addSpokenSegments does, over HTTP.
 */
export async function addSegmentsWhenRoom(
  attempt: () => Promise<{ status: number; body: unknown }>,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  for (;;) {
    const r = await attempt();
    if (r.status >= 200 && r.status < 300) return;
    if (r.status !== 409 || Date.now() > deadline)
      throw new Error(`add segments: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 100));
  }
}
