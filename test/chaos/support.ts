/**
 * Shared harness of the chaos suite: a sandbox wholesaler in the test process (over HTTP) that records every
 * upstream DELETE /meetings together with what the retailer's database held at that instant, a user-webhook
 * receiver, a private PostgreSQL schema, and real retailer processes (`node --import tsx src/main.ts`).
 */
import pg from "pg";
import { readSegments, type Segment } from "../../src/meetings/transcript-store.js";
import { SandboxHttpError } from "../../src/sandbox/errors.js";
import { createSandbox, type Sandbox, type SandboxOptions } from "../../src/sandbox/index.js";
import { createPgSchemaUrl } from "../helpers/db.js";
import { freePort, type RetailerProcess, spawnRetailer } from "../helpers/process.js";
import { waitFor } from "../helpers/wait.js";
import { type Receiver, startReceiver } from "../reliability/support.js";

export const ADMIN = "chaos-admin-token-0123456789abcdef";
export const SECRET = "chaos-webhook-secret";

/** A segment as the retailer serves it (Vexa's keys). */
export type Seg = Segment;

/** One upstream DELETE /meetings, with the retailer's committed state at the moment it arrived. */
export interface DeleteRecord {
  platform: string;
  nativeId: string;
  at: number;
  /** meetings.transcript_cached in the retailer's database when the DELETE arrived. */
  cached: boolean;
  /** Segments stored locally at that moment. */
  stored: number;
  /** Segments in the wholesaler's transcript at that moment (undefined when it no longer had the meeting). */
  upstream: number | undefined;
  status?: number;
}

export interface World {
  sandbox: Sandbox;
  sandboxUrl: string;
  sandboxKey: string;
  /** The test's own connection to the retailer's schema. */
  pool: pg.Pool;
  dbUrl: string;
  schema: string;
  queueSchema: string;
  deletes: DeleteRecord[];
  /** The wholesaler's transcript of each meeting as it was when the retailer deleted it (by native id). */
  finals: Map<string, Seg[]>;
  receiver: Receiver;
  /** Base environment of a retailer process in this world. */
  env(extra?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

export async function createWorld(sandboxOpts: Partial<SandboxOptions> = {}): Promise<World> {
  const sandboxKey = `sbx-chaos-${Math.random().toString(36).slice(2)}`;
  const sandbox = createSandbox({
    apiKey: sandboxKey,
    webhookSecret: SECRET,
    stopDelayMs: 200,
    segmentIntervalMs: 250,
    ...sandboxOpts,
  });
  const db = await createPgSchemaUrl();
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  const deletes: DeleteRecord[] = [];
  const finals = new Map<string, Seg[]>();
  const pending = new WeakMap<object, DeleteRecord>();
  // The transcript last served to the retailer per native id: a segment it was shown without created_at is one
  // the retailer stamps itself, even if the wholesaler flushed it (stamping it) before the delete.
  const lastServed = new Map<string, Seg[]>();
  sandbox.app.addHook("onSend", async (request, reply, payload) => {
    const m = /^\/transcripts\/([^/]+)\/([^/?]+)/.exec(request.url);
    if (request.method !== "GET" || !m || request.headers["x-chaos-probe"] || reply.statusCode !== 200)
      return payload;
    try {
      if (typeof payload === "string") {
        lastServed.set(decodeURIComponent(m[2] ?? ""), (JSON.parse(payload) as { segments: Seg[] }).segments);
      }
    } catch {
      // A deliberately garbled body (fault injection) showed the retailer nothing.
    }
    return payload;
  });

  // Registered before listen: every DELETE /meetings is checked against the retailer's committed state first.
  sandbox.app.addHook("onRequest", async (request) => {
    const m = /^\/meetings\/([^/]+)\/([^/?]+)/.exec(request.url);
    if (request.method !== "DELETE" || !m) return;
    const platform = decodeURIComponent(m[1] ?? "");
    const nativeId = decodeURIComponent(m[2] ?? "");
    const local = await pool.query<{ cached: boolean; stored: number }>(
      `SELECT transcript_cached AS cached,
              (SELECT count(*)::int FROM transcriptions t WHERE t.meeting_id = m.id) AS stored
         FROM meetings m WHERE platform = $1 AND platform_specific_id = $2 ORDER BY id DESC LIMIT 1`,
      [platform, nativeId],
    );
    const upstream = await sandbox.app.inject({
      method: "GET",
      url: `/transcripts/${encodeURIComponent(platform)}/${encodeURIComponent(nativeId)}`,
      headers: { "x-api-key": sandboxKey, "x-chaos-probe": "1" },
    });
    let count: number | undefined;
    if (upstream.statusCode === 200) {
      const segments = (upstream.json() as { segments: Seg[] }).segments;
      const shown = new Map(
        (lastServed.get(nativeId) ?? []).map((s) => [s.absolute_start_time ?? s.start, s]),
      );
      finals.set(
        nativeId,
        segments.map((s) =>
          shown.get(s.absolute_start_time ?? s.start)?.created_at === null ? { ...s, created_at: null } : s,
        ),
      );
      count = segments.length;
    }
    const record: DeleteRecord = {
      platform,
      nativeId,
      at: Date.now(),
      cached: local.rows[0]?.cached ?? false,
      stored: local.rows[0]?.stored ?? 0,
      upstream: count,
    };
    deletes.push(record);
    pending.set(request, record);
  });
  sandbox.app.addHook("onResponse", async (request, reply) => {
    const record = pending.get(request);
    if (record) record.status = reply.statusCode;
  });
  const sandboxUrl = await sandbox.listen(0, "127.0.0.1");
  const receiver = await startReceiver();
  const queueSchema = `${db.schema}_boss`;
  return {
    sandbox,
    sandboxUrl,
    sandboxKey,
    pool,
    dbUrl: db.url,
    schema: db.schema,
    queueSchema,
    deletes,
    finals,
    receiver,
    env: (extra = {}) => ({
      HOST: "127.0.0.1",
      DATABASE_URL: db.url,
      QUEUE_SCHEMA: queueSchema,
      VEXA_INFRA_API_URL: sandboxUrl,
      VEXA_INFRA_API_KEY: sandboxKey,
      WHOLESALER_WEBHOOK_SECRET: SECRET,
      ADMIN_API_TOKEN: ADMIN,
      ALLOW_PRIVATE_WEBHOOKS: "true",
      LOG_LEVEL: "warn",
      ...extra,
    }),
    async close() {
      await receiver.close();
      await sandbox.close();
      await pool.end();
      await db.drop();
    },
  };
}

export interface Node {
  proc: RetailerProcess;
  url: string;
}

/** A role-all retailer on fixed ports (so a restart keeps its URL and the wholesaler's webhook target). */
export async function ports(): Promise<{ gw: number; admin: number }> {
  return { gw: await freePort(), admin: await freePort() };
}

export function startNode(
  world: World,
  p: { gw: number; admin: number },
  extra: Record<string, string> = {},
) {
  const url = `http://127.0.0.1:${p.gw}`;
  const proc = spawnRetailer(
    world.env({
      API_GATEWAY_PORT: String(p.gw),
      ADMIN_API_PORT: String(p.admin),
      RETAILER_PUBLIC_URL: url,
      ...extra,
    }),
  );
  return { proc, url };
}

/**
 * A SIGKILLed worker leaves its jobs `active`; pg-boss fails them by timeout (→ retry) once their expiry has passed
 * (finalize: expireInSeconds 120 in src/jobs/runner.ts) at its next maintenance pass. Instead of waiting those two
 * minutes, the test moves the dead jobs' start back in time: the very same expiry-and-retry path then runs at the
 * next maintenance pass (≤ 15 s after the restart). Only call this while no retailer process is alive.
 */
export async function expireOrphanedJobs(world: World): Promise<number> {
  const res = await world.pool.query(
    `UPDATE ${world.queueSchema}.job SET started_on = now() - interval '1 day' WHERE state = 'active'`,
  );
  return res.rowCount ?? 0;
}

export interface Http {
  status: number;
  body: any;
  raw: string;
  headers: Headers;
  ms: number;
}

export async function http(
  base: string,
  method: string,
  path: string,
  opts: { key?: string; admin?: boolean; body?: unknown; timeoutMs?: number } = {},
): Promise<Http> {
  const headers: Record<string, string> = {};
  if (opts.key) headers["x-api-key"] = opts.key;
  if (opts.admin) headers["x-admin-api-key"] = ADMIN;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const started = performance.now();
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
    signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
  });
  const raw = await res.text();
  let body: unknown = raw;
  try {
    body = raw ? JSON.parse(raw) : null;
  } catch {}
  return { status: res.status, body, raw, headers: res.headers, ms: performance.now() - started };
}

export async function newUser(
  base: string,
  email: string,
  opts: { maxBots?: number; webhookUrl?: string } = {},
): Promise<{ id: number; key: string }> {
  const u = await http(base, "POST", "/admin/users", {
    admin: true,
    body: { email, max_concurrent_bots: opts.maxBots ?? 20 },
  });
  if (u.status !== 201 && u.status !== 200) throw new Error(`create user: ${u.status} ${u.raw}`);
  const t = await http(base, "POST", `/admin/users/${u.body.id}/tokens`, { admin: true });
  if (t.status !== 201) throw new Error(`create token: ${t.status} ${t.raw}`);
  const key = t.body.token as string;
  if (opts.webhookUrl) {
    const w = await http(base, "PUT", "/user/webhook", { key, body: { webhook_url: opts.webhookUrl } });
    if (w.status !== 200) throw new Error(`set webhook: ${w.status} ${w.raw}`);
  }
  return { id: u.body.id as number, key };
}

/** A Google Meet id (`abc-defg-hij`) unique per (tag, n). */
export function meetId(tag: string, n: number): string {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  let x = n;
  let s = "";
  for (let i = 0; i < 7; i++) {
    s += letters[x % 26];
    x = Math.floor(x / 26);
  }
  const t = `${tag}zzz`.slice(0, 3).toLowerCase();
  return `${t}-${s.slice(0, 4)}-${s.slice(4, 7)}`;
}

export interface MeetingState {
  id: number;
  native: string;
  status: string;
  cached: boolean;
  deleted: boolean;
  stored: number;
  distinctKeys: number;
}

export async function meetingStates(world: World): Promise<MeetingState[]> {
  const res = await world.pool.query<MeetingState>(
    `SELECT m.id, m.platform_specific_id AS native, m.status,
            m.transcript_cached AS cached, m.upstream_deleted AS deleted,
            (SELECT count(*)::int FROM transcriptions t WHERE t.meeting_id = m.id) AS stored,
            (SELECT count(DISTINCT segment_key)::int FROM transcriptions t WHERE t.meeting_id = m.id) AS "distinctKeys"
       FROM meetings m ORDER BY m.id`,
  );
  return res.rows;
}

/** The stored transcript of one meeting, read the way the retailer serves it. */
export async function storedSegments(world: World, meetingId: number): Promise<Seg[]> {
  return readSegments(
    {
      query: async (sql, params) =>
        ((r) => ({ rows: r.rows, rowCount: r.rowCount ?? 0 }))(await world.pool.query(sql, params)),
    },
    meetingId,
  ) as Promise<Seg[]>;
}

/**
 * Stored == the wholesaler's final transcript, segment by segment. `created_at` is compared only where both have
 * one: the wholesaler prints null until a segment is 30 s old, so a later read may show a value the pull did not.
 */
export function sameTranscript(stored: Seg[], final: Seg[]): string | null {
  if (stored.length !== final.length)
    return `stored ${stored.length} segments, wholesaler had ${final.length}`;
  for (let i = 0; i < stored.length; i++) {
    const a = stored[i] as Seg;
    const b = final[i] as Seg;
    const { created_at: ca, ...ra } = a;
    const { created_at: cb, ...rb } = b;
    if (JSON.stringify(ra) !== JSON.stringify(rb))
      return `segment ${i}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`;
    if (ca !== null && cb !== null && ca !== cb) return `segment ${i} created_at ${ca} != ${cb}`;
  }
  return null;
}

/**
 * Adds finished segments to a live meeting once its bot hears audio (1-3 s after it joins): before that there is
 * no stretch of the meeting they could have been spoken in.
 */
export async function addSpokenSegments(w: World, nativeId: string, count: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      w.sandbox.addSegments("google_meet", nativeId, count);
      return;
    } catch (err) {
      // 409: the meeting has no stretch yet that the segments could have been spoken in.
      if (!(err instanceof SandboxHttpError && err.status === 409) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Waits for a SIGKILLed process to be gone; fails if it exited any other way. */
export async function expectKilled(node: Node, timeoutMs: number): Promise<void> {
  const code = await Promise.race([
    node.proc.exited,
    new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs)),
  ]);
  if (code === "timeout") throw new Error("the process did not crash at its CHAOS_CRASH_AT step in time");
  if (node.proc.proc.signalCode !== "SIGKILL")
    throw new Error(`expected death by SIGKILL, got code=${code} signal=${node.proc.proc.signalCode}
${node.proc.stderr().slice(-2000)}`);
}

export async function kill9(node: Node): Promise<void> {
  if (node.proc.proc.exitCode === null && node.proc.proc.signalCode === null) node.proc.proc.kill("SIGKILL");
  await node.proc.exited;
}

export { waitFor };
