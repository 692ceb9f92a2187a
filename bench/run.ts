import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { createDb, type Db } from "../src/db/client.js";
import type { Segment } from "../src/meetings/transcript-store.js";
import { addSegmentsWhenRoom, call, expectStatus, meetId } from "./lib/http.js";
import { edgeNote, failureNote, type LoadOptions, type LoadResult, warmThenLoad } from "./lib/load.js";
import {
  buildProduct,
  type Child,
  cpuWindow,
  freePort,
  makeWorkDir,
  ROOT,
  removeDir,
  rssBytes,
  sampleRss,
  sleep,
  startChild,
  stopAll,
  waitFor,
} from "./lib/procs.js";
import { formatSummary, type ProfileSummary, profilesIn, summarizeProfile } from "./lib/profile.js";
import { markdownTable, mb, ms, pct, type Row, rps, textTable, verdict } from "./lib/report.js";
import { pushScenario } from "./push.js";

// ---------------------------------------------------------------------------------------------------------------
// Options and profile
// ---------------------------------------------------------------------------------------------------------------

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    db: { type: "string", default: "auto" },
    runtime: { type: "string", default: "dist" },
    "log-level": { type: "string", default: "info" },
    "reader-rate": { type: "string", default: "1" },
    "keep-work": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    "node-options": { type: "string", default: "" },
    only: { type: "string", default: "" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (flags.help) {
  process.stdout.write(`usage: npm run bench -- [--quick] [--db auto|pg|pglite] [--runtime dist|tsx]
  [--log-level info|warn|...] [--reader-rate 1] [--keep-work] [--profile] [--node-options "..."]
  [--only live,readers,finished,bots]
See docs/bench.md.\n`);
  process.exit(0);
}

const QUICK = Boolean(flags.quick);
/** The scenarios: live (1), readers (2), finished (3 and the finalization store, 4), bots (5), push (6). */
const SCENARIOS = ["live", "readers", "finished", "bots", "push"] as const;
type Scenario = (typeof SCENARIOS)[number];
const ONLY = new Set<string>(
  flags.only
    ? String(flags.only)
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean)
    : SCENARIOS,
);
for (const o of ONLY)
  if (!(SCENARIOS as readonly string[]).includes(o))
    throw new Error(`--only: unknown scenario ${o} (known: ${SCENARIOS.join(", ")})`);
const want = (s: Scenario) => ONLY.has(s);
const P = QUICK
  ? {
      warmS: 0.5,
      liveS: 2,
      readersWarmS: 1,
      readersS: 2.5,
      finWarmS: 0.5,
      finS: 2,
      storeRuns: 2,
      storeWarmRuns: 1,
      postWarmN: 50,
      postN: 300,
      // A server that has not answered all 500 readers in 5 s fails the run either way; waiting 15 s to say so
      // would take the quick run past its two minutes.
      rampCapS: 5,
    }
  : {
      warmS: 3,
      liveS: 10,
      readersWarmS: 5,
      readersS: 20,
      finWarmS: 3,
      finS: 15,
      storeRuns: 15,
      storeWarmRuns: 2,
      postWarmN: 300,
      postN: 2500,
      rampCapS: 15,
    };
const LIVE_SEGMENTS = 200;
const FINISHED_SEGMENTS = 10_000;
const READERS = 500;
/** The direct wholesaler's closed-loop capacity is re-measured with this many connections if it cannot serve 500. */
const DIRECT_CAPACITY_CONNECTIONS = 50;
const READER_USERS = 50;
const READER_RATE = Number(flags["reader-rate"]);
const READER_STAGGER_GROUPS = 50;
/** Share of the machine used by other processes above which a full-mode run is measured again. */
const NOISY = 0.25;
const THROUGHPUT_CONNECTIONS = 16;
const FINISHED_CONNECTIONS = 10;
const POST_CONNECTIONS = 10;
const POST_USERS = 40;
const ADMIN_TOKEN = `bench-admin-${randomBytes(16).toString("hex")}`;
const PG_SERVER =
  process.env.BENCH_PG_URL ?? process.env.TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;

/**
 * How `npm start` runs the retailer (package.json `scripts.start`: `[VAR=value ...] node [flags ...] dist/main.js`):
 * the bench runs it the same way. `--node-options` replaces the flags (`none`: no flags), to compare.
 */
function startCommand(): { env: Record<string, string>; nodeFlags: string[]; script: string } {
  const script: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts.start;
  const words = script.trim().split(/\s+/);
  const env: Record<string, string> = {};
  while (words[0] && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) {
    const [k, ...v] = (words.shift() ?? "").split("=");
    env[k ?? ""] = v.join("=");
  }
  if (words.shift() !== "node" || words[words.length - 1] !== "dist/main.js")
    throw new Error(`package.json start is not "[VAR=value ...] node [flags] dist/main.js": ${script}`);
  const fromStart = words.slice(0, -1);
  const given = String(flags["node-options"]).trim();
  const nodeFlags = given === "" ? fromStart : given === "none" ? [] : given.split(/\s+/);
  return { env, nodeFlags, script };
}
const START = startCommand();

const t0 = Date.now();
const log = (msg: string) =>
  process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}\n`);

// ---------------------------------------------------------------------------------------------------------------
// Database: a private schema on the real server when it answers, else PGlite
// ---------------------------------------------------------------------------------------------------------------

interface DbChoice {
  kind: "pg" | "pglite";
  description: string;
  env: Record<string, string>;
  /** The retailer's database for direct use by the harness (store timing); opened when needed. */
  open(): Promise<Db>;
  drop(): Promise<void>;
}

async function pgAnswers(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: PG_SERVER, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    const r = await c.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    return r.rows[0]?.v;
  } catch {
    return undefined;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function chooseDb(work: string): Promise<DbChoice> {
  const version = flags.db === "pglite" ? undefined : await pgAnswers();
  if (flags.db === "pg" && !version) throw new Error(`--db pg: no PostgreSQL answers at ${PG_SERVER}`);
  if (version) {
    const schema = `bench_${randomBytes(5).toString("hex")}`;
    const admin = new pg.Client({ connectionString: PG_SERVER });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const url = `${PG_SERVER}${PG_SERVER.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    return {
      kind: "pg",
      description: `PostgreSQL ${version} at ${PG_SERVER.replace(/\/\/[^@]*@/, "//")}, private schema ${schema} (dropped at the end)`,
      env: { DATABASE_URL: url, QUEUE_SCHEMA: `${schema}_boss` },
      open: () => createDb({ kind: "pg", url, poolSize: 2 }),
      async drop() {
        const c = new pg.Client({ connectionString: PG_SERVER });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await c.query(`DROP SCHEMA IF EXISTS ${schema}_boss CASCADE`);
        await c.end();
      },
    };
  }
  const dataDir = join(work, "pgdata");
  return {
    kind: "pglite",
    description: `PGlite (embedded, file-backed at a temporary directory): no PostgreSQL answered at ${PG_SERVER.replace(/\/\/[^@]*@/, "//")}`,
    env: { DATA_DIR: dataDir },
    open: () => createDb({ kind: "pglite", dataDir }),
    drop: async () => undefined,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------------------------

interface Sandbox {
  child: Child;
  url: string;
  key: string;
  secret: string;
  headers: Record<string, string>;
  calls(): Promise<Record<string, number>>;
  addSegments(nativeId: string, count: number): Promise<void>;
  end(nativeId: string): Promise<void>;
}

async function startSandbox(
  dist: string,
  work: string,
  name = "sandbox",
  extraArgs: string[] = [],
): Promise<Sandbox> {
  const port = await freePort();
  const key = `sbx-${randomBytes(12).toString("hex")}`;
  const secret = randomBytes(16).toString("hex");
  const url = `http://127.0.0.1:${port}`;
  const args =
    flags.runtime === "tsx"
      ? ["--import", "tsx", join(ROOT, "src", name, "cli.ts")]
      : [join(dist, "sandbox", "cli.js")];
  const child = startChild(
    "sandbox",
    [
      ...args,
      "--port",
      String(port),
      "--api-key",
      key,
      "--webhook-secret",
      secret,
      "--max-concurrent-bots",
      "1000000",
      ...extraArgs,
    ],
    {},
    join(work, "logs"),
  );
  const headers = { "x-api-key": key };
  await waitFor(
    "the sandbox",
    async () => (await call("GET", `${url}/_sandbox/calls`, { headers })).status === 200,
    {
      child,
    },
  );
  const meeting = (id: string) => `${url}/_sandbox/meetings/google_meet/${id}`;
  return {
    child,
    url,
    key,
    secret,
    headers,
    calls: async () =>
      (await expectStatus("sandbox calls", call("GET", `${url}/_sandbox/calls`, { headers }), 200)).body,
    addSegments: (id, count) =>
      addSegmentsWhenRoom(() => call("POST", `${meeting(id)}/segments`, { headers, body: { count } })),
    end: async (id) => {
      await expectStatus(
        "end meeting",
        call("POST", `${meeting(id)}/end`, { headers, body: { status: "completed" } }),
        200,
        201,
        202,
        204,
      );
    },
  };
}

interface Retailer {
  child: Child;
  url: string;
  adminUrl: string;
  ttlMs: number;
  stop(): Promise<void>;
}

async function startRetailer(
  name: string,
  what: string,
  ttlMs: number,
  ctx: { dist: string; work: string; db: DbChoice; sandbox: Sandbox; extraEnv?: Record<string, string> },
): Promise<Retailer> {
  const gatewayPort = await freePort();
  const adminPort = await freePort();
  const url = `http://127.0.0.1:${gatewayPort}`;
  const env: Record<string, string> = {
    NODE_ENV: "production",
    ROLE: "all",
    HOST: "127.0.0.1",
    API_GATEWAY_PORT: String(gatewayPort),
    ADMIN_API_PORT: String(adminPort),
    BOT_MANAGER_PORT: String(await freePort()),
    VEXA_INFRA_API_URL: ctx.sandbox.url,
    VEXA_INFRA_API_KEY: ctx.sandbox.key,
    WHOLESALER_WEBHOOK_SECRET: ctx.sandbox.secret,
    RETAILER_PUBLIC_URL: url,
    ADMIN_API_TOKEN: ADMIN_TOKEN,
    TRANSCRIPT_CACHE_TTL_MS: String(ttlMs),
    RATE_LIMIT_PER_SECOND: "0",
    LOG_LEVEL: String(flags["log-level"]),
    // The environment `npm start` sets (MALLOC_ARENA_MAX and the like).
    ...START.env,
    ...ctx.db.env,
    ...(ctx.extraEnv ?? {}),
  };
  const profileDir = join(ctx.work, "profiles", name);
  const nodeArgs = [
    ...START.nodeFlags,
    ...(flags.profile ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
  ];
  const args =
    flags.runtime === "tsx" ? ["--import", "tsx", join(ROOT, "src", "main.ts")] : [join(ctx.dist, "main.js")];
  const child = startChild(name, [...nodeArgs, ...args], env, join(ctx.work, "logs"));
  await waitFor(
    `${name} /ready and its admin port`,
    async () =>
      (await call("GET", `${url}/ready`)).status === 200 &&
      (await call("GET", `http://127.0.0.1:${adminPort}/health`)).status === 200,
    { child, timeoutMs: 60_000 },
  );
  return {
    child,
    url,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    ttlMs,
    async stop() {
      await child.stop();
      for (const f of profilesIn(profileDir)) {
        const summary = summarizeProfile(f);
        profiles.push({ title: `${name} (${what})`, summary });
        log(
          `profile of ${name}: ${summary.areas
            .slice(0, 6)
            .map((x) => `${x.area} ${(x.share * 100).toFixed(0)}%`)
            .join(", ")}`,
        );
      }
    },
  };
}

async function newUser(r: Retailer, tag: string, maxBots: number): Promise<{ id: number; key: string }> {
  const adminKey = { "x-admin-api-key": ADMIN_TOKEN };
  const email = `${tag}-${randomBytes(4).toString("hex")}@bench.example.com`;
  const u = await expectStatus(
    "create user",
    call("POST", `${r.adminUrl}/admin/users`, {
      headers: adminKey,
      body: { email, max_concurrent_bots: maxBots },
    }),
    200,
    201,
  );
  const t = await expectStatus(
    "create token",
    call("POST", `${r.adminUrl}/admin/users/${u.body.id}/tokens`, { headers: adminKey }),
    201,
  );
  return { id: u.body.id, key: t.body.token };
}

async function postBot(r: Retailer, key: string, nativeId: string): Promise<any> {
  return (
    await expectStatus(
      `POST /bots ${nativeId}`,
      call("POST", `${r.url}/bots`, {
        headers: { "x-api-key": key },
        body: { platform: "google_meet", native_meeting_id: nativeId },
      }),
      201,
    )
  ).body;
}

// ---------------------------------------------------------------------------------------------------------------
// Finalization storage timing (directly against the retailer's database)
// ---------------------------------------------------------------------------------------------------------------

type StoreModule = typeof import("../src/meetings/transcript-store.js");

/** The measured build's own transcript-store module, so the timed storeSegments is exactly the code under test. */
async function storeModule(dist: string): Promise<StoreModule> {
  const file =
    flags.runtime === "tsx"
      ? join(ROOT, "src", "meetings", "transcript-store.ts")
      : join(dist, "meetings", "transcript-store.js");
  return (await import(pathToFileURL(file).href)) as StoreModule;
}

async function bulkInsert(
  db: Db,
  meetingId: number,
  segments: Segment[],
  segmentKey: StoreModule["segmentKey"],
): Promise<void> {
  const col = <T>(f: (s: Segment, i: number) => T) => segments.map(f);
  await db.query(
    `INSERT INTO transcriptions (meeting_id, start_time, end_time, text, speaker, language, created_at, created_at_text,
                                 absolute_start_time, absolute_end_time, segment_key, seq)
     SELECT $1, t.start_time, t.end_time, t.text, t.speaker, t.language, t.created_at_text::timestamp, t.created_at_text,
            t.abs_start, t.abs_end, t.segment_key, t.seq
       FROM unnest($2::float8[], $3::float8[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::int[])
         AS t(start_time, end_time, text, speaker, language, created_at_text, abs_start, abs_end, segment_key, seq)`,
    [
      meetingId,
      col((s) => s.start),
      col((s) => s.end),
      col((s) => s.text),
      col((s) => s.speaker),
      col((s) => s.language),
      col((s) => s.created_at),
      col((s) => s.absolute_start_time),
      col((s) => s.absolute_end_time),
      col((s) => segmentKey(s)),
      col((_s, i) => i),
    ],
  );
}

interface StoreTimings {
  runs: number;
  segments: number;
  baselineMs: number[];
  freshMs: number[];
  overCheckpointMs: number[];
}

async function storeBench(
  db: Db,
  segments: Segment[],
  runs: number,
  mod: StoreModule,
): Promise<StoreTimings> {
  const { storeSegments, segmentKey } = mod;
  const owner = await db.query<{ id: number }>("SELECT min(id) AS id FROM users");
  const userId = owner.rows[0]?.id;
  if (userId === undefined) throw new Error("no user to own the store-benchmark meetings");
  let n = 0;
  const meeting = async () =>
    (
      await db.query<{ id: number }>(
        `INSERT INTO meetings (user_id, platform, platform_specific_id, status, data)
         VALUES ($1, 'google_meet', $2, 'completed', '{}'::jsonb) RETURNING id`,
        [userId, meetId("sto", n++)],
      )
    ).rows[0]?.id as number;
  const discard = async (id: number) => {
    await db.query("DELETE FROM transcriptions WHERE meeting_id = $1", [id]);
    await db.query("DELETE FROM meetings WHERE id = $1", [id]);
  };
  // A checkpoint taken a few seconds before the end: the newest 50 segments missing, the last 20 revised since.
  const checkpointSegs = segments
    .slice(0, segments.length - 50)
    .map((s, i, a) => (i >= a.length - 20 ? { ...s, text: `${s.text} (first pass)` } : s));
  const timed = async (f: (id: number) => Promise<void>, prepare?: (id: number) => Promise<void>) => {
    const id = await meeting();
    if (prepare) await prepare(id);
    const started = performance.now();
    await f(id);
    const took = performance.now() - started;
    await discard(id);
    return took;
  };
  const out: StoreTimings = {
    runs,
    segments: segments.length,
    baselineMs: [],
    freshMs: [],
    overCheckpointMs: [],
  };
  const store = (id: number) =>
    db.tx((tx) =>
      storeSegments(tx, id, segments, { replace: true, storedAt: new Date().toISOString().slice(0, 23) }),
    );
  for (let i = -P.storeWarmRuns; i < runs; i++) {
    // Interleaved so drift (autovacuum, page cache) hits all three alike; the first rounds are warm-up.
    const b = await timed((id) => bulkInsert(db, id, segments, segmentKey));
    const f = await timed(store);
    const c = await timed(store, (id) =>
      db.tx((tx) =>
        storeSegments(tx, id, checkpointSegs, {
          replace: false,
          storedAt: new Date().toISOString().slice(0, 23),
        }),
      ),
    );
    if (i >= 0) {
      out.baselineMs.push(b);
      out.freshMs.push(f);
      out.overCheckpointMs.push(c);
    }
  }
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? Number.NaN) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

// ---------------------------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------------------------

const rows: Row[] = [];
const measured: LoadResult[] = [];
/**
 * Warm-up + measured run; the measured one is kept for the machine-load table. In full mode a run during which
 * other processes took more than NOISY of the machine is repeated once and the quieter of the two is kept
 * (both sides of every comparison get the same rule).
 */
async function measure(
  given: LoadOptions,
  warmS: number,
  opts: { retry?: boolean } = {},
): Promise<LoadResult> {
  const o = { rampCapS: P.rampCapS, ...given };
  let r = await warmThenLoad(o, warmS);
  if (!QUICK && opts.retry !== false && (r.cpu?.other ?? 0) > NOISY) {
    log(`${o.title}: other processes took ${pct(r.cpu?.other ?? 0)} of the machine; measuring again`);
    const again = await warmThenLoad(o, 0);
    if ((again.cpu?.other ?? 0) < (r.cpu?.other ?? 0)) r = again;
  }
  measured.push(r);
  const edge = edgeNote(r);
  if (edge) notes.push(edge);
  return r;
}

/**
 * The floor of a scenario, measured like it: a bare node:http server in its own process answering every request
 * with the same bytes the retailer sent (bench/floor-server.ts). Each ratio can be read against it.
 */
async function floorRun(
  work: string,
  name: string,
  body: string,
  o: Omit<LoadOptions, "url" | "title">,
  warmS: number,
  status = 200,
): Promise<LoadResult & { rssPeakBytes: number }> {
  const file = join(work, `floor-${name.replace(/[^\w=-]+/g, "_")}.json`);
  writeFileSync(file, body);
  const port = await freePort();
  const child = startChild(
    `floor-${name.replace(/[^\w=-]+/g, "_")}`,
    // Plain node (it strips the types itself): no loader in the floor's CPU or start-up time.
    [join(ROOT, "bench", "floor-server.ts")],
    { BODY_FILE: file, STATUS: String(status), PORT: String(port) },
    join(work, "logs"),
  );
  try {
    const url = `http://127.0.0.1:${port}/`;
    await waitFor(`the floor server (${name})`, async () => (await fetch(url)).status === status, { child });
    // Its memory too: what a bare node:http process needs for the same connections and answers.
    const rss = sampleRss(child.pid, 100);
    const r = await measure({ title: `floor: ${name}`, url, ...o }, warmS);
    return { ...r, rssPeakBytes: rss.stop().peakBytes };
  } finally {
    await child.stop();
  }
}

const floorRow = (scenario: string, metric: string, retailer: string, floor: string, ratio: string): Row => ({
  scenario,
  metric: `${metric}: floor (bare node:http, same bytes)`,
  retailer,
  baseline: floor,
  ratio,
  target: "—",
  result: "info",
});

/** All statements so far, and the named (hot-path) ones by name. */
async function dbCounts(r: { url: string }): Promise<{ total: number; named: Record<string, number> }> {
  const text = await (await fetch(`${r.url}/metrics`)).text();
  const m = /^retailer_db_statements_total (\d+(?:\.\d+)?)/m.exec(text);
  const named: Record<string, number> = {};
  for (const x of text.matchAll(/^retailer_db_named_statements_total\{name="([^"]+)"\} (\d+(?:\.\d+)?)/gm))
    named[x[1] ?? ""] = Number(x[2]);
  return { total: m ? Number(m[1]) : Number.NaN, named };
}

/** The meeting-view lookup of a transcript read (src/services/meeting-views.ts) and the API-key lookup. */
const VIEW_STATEMENT = "latest-user-meeting";
const AUTH_STATEMENT = "verify-api-key";

const profiles: { title: string; summary: ProfileSummary }[] = [];
const raw: Record<string, unknown> = {};
const notes: string[] = [];

function checkLoads(...rs: LoadResult[]): { ok: boolean; note?: string } {
  const ns = rs.map(failureNote).filter((n): n is string => Boolean(n));
  if (ns.length === 0) return { ok: true };
  notes.push(...ns);
  return { ok: false, note: ns.join("; ") };
}

let codeState: { head: string; dirty: string[] } = { head: "", dirty: [] };

async function main(): Promise<void> {
  const work = makeWorkDir();
  let db: DbChoice | undefined;
  let pushDb: DbChoice | undefined;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await stopAll();
    for (const d of [db, pushDb])
      await d?.drop().catch((err) => log(`could not drop the bench schema: ${String(err)}`));
    if (!flags["keep-work"]) removeDir(work);
    else log(`work directory kept: ${work}`);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping children and dropping the schema`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  try {
    log(`${QUICK ? "quick" : "full"} run; work directory ${work}`);
    codeState = gitState();
    if (codeState.dirty.length)
      log(`measuring HEAD (${codeState.head}) plus uncommitted changes: ${codeState.dirty.join(", ")}`);
    let dist = join(ROOT, "src");
    if (flags.runtime !== "tsx") {
      const built = buildProduct();
      dist = built.dist;
      if (built.warnings)
        notes.push(
          `tsc reported type errors in src (the build was emitted and measured anyway):\n${built.warnings.slice(0, 2000)}`,
        );
      log(`built the product with tsc into ${dist}${built.warnings ? " (with type errors, see notes)" : ""}`);
    }
    db = await chooseDb(work);
    log(`database: ${db.description}`);
    const storeMod = await storeModule(dist);
    const sandbox = await startSandbox(dist, work);
    log(`sandbox wholesaler (child pid ${sandbox.child.pid}) at ${sandbox.url}`);
    const ctx = { dist, work, db, sandbox };

    // The 50 reader users (the first owns the bot) and one live meeting they all share, set up through the first
    // retailer started.
    let live:
      | {
          readers: { id: number; key: string }[];
          owner: { id: number; key: string };
          directLiveUrl: string;
          retailerLivePath: string;
          segments: number;
        }
      | undefined;
    const prepareLive = async (r: Retailer) => {
      if (live) return live;
      const readers: { id: number; key: string }[] = [];
      for (let i = 0; i < READER_USERS; i++) readers.push(await newUser(r, `reader${i}`, 10));
      const [owner] = readers;
      if (!owner) throw new Error("no users");
      const LIVE = "liv-ebnc-hmk";
      for (const u of readers) await postBot(r, u.key, LIVE); // first one buys the bot, the rest share it
      // Move the sandbox's content cursor past every attachment, so every reader's window holds the whole transcript
      // (addSegments waits for the room the sandbox places segments in, between the bot's join and now).
      await sleep(20);
      await sandbox.addSegments(LIVE, 1);
      await sleep(20);
      await sandbox.addSegments(LIVE, LIVE_SEGMENTS);
      const directLiveUrl = `${sandbox.url}/transcripts/google_meet/${LIVE}`;
      const retailerLivePath = `/transcripts/google_meet/${LIVE}`;
      const direct = await expectStatus(
        "direct live read",
        call("GET", directLiveUrl, { headers: sandbox.headers }),
        200,
      );
      const viaOwner = await expectStatus(
        "retailer live read",
        call("GET", `${r.url}${retailerLivePath}`, { headers: { "x-api-key": owner.key } }),
        200,
      );
      const lastReader = readers[readers.length - 1] ?? owner;
      const viaLast = await expectStatus(
        "retailer live read",
        call("GET", `${r.url}${retailerLivePath}`, { headers: { "x-api-key": lastReader.key } }),
        200,
      );
      const liveShape = {
        segmentsDirect: direct.body.segments.length,
        segmentsRetailerFirstUser: viaOwner.body.segments.length,
        segmentsRetailerLastUser: viaLast.body.segments.length,
        bytesDirect: direct.bytes,
        bytesRetailer: viaOwner.bytes,
      };
      raw.liveTranscript = liveShape;
      log(`live meeting: ${JSON.stringify(liveShape)}`);
      if (Math.abs(liveShape.segmentsDirect - liveShape.segmentsRetailerLastUser) > 2)
        notes.push(
          `live transcript sizes differ between direct and retailer reads: ${JSON.stringify(liveShape)}`,
        );
      live = { readers, owner, directLiveUrl, retailerLivePath, segments: liveShape.segmentsDirect };
      return live;
    };

    if (want("live")) {
      // ---- Phase A: retailer with caching off ------------------------------------------------------------------
      const a = await startRetailer("retailer-cache-off", "scenario 1: live reads, cache off", 0, ctx);
      log(`retailer A (TRANSCRIPT_CACHE_TTL_MS=0, pid ${a.child.pid}) at ${a.url}`);
      const { owner, directLiveUrl, retailerLivePath, segments: liveSegments } = await prepareLive(a);
      // Scenario 1: proxy overhead, caching off.
      log("scenario 1: live read, caching off — latency (1 connection) and throughput (16 connections)");
      const liveBase = (conns: number): Omit<LoadOptions, "title" | "url"> => ({
        connections: conns,
        durationS: P.liveS,
      });
      const dLat = await measure(
        { title: "direct live read c=1", url: directLiveUrl, headers: sandbox.headers, ...liveBase(1) },
        P.warmS,
      );
      const rLat = await measure(
        {
          title: "retailer live read c=1",
          url: `${a.url}${retailerLivePath}`,
          headers: { "x-api-key": owner.key },
          ...liveBase(1),
        },
        P.warmS,
      );
      const dTp = await measure(
        {
          title: `direct live read c=${THROUGHPUT_CONNECTIONS}`,
          url: directLiveUrl,
          headers: sandbox.headers,
          ...liveBase(THROUGHPUT_CONNECTIONS),
        },
        P.warmS,
      );
      const rTp = await measure(
        {
          title: `retailer live read c=${THROUGHPUT_CONNECTIONS}`,
          url: `${a.url}${retailerLivePath}`,
          headers: { "x-api-key": owner.key },
          ...liveBase(THROUGHPUT_CONNECTIONS),
        },
        P.warmS,
      );
      const liveBytes = await (
        await fetch(`${a.url}${retailerLivePath}`, { headers: { "x-api-key": owner.key } })
      ).text();
      const fLat = await floorRun(work, "live read c=1", liveBytes, liveBase(1), P.warmS);
      const fTp = await floorRun(
        work,
        `live read c=${THROUGHPUT_CONNECTIONS}`,
        liveBytes,
        liveBase(THROUGHPUT_CONNECTIONS),
        P.warmS,
      );
      raw.liveReadCacheOff = {
        direct: { latency: dLat, throughput: dTp },
        retailer: { latency: rLat, throughput: rTp },
        floor: { latency: fLat, throughput: fTp },
      };
      {
        const chk = checkLoads(dLat, rLat, dTp, rTp);
        const s = `Live read, cache off (${liveSegments} segments)`;
        const delta = rLat.p50 - dLat.p50;
        rows.push({
          scenario: s,
          metric: "p50 latency, 1 connection",
          retailer: ms(rLat.p50),
          baseline: ms(dLat.p50),
          ratio: `+${delta.toFixed(2)} ms`,
          target: "≤ direct + 0.5 ms",
          result: chk.ok ? verdict(delta <= 0.5) : "ERROR",
          ...(chk.note ? { note: chk.note } : {}),
        });
        rows.push({
          scenario: s,
          metric: "p99 latency, 1 connection",
          retailer: ms(rLat.p99),
          baseline: ms(dLat.p99),
          ratio: `+${(rLat.p99 - dLat.p99).toFixed(2)} ms`,
          target: "—",
          result: "info",
        });
        rows.push({
          scenario: s,
          metric: `throughput, ${THROUGHPUT_CONNECTIONS} connections`,
          retailer: rps(rTp.rps),
          baseline: rps(dTp.rps),
          ratio: pct(rTp.rps / dTp.rps),
          target: "≥ 70% of direct",
          result: chk.ok ? verdict(rTp.rps / dTp.rps >= 0.7) : "ERROR",
        });
        rows.push(
          floorRow(
            s,
            "p50 latency, 1 connection",
            ms(rLat.p50),
            ms(fLat.p50),
            `+${(rLat.p50 - fLat.p50).toFixed(2)} ms`,
          ),
        );
        rows.push(
          floorRow(
            s,
            `throughput, ${THROUGHPUT_CONNECTIONS} connections`,
            rps(rTp.rps),
            rps(fTp.rps),
            pct(rTp.rps / fTp.rps),
          ),
        );
        rows.push({
          scenario: s,
          metric: `p50 / p99 latency, ${THROUGHPUT_CONNECTIONS} connections`,
          retailer: `${ms(rTp.p50)} / ${ms(rTp.p99)}`,
          baseline: `${ms(dTp.p50)} / ${ms(dTp.p99)}`,
          ratio: "",
          target: "—",
          result: "info",
        });
      }
      await a.stop();
      log("retailer A stopped");
    }

    if (want("readers")) {
      // ---- Phase B: a fresh retailer with the default cache, for the readers (its RSS is theirs alone) -------------
      const b = await startRetailer("retailer-readers", "scenario 2: 500 readers", 1000, ctx);
      await sleep(500);
      const idleRss = rssBytes(b.child.pid) ?? 0;
      log(
        `retailer B (TRANSCRIPT_CACHE_TTL_MS=1000, pid ${b.child.pid}) at ${b.url}; idle RSS ${mb(idleRss)}`,
      );
      raw.retailerIdleRssBytes = idleRss;
      const { readers, owner, directLiveUrl, retailerLivePath } = await prepareLive(b);
      const liveBytes = await (
        await fetch(`${b.url}${retailerLivePath}`, { headers: { "x-api-key": owner.key } })
      ).text();

      // Scenario 2: 500 readers of one live meeting, default cache.
      const TRANSCRIPT_ROUTE = "GET /transcripts/{platform}/{native_meeting_id}";
      let keyTurn = 0;
      const rotateKeys = (req: any) => ({
        ...req,
        headers: {
          ...(req.headers ?? {}),
          "x-api-key": readers[keyTurn++ % readers.length]?.key ?? owner.key,
        },
      });
      type ReaderKind = "staggered" | "synchronized" | "closed";
      const readersRun = async (kind: ReaderKind) => {
        const paced = kind !== "closed";
        const label =
          kind === "staggered"
            ? `${READERS} readers, each polling ${READER_RATE}×/s at its own phase`
            : kind === "synchronized"
              ? `${READERS} readers, all polling ${READER_RATE}×/s on the same tick`
              : `${READERS} readers, closed loop`;
        log(`scenario 2: ${label}`);
        const common = {
          connections: READERS,
          durationS: P.readersS,
          ...(paced ? { connectionRate: READER_RATE } : {}),
          ...(kind === "staggered" ? { staggerGroups: READER_STAGGER_GROUPS } : {}),
        };
        // The same request-building path on the client side for both (setupRequest per request).
        const sameKey = (req: any) => ({ ...req, headers: { ...(req.headers ?? {}), ...sandbox.headers } });
        // --quick measures the wholesaler's closed-loop capacity at the smaller count at once: the sandbox has
        // never served all 500 at once (every full run falls back below), and waiting out that ramp-up took the
        // quick run past two minutes.
        const fewer = QUICK && kind === "closed";
        if (fewer)
          notes.push(
            `direct ${label}: measured at ${DIRECT_CAPACITY_CONNECTIONS} connections (--quick; a full run tries ${READERS} first)`,
          );
        let d = await measure(
          {
            title: `direct ${label}${fewer ? `, ${DIRECT_CAPACITY_CONNECTIONS} connections` : ""}`,
            url: directLiveUrl,
            setupRequest: sameKey,
            ...common,
            connections: fewer ? DIRECT_CAPACITY_CONNECTIONS : READERS,
          },
          P.readersWarmS,
        );
        // A wholesaler that cannot serve 500 connections at once still has a capacity: for the closed loop (a
        // throughput ratio), measure it again with fewer connections, where it answers every one, and say so.
        const directFailure = kind === "closed" ? failureNote(d) : undefined;
        if (directFailure) {
          const few = await measure(
            {
              title: `direct ${label}, ${DIRECT_CAPACITY_CONNECTIONS} connections`,
              url: directLiveUrl,
              setupRequest: sameKey,
              ...common,
              connections: DIRECT_CAPACITY_CONNECTIONS,
            },
            P.readersWarmS,
          );
          if (!failureNote(few)) {
            notes.push(
              `${directFailure}. The direct closed-loop throughput is therefore taken at ${DIRECT_CAPACITY_CONNECTIONS} connections, where the wholesaler answered every one: ${rps(few.rps)} (at ${READERS}: ${rps(d.rps)} from the connections it served)`,
            );
            d = few;
          }
        }
        // Warm-up, then the measured run with the wholesaler's counters and the retailer's RSS sampled around it.
        await warmThenLoad(
          {
            title: `retailer ${label} (warm-up)`,
            url: `${b.url}${retailerLivePath}`,
            setupRequest: rotateKeys,
            ...common,
            durationS: P.readersWarmS,
          },
          0,
        );
        // The wholesaler's counters, the retailer's statement counts and its RSS, read around the measured window.
        let rss: ReturnType<typeof sampleRss> | undefined;
        const r = await measure(
          {
            title: `retailer ${label}`,
            url: `${b.url}${retailerLivePath}`,
            setupRequest: rotateKeys,
            ...common,
            onWindow: async (edge) => {
              const at = performance.now();
              if (edge === "open") rss = sampleRss(b.child.pid, 100);
              const mem = edge === "close" ? rss?.stop() : undefined;
              return { calls: await sandbox.calls(), statements: await dbCounts(b), mem, at };
            },
          },
          0,
        );
        type Reading = { calls: Record<string, number>; statements: Awaited<ReturnType<typeof dbCounts>> };
        const opened = r.window.open as Reading & { at: number };
        const closed = r.window.close as Reading & {
          at: number;
          mem: ReturnType<ReturnType<typeof sampleRss>["stop"]>;
        };
        const seconds = (closed.at - opened.at) / 1000;
        const mem = closed.mem;
        const before = opened.calls;
        const after = closed.calls;
        const statements = closed.statements.total - opened.statements.total;
        const namedDelta = (n: string) =>
          (closed.statements.named[n] ?? 0) - (opened.statements.named[n] ?? 0);
        const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
        const total = Object.keys(after).reduce((n, k) => n + delta(k), 0);
        const upstream = {
          transcriptCalls: delta(TRANSCRIPT_ROUTE),
          allCalls: total,
          seconds,
          perSecond: total / seconds,
          transcriptPerSecond: delta(TRANSCRIPT_ROUTE) / seconds,
        };
        // The floor of the closed loop only: paced runs are bounded by their pacing, not by the machine.
        const floor =
          kind === "closed" ? await floorRun(work, label, liveBytes, common, P.readersWarmS) : undefined;
        const per = (n: number) => n / Math.max(1, r.ok);
        return {
          kind,
          label,
          paced,
          direct: d,
          retailer: r,
          upstream,
          rss: mem,
          statementsPerRead: per(statements),
          viewStatementsPerRead: per(namedDelta(VIEW_STATEMENT)),
          authStatementsPerRead: per(namedDelta(AUTH_STATEMENT)),
          floor,
        };
      };
      const readerRuns = [
        await readersRun("staggered"),
        await readersRun("synchronized"),
        await readersRun("closed"),
      ];
      raw.readers = { runs: readerRuns, readerUsers: READER_USERS, idleRssBytes: idleRss };
      for (const run of readerRuns) {
        const chk = checkLoads(run.direct, run.retailer);
        const s = `${run.label} (1 live meeting, ${READER_USERS} users, cache 1000 ms)`;
        rows.push({
          scenario: s,
          metric: "throughput",
          retailer: rps(run.retailer.rps),
          baseline: rps(run.direct.rps),
          ratio: pct(run.retailer.rps / run.direct.rps),
          target: run.kind === "closed" ? "≥ 150% of direct (a cache should beat its origin)" : "—",
          result:
            run.kind === "closed"
              ? chk.ok
                ? verdict(run.retailer.rps / run.direct.rps >= 1.5)
                : "ERROR"
              : "info",
          ...(chk.note ? { note: chk.note } : {}),
        });
        if (run.floor)
          rows.push(
            floorRow(
              s,
              "throughput",
              rps(run.retailer.rps),
              rps(run.floor.rps),
              pct(run.retailer.rps / run.floor.rps),
            ),
          );
        rows.push({
          scenario: s,
          metric: "meeting-view lookups per read (the per-user view cache)",
          retailer: run.viewStatementsPerRead.toFixed(3),
          baseline: "",
          ratio: "",
          target: "< 0.05 (hot reads touch no database)",
          result: chk.ok ? verdict(run.viewStatementsPerRead < 0.05) : "ERROR",
        });
        rows.push({
          scenario: s,
          metric: "all database statements per read (API-key lookups and background work included)",
          retailer: run.statementsPerRead.toFixed(3),
          baseline: "",
          ratio: `API-key lookups ${run.authStatementsPerRead.toFixed(3)}/read`,
          target: `— (a key is looked up at most once a second: ${READER_USERS} keys)`,
          result: "info",
        });
        rows.push({
          scenario: s,
          metric: "reader p50",
          retailer: ms(run.retailer.p50),
          baseline: ms(run.direct.p50),
          ratio: "",
          target: "—",
          result: "info",
        });
        rows.push({
          scenario: s,
          metric: "reader p99",
          retailer: ms(run.retailer.p99),
          baseline: ms(run.direct.p99),
          ratio: "",
          target:
            run.kind === "staggered"
              ? "< 20 ms"
              : run.kind === "synchronized"
                ? "— (worst case: 500 requests in one instant)"
                : "— (closed loop: latency ≈ 500 / throughput)",
          result: run.kind === "staggered" ? (chk.ok ? verdict(run.retailer.p99 < 20) : "ERROR") : "info",
        });
        rows.push({
          scenario: s,
          metric: "wholesaler calls/s (all routes)",
          retailer: `${run.upstream.perSecond.toFixed(2)} /s`,
          baseline: `${run.direct.rps.toFixed(0)} /s (every read)`,
          ratio: `${run.upstream.allCalls} calls in ${run.upstream.seconds.toFixed(1)} s`,
          target: "≤ 2 /s",
          result: verdict(run.upstream.perSecond <= 2),
        });
        rows.push({
          scenario: s,
          metric: "retailer RSS (peak, 100 ms samples)",
          retailer: mb(run.rss.peakBytes),
          baseline: `idle ${mb(idleRss)}${run.floor ? `; floor process ${mb(run.floor.rssPeakBytes)}` : ""}`,
          ratio: "",
          target: "< 150 MB",
          result: verdict(run.rss.peakBytes < 150 * 1024 * 1024),
        });
      }

      await b.stop();
    }

    if (want("finished")) {
      const b = await startRetailer("retailer-finished", "scenario 3: finished transcript", 1000, ctx);
      log(`retailer C (pid ${b.child.pid}) at ${b.url}`);

      // Scenario 3: a finished 10,000-segment transcript.
      log("scenario 3: finished 10,000-segment transcript — finalization through the webhook");
      const owner = live?.owner ?? (await newUser(b, "owner", 10));
      const FIN = "fin-ebnc-hmk";
      await postBot(b, owner.key, FIN);
      // The sandbox places bulk segments between the bot's join and now: wait until that stretch has room.
      await waitFor(
        "room for the bulk segments",
        async () => {
          await sandbox.addSegments(FIN, FINISHED_SEGMENTS);
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      // The sandbox appends bulk segments after the segment being spoken, which can end a few seconds from now; a
      // meeting ended before they start would hold segments from after its end, outside every holder's window.
      const added = await expectStatus(
        "direct read of the 10,000-segment transcript",
        call("GET", `${sandbox.url}/transcripts/google_meet/${FIN}`, { headers: sandbox.headers }),
        200,
      );
      const lastEnd = Math.max(
        ...added.body.segments.map((s: any) => Date.parse(s.absolute_end_time ?? "") || 0),
      );
      if (lastEnd > Date.now()) await sleep(lastEnd - Date.now() + 200);
      const upstreamFinal = await expectStatus(
        "direct read of the 10,000-segment transcript",
        call("GET", `${sandbox.url}/transcripts/google_meet/${FIN}`, { headers: sandbox.headers }),
        200,
      );
      const finalSegments: Segment[] = upstreamFinal.body.segments.map(storeMod.toSegment);
      const endedAt = performance.now();
      await sandbox.end(FIN);
      let finished: { status: number; body: any; bytes: number } | undefined;
      let lastSeen = "";
      let firstReadMs = 0;
      await waitFor(
        "the retailer to finalize the meeting",
        async () => {
          const asked = performance.now();
          finished = await call("GET", `${b.url}/transcripts/google_meet/${FIN}`, {
            headers: { "x-api-key": owner.key },
          });
          firstReadMs = performance.now() - asked;
          lastSeen = `HTTP ${finished.status}, status ${finished.body?.status}, ${finished.body?.segments?.length} segments`;
          return (
            finished.status === 200 &&
            finished.body.status === "completed" &&
            finished.body.segments.length >= FINISHED_SEGMENTS
          );
        },
        { child: b.child, timeoutMs: 60_000, intervalMs: 50 },
      ).catch((err) => {
        throw new Error(
          `${(err as Error).message.split("\n")[0]} (last answer: ${lastSeen}; upstream had ${finalSegments.length} segments)`,
        );
      });
      const finalizeMs = performance.now() - endedAt;
      const finMeetingId: number = finished?.body.id;
      const finShape = {
        meetingId: finMeetingId,
        segmentsUpstream: finalSegments.length,
        segmentsRetailer: finished?.body.segments.length,
        bytesRetailer: finished?.bytes,
        endToFinalizedMs: finalizeMs,
        firstReadMs,
      };
      raw.finishedTranscript = finShape;
      log(
        `finalized in ${finalizeMs.toFixed(0)} ms after the wholesaler ended it: ${JSON.stringify(finShape)}`,
      );
      const finRetailer = await measure(
        {
          title: "retailer finished transcript",
          url: `${b.url}/transcripts/google_meet/${FIN}`,
          headers: { "x-api-key": owner.key },
          connections: FINISHED_CONNECTIONS,
          durationS: P.finS,
          timeoutS: 30,
        },
        P.finWarmS,
      );
      const finBytes = await (
        await fetch(`${b.url}/transcripts/google_meet/${FIN}`, { headers: { "x-api-key": owner.key } })
      ).text();
      const finFloor = await floorRun(
        work,
        "finished transcript",
        finBytes,
        { connections: FINISHED_CONNECTIONS, durationS: P.finS, timeoutS: 30 },
        P.finWarmS,
      );

      await b.stop();

      // ---- Phase C: the bare-query baseline for the finished transcript, same database, retailer stopped ----------
      const basePort = await freePort();
      const base = startChild(
        "baseline-sql",
        ["--import", "tsx", join(ROOT, "bench", "baseline-sql-server.ts")],
        { PORT: String(basePort), DB_POOL_SIZE: "10", ...db.env },
        join(work, "logs"),
      );
      const baseUrl = `http://127.0.0.1:${basePort}/segments/${finMeetingId}`;
      let baseBytes = 0;
      await waitFor(
        "the baseline server",
        async () => {
          const r = await call("GET", baseUrl);
          baseBytes = r.bytes;
          return r.status === 200 && Array.isArray(r.body) && r.body.length >= FINISHED_SEGMENTS;
        },
        { child: base, timeoutMs: 60_000 },
      );
      log("scenario 3: bare query + JSON.stringify baseline");
      const finBase = await measure(
        {
          title: "bare query + JSON.stringify",
          url: baseUrl,
          connections: FINISHED_CONNECTIONS,
          durationS: P.finS,
          timeoutS: 30,
        },
        P.finWarmS,
      );
      await base.stop();
      raw.finishedRead = { retailer: finRetailer, baseline: finBase, baselineBytes: baseBytes };
      {
        const chk = checkLoads(finRetailer, finBase);
        const s = `Finished transcript, ${finShape.segmentsRetailer} segments (${FINISHED_CONNECTIONS} connections)`;
        rows.push({
          scenario: s,
          metric: "throughput",
          retailer: rps(finRetailer.rps),
          baseline: rps(finBase.rps),
          ratio: pct(finRetailer.rps / finBase.rps),
          target: "≥ 300% of bare query + stringify",
          result: chk.ok ? verdict(finRetailer.rps / finBase.rps >= 3) : "ERROR",
          ...(chk.note ? { note: chk.note } : {}),
        });
        rows.push(
          floorRow(
            s,
            "throughput",
            rps(finRetailer.rps),
            rps(finFloor.rps),
            pct(finRetailer.rps / finFloor.rps),
          ),
        );
        rows.push({
          scenario: s,
          metric: "p50 / p99 latency",
          retailer: `${ms(finRetailer.p50)} / ${ms(finRetailer.p99)}`,
          baseline: `${ms(finBase.p50)} / ${ms(finBase.p99)}`,
          ratio: "",
          target: "—",
          result: "info",
        });
        rows.push({
          scenario: s,
          metric: "first read after finalization (database, cold)",
          retailer: ms(firstReadMs),
          baseline: "",
          ratio: "",
          target: "—",
          result: "info",
          note: "later reads come from the retailer's bounded in-memory cache of finished transcripts",
        });
        rows.push({
          scenario: s,
          metric: "response size",
          retailer: mb(finShape.bytesRetailer ?? 0),
          baseline: mb(baseBytes),
          ratio: "",
          target: "—",
          result: "info",
        });
      }

      // ---- Phase D: storing 10,000 segments at finalization -------------------------------------------------------
      log(
        `scenario 4: storing ${FINISHED_SEGMENTS} segments, ${P.storeRuns} runs (+${P.storeWarmRuns} warm-up)`,
      );
      const direct10k = finalSegments.slice(0, FINISHED_SEGMENTS);
      const handle = await db.open();
      let store: StoreTimings;
      const storeCpu = cpuWindow();
      try {
        store = await storeBench(handle, direct10k, P.storeRuns, storeMod);
      } finally {
        await handle.close();
      }
      const storeShares = storeCpu.stop();
      raw.store = { ...store, cpu: storeShares };
      {
        const s = `Finalization store, ${store.segments} segments (median of ${store.runs})`;
        const bMed = median(store.baselineMs);
        const fMed = median(store.freshMs);
        const cMed = median(store.overCheckpointMs);
        rows.push({
          scenario: s,
          ...(storeShares
            ? {
                note: `during the store runs other processes used ${pct(storeShares.other)} of the machine, PostgreSQL ${pct(storeShares.postgres)}`,
              }
            : {}),
          metric: "storeSegments(replace) in one tx, no prior checkpoint",
          retailer: ms(fMed),
          baseline: ms(bMed),
          ratio: `${(fMed / bMed).toFixed(2)}×`,
          target: "≤ 1.0× the bulk insert",
          result: verdict(fMed <= bMed),
        });
        rows.push({
          scenario: s,
          metric: "storeSegments(replace) in one tx, over a checkpoint",
          retailer: ms(cMed),
          baseline: ms(bMed),
          ratio: `${(cMed / bMed).toFixed(2)}×`,
          target: "< 250 ms",
          result: verdict(cMed < 250),
        });
        rows.push({
          scenario: s,
          metric: "webhook → finalized → readable (end to end, once)",
          retailer: ms(finalizeMs),
          baseline: "",
          ratio: "",
          target: "—",
          result: "info",
        });
      }
    }

    if (want("bots")) {
      // Scenario 5 (last): POST /bots. The sandbox's POST /bots scans every meeting it holds, so each side gets a
      // fresh sandbox and the same number of requests: both start empty and end with the same number of meetings.
      log("scenario 5: POST /bots, distinct meetings");
      const postRun = async (title: string, url: string, prefix: string, keys: string[]) => {
        let seq = 0;
        let warm = true;
        const setupRequest = (req: any) => {
          const n = seq++;
          return {
            ...req,
            method: "POST",
            path: "/bots",
            headers: { "content-type": "application/json", "x-api-key": keys[n % keys.length] },
            body: JSON.stringify({
              platform: "google_meet",
              native_meeting_id: meetId(warm ? `${prefix[0]}w${prefix[2]}` : prefix, n),
              bot_name: "Bench",
            }),
          };
        };
        const common = { url, connections: POST_CONNECTIONS, setupRequest, timeoutS: 30, durationS: 600 };
        await warmThenLoad({ title: `${title} (warm-up)`, ...common, amount: P.postWarmN }, 0);
        warm = false;
        seq = 0;
        // Not repeated when noisy: a second batch would meet a sandbox holding twice the meetings.
        return measure({ title, ...common, amount: P.postN }, 0, { retry: false });
      };
      const sbDirect = await startSandbox(dist, work, "sandbox-posts-direct");
      const postDirect = await postRun("direct POST /bots", `${sbDirect.url}/bots`, "pbd", [sbDirect.key]);
      await sbDirect.child.stop();
      const sbRetail = await startSandbox(dist, work, "sandbox-posts-retailer");
      const b = await startRetailer("retailer-bots", "scenario 5: POST /bots", 1000, {
        ...ctx,
        sandbox: sbRetail,
      });
      log(`retailer D (pid ${b.child.pid}) at ${b.url}, with its own fresh sandbox`);
      const posters: { id: number; key: string }[] = [];
      for (let i = 0; i < POST_USERS; i++) posters.push(await newUser(b, `poster${i}`, 1000));
      const postCallsBefore = await sbRetail.calls();
      const postStatementsBefore = await dbCounts(b);
      const postRetailer = await postRun(
        "retailer POST /bots",
        `${b.url}/bots`,
        "pbr",
        posters.map((p) => p.key),
      );
      const postStatementsAfter = await dbCounts(b);
      const postStatements = postStatementsAfter.total - postStatementsBefore.total;
      // The claim's statements: `claim` is one statement in its own transaction; `claim-queued` (a room whose bot is
      // still leaving) runs inside BEGIN/COMMIT, counted too.
      const delta = (n: string) => (postStatementsAfter.named[n] ?? 0) - (postStatementsBefore.named[n] ?? 0);
      const claimPerPost = (delta("claim") + 3 * delta("claim-queued")) / (P.postWarmN + P.postN);
      const postCallsAfter = await sbRetail.calls();
      // Warm-up and measured run together (the counter is read around both).
      const statementsPerPost = postStatements / (P.postWarmN + P.postN);
      const postBody = JSON.stringify(
        (
          await call("POST", `${b.url}/bots`, {
            headers: { "x-api-key": posters[0]?.key ?? "" },
            body: { platform: "google_meet", native_meeting_id: meetId("pbf", 1), bot_name: "Bench" },
          })
        ).body,
      );
      const postFloor = await floorRun(
        work,
        "POST /bots",
        postBody,
        { connections: POST_CONNECTIONS, durationS: 600, amount: P.postN, method: "POST", body: "{}" },
        0,
        201,
      );
      const postUpstream: Record<string, number> = {};
      for (const k of Object.keys(postCallsAfter)) {
        const d = (postCallsAfter[k] ?? 0) - (postCallsBefore[k] ?? 0);
        if (d > 0) postUpstream[k] = d;
      }
      raw.postBots = {
        upstreamCallsDuringRetailerRuns: postUpstream,
        direct: postDirect,
        retailer: postRetailer,
        floor: postFloor,
        statementsPerRequest: statementsPerPost,
        claimStatementsPerRequest: claimPerPost,
        users: POST_USERS,
        maxConcurrentBotsPerUser: 1000,
      };
      {
        const chk = checkLoads(postDirect, postRetailer);
        const s = `POST /bots (${POST_CONNECTIONS} connections, ${P.postN} requests after ${P.postWarmN} warm-up, each a new meeting, fresh sandbox each side)`;
        rows.push({
          scenario: s,
          metric: "p50 latency",
          retailer: ms(postRetailer.p50),
          baseline: ms(postDirect.p50),
          ratio: `+${(postRetailer.p50 - postDirect.p50).toFixed(2)} ms`,
          target: "≤ direct + 5 ms",
          result: chk.ok ? verdict(postRetailer.p50 - postDirect.p50 <= 5) : "ERROR",
          ...(chk.note ? { note: chk.note } : {}),
        });
        rows.push({
          scenario: s,
          metric: "p99 latency",
          retailer: ms(postRetailer.p99),
          baseline: ms(postDirect.p99),
          ratio: `+${(postRetailer.p99 - postDirect.p99).toFixed(2)} ms`,
          target: "—",
          result: "info",
        });
        rows.push({
          scenario: s,
          metric: "throughput",
          retailer: rps(postRetailer.rps),
          baseline: rps(postDirect.rps),
          ratio: pct(postRetailer.rps / postDirect.rps),
          target: "≥ 50% of direct",
          result: chk.ok ? verdict(postRetailer.rps / postDirect.rps >= 0.5) : "ERROR",
          note: `wholesaler calls during the retailer's runs (warm-up included): ${Object.entries(
            postUpstream,
          )
            .map(([k, v]) => `${k} ×${v}`)
            .join(", ")}`,
        });
        rows.push(
          floorRow(
            s,
            "throughput",
            rps(postRetailer.rps),
            rps(postFloor.rps),
            pct(postRetailer.rps / postFloor.rps),
          ),
        );
        rows.push({
          scenario: s,
          metric: "claim statements sent per request (one transaction, BEGIN/COMMIT included)",
          retailer: claimPerPost.toFixed(2),
          baseline: "",
          ratio: "",
          target:
            "1 (retailer_claim: lock the user, look at the room, create meeting + holding, server-side in one statement; was 5, before that 8)",
          result: verdict(claimPerPost <= 1.05),
        });
        rows.push({
          scenario: s,
          metric: "all database statements per request (BEGIN/COMMIT included)",
          retailer: statementsPerPost.toFixed(1),
          baseline: "",
          ratio: "",
          target:
            "— (claim 1, activation returning the view 1 = 2; was 10, before that 13; background work included)",
          result: "info",
        });
      }
      await b.stop();
      await sbRetail.child.stop();
      log("retailer D and its sandbox stopped");
    }

    if (want("push")) {
      // Scenario 6: live push (/ws) against polling. Its own sandbox adds no segments by itself (one an hour), so
      // every new segment is one the bench added and timed.
      const sbPush = await startSandbox(dist, work, "sandbox", ["--segment-interval-ms", "3600000"]);
      // Its own database too: a retailer on the shared one inherits every meeting earlier scenarios left live (2,800
      // from POST /bots), which its fresh sandbox has never heard of; its reconciler then finalizes them all, and
      // each finalization's GET /transcripts lands in the sandbox's counter this scenario divides by its meetings.
      pushDb = await chooseDb(join(work, "push"));
      const pushCtx = { ...ctx, db: pushDb, sandbox: sbPush, extraEnv: { MAX_CONNECTIONS: "10000" } };
      let r = await startRetailer("retailer-push", "scenario 6: live push", 1000, pushCtx);
      log(`retailer E (live push, pid ${r.child.pid}) at ${r.url}`);
      let restarts = 0;
      const push = await pushScenario({
        retailer: { url: r.url, pid: r.child.pid },
        freshRetailer: async () => {
          await r.stop();
          r = await startRetailer(`retailer-push-${++restarts}`, "scenario 6: live push", 1000, pushCtx);
          return { url: r.url, pid: r.child.pid };
        },
        sandbox: sbPush,
        newUser: (tag, maxBots) => newUser(r, tag, maxBots),
        postBot: (key, nativeId) => postBot(r, key, nativeId),
        log,
        quick: QUICK,
      });
      rows.push(...push.rows);
      raw.push = push.raw;
      await r.stop();
      await sbPush.child.stop();
    }

    await sandbox.child.stop();
    await cleanup();

    // ---- Report ------------------------------------------------------------------------------------------------
    const cpu = cpus();
    const machine = {
      cpuCount: cpu.length,
      cpuModel: cpu[0]?.model ?? "unknown",
      totalMemoryMB: Math.round(totalmem() / 1024 / 1024),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      loadAverageAtStart: loadAvgAtStart,
    };
    const layout = [
      `load generator: autocannon ${autocannonVersion()} in the harness process (tsx bench/run.ts), pid ${process.pid}`,
      `wholesaler: the sandbox in its own process (${flags.runtime === "tsx" ? "node --import tsx src/sandbox/cli.ts" : "node dist/sandbox/cli.js, compiled from src by tsc"}); POST /bots gets a fresh sandbox per side (its POST /bots scans every meeting it holds)`,
      `retailer: its own process (${flags.runtime === "tsx" ? "node --import tsx src/main.ts" : "node dist/main.js, compiled from src by tsc, as npm start runs it"}), ROLE=all, LOG_LEVEL=${flags["log-level"]}, RATE_LIMIT_PER_SECOND=0, no REDIS_URL, node flags ${START.nodeFlags.length ? `\`${START.nodeFlags.join(" ")}\`` : "none"}${flags["node-options"] ? " (given with --node-options)" : " (npm start's)"}, environment from npm start: ${
        Object.keys(START.env).length
          ? Object.entries(START.env)
              .map(([k, v]) => `${k}=${v}`)
              .join(" ")
          : "none"
      }; a fresh process per scenario: TRANSCRIPT_CACHE_TTL_MS=0 for scenario 1, the default 1000 for scenarios 2, 3 and 5; RSS read from /proc/<pid>/status of that process`,
      "bare-query baseline: node:http + the same pool size (10) in its own process, started after the retailer stopped",
      "floor rows: a bare node:http server in its own process (bench/floor-server.ts) answering every request with the bytes the retailer sent for that scenario, measured with the same load right after the retailer's run: what the machine allows for that answer size",
      "database statements: the retailer's retailer_db_statements_total (/metrics) read around the measured run (readers) or around warm-up + run (POST /bots), divided by the requests; it includes the process's background work (job queue, reconciler) and the API-key lookups (cached for 1 s per key)",
      "finalization store: timed in the harness process against the same database",
      `all on ${cpu.length} CPU cores: load generator, retailer, sandbox and database compete for them`,
    ];
    const noisy = measured.filter((m) => (m.cpu?.other ?? 0) > 0.1);
    if (noisy.length)
      notes.push(
        `other processes on the machine used more than 10% of its CPU during ${noisy.length} of ${measured.length} measured runs (${noisy.map((m) => `${m.title}: ${pct(m.cpu?.other ?? 0)}`).join(", ")}); those figures are pessimistic`,
      );
    const summary = {
      pass: rows.filter((r) => r.result === "PASS").length,
      miss: rows.filter((r) => r.result === "MISS").length,
      error: rows.filter((r) => r.result === "ERROR").length,
    };
    const result = {
      date: new Date().toISOString(),
      command,
      mode: QUICK ? "quick" : "full",
      durationS: Math.round((Date.now() - t0) / 1000),
      machine,
      code: codeState,
      database: { kind: db.kind, description: db.description },
      runtime: flags.runtime,
      logLevel: flags["log-level"],
      layout,
      parameters: {
        ...P,
        LIVE_SEGMENTS,
        FINISHED_SEGMENTS,
        READERS,
        READER_USERS,
        READER_RATE,
        READER_STAGGER_GROUPS,
        THROUGHPUT_CONNECTIONS,
        FINISHED_CONNECTIONS,
        POST_CONNECTIONS,
        POST_USERS,
      },
      summary,
      rows,
      notes,
      machineLoad: measured.map((m) => ({
        title: m.title,
        rps: m.rps,
        ours: m.cpu ? pct(m.cpu.ours) : undefined,
        postgres: m.cpu ? pct(m.cpu.postgres) : undefined,
        other: m.cpu ? pct(m.cpu.other) : undefined,
        cpuPerRequestUs: m.cpu && m.ok > 0 ? perRequest(m.cpu.seconds, m.ok) : undefined,
      })),
      profiles: profiles.map((x) => ({
        title: x.title,
        areas: x.summary.areas,
        functions: x.summary.functions,
      })),
      raw,
    };
    const outDir = join(ROOT, "bench", "results");
    mkdirSync(outDir, { recursive: true });
    // A profiled run is slower than a real one: its figures go to ignored *.tmp files, never over latest.*.
    const outName = flags.profile ? "profiled" : "latest";
    const ext = flags.profile ? ".tmp" : "";
    writeFileSync(join(outDir, `${outName}.json${ext}`), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(outDir, `${outName}.md${ext}`), markdownReport(result));
    process.stdout.write(`\n${textTable(rows)}\n\n`);
    process.stdout.write(
      `${summary.pass} PASS, ${summary.miss} MISS, ${summary.error} ERROR — ${db.description}; ${machine.cpuCount}× ${machine.cpuModel}, Node ${machine.node}\n`,
    );
    for (const n of notes) process.stdout.write(`note: ${n}\n`);
    process.stdout.write(
      `wrote bench/results/${outName}.json${ext} and bench/results/${outName}.md${ext} (${result.durationS} s)\n`,
    );
  } catch (err) {
    await cleanup();
    throw err;
  }
}

const loadAvgAtStart = loadavg().map((v) => Number(v.toFixed(2)));

/** Which code was measured: HEAD plus any uncommitted changes under src/ and migrations/ (others' work in progress). */
function gitState(): { head: string; dirty: string[] } {
  const git = (...args: string[]) => spawnSync("git", args, { cwd: ROOT, encoding: "utf8" }).stdout.trim();
  return {
    head: git("log", "-1", "--format=%h %s"),
    dirty: git("status", "--porcelain", "--", "src", "migrations").split("\n").filter(Boolean),
  };
}

function autocannonVersion(): string {
  try {
    return JSON.parse(readFileSync(join(ROOT, "node_modules", "autocannon", "package.json"), "utf8")).version;
  } catch {
    return "";
  }
}

/** CPU per 2xx response, µs, for every process that used any (USER_HZ ticks: 10 ms resolution over the run). */
function perRequest(seconds: Record<string, number>, ok: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(seconds)) if (v > 0) out[k] = Math.round((v * 1e6) / ok);
  return out;
}

const fmtUs = (us: number) =>
  us >= 10_000 ? `${(us / 1000).toFixed(0)} ms` : us >= 1000 ? `${(us / 1000).toFixed(1)} ms` : `${us} µs`;

function markdownReport(r: any): string {
  const lines = [
    "# Benchmark report",
    "",
    `- **Date:** ${r.date}`,
    `- **Command:** \`${r.command}\` (${r.mode} mode, ${r.durationS} s)`,
    `- **Machine:** ${r.machine.cpuCount}× ${r.machine.cpuModel}, ${r.machine.totalMemoryMB} MB RAM, ${r.machine.platform}, Node ${r.machine.node}, load average at start ${r.machine.loadAverageAtStart.join(" / ")}`,
    `- **Code:** ${r.code.head}${r.code.dirty.length ? ` plus uncommitted changes (${r.code.dirty.join(", ")})` : ""}`,
    `- **Database:** ${r.database.description}`,
    ...(r.profiles.length
      ? [
          "- **Profiled run** (`--profile`): the retailer ran under `--cpu-prof`; its figures are slower than a plain run.",
        ]
      : []),
    `- **Result:** ${r.summary.pass} PASS, ${r.summary.miss} MISS${r.summary.error ? `, ${r.summary.error} ERROR` : ""} against the targets of retailer-design.md §6`,
    "",
    markdownTable(r.rows),
    "",
    ...r.rows.filter((x: Row) => x.note).map((x: Row) => `- *${x.scenario} — ${x.metric}:* ${x.note}`),
    "",
    "## How it was measured",
    "",
    ...r.layout.map((l: string) => `- ${l}`),
    `- Every load run is autocannon with a discarded warm-up run of the same shape first; latencies are exact per-response times (sub-millisecond), throughput is 2xx responses per second. ${r.mode === "full" ? `A run during which other processes took more than ${pct(NOISY)} of the machine is measured once more and the quieter attempt kept (except POST /bots).` : "Quick mode never repeats a noisy run."}`,
    ...(r.raw.liveTranscript
      ? [
          `- Live meeting: ${r.raw.liveTranscript.segmentsDirect} segments (${r.raw.liveTranscript.bytesDirect} bytes direct, ${r.raw.liveTranscript.bytesRetailer} bytes through the retailer).`,
        ]
      : []),
    `- Readers: ${r.parameters.READERS} autocannon connections spread over ${r.parameters.READER_USERS} users sharing one bot, three ways: (1) each connection polls ${r.parameters.READER_RATE}×/s at its own phase (${r.parameters.READER_STAGGER_GROUPS} autocannon instances started evenly across the polling interval; the p99 target is judged here); (2) all poll ${r.parameters.READER_RATE}×/s on the same tick (autocannon's own pacing starts every connection's one-second window together: ${r.parameters.READERS} requests in one instant, the worst case); (3) closed loop, as fast as answers come (saturation: its latency is queueing, ≈ connections / throughput). Wholesaler calls are the sandbox's own counters over each measured window; calls/s and RSS are judged in all three.`,
    "- Finished transcript: finalized by the retailer itself (sandbox webhook → job → storeSegments); the baseline serves the same rows from the same database with one query and `JSON.stringify`.",
    "- Finalization store: the 10,000 segments the sandbox returned, stored into a fresh meeting (and, second row, over a checkpoint missing the newest 50 segments with 20 revised) by `storeSegments(..., { replace: true })` in one transaction; the baseline is one plain `INSERT ... SELECT FROM unnest(...)` of the same rows (no COPY: `pg` needs pg-copy-streams for that, not a dependency here).",
    "- POST /bots: every request a new meeting id, the same number of requests on both sides, each against a fresh sandbox; retailer requests rotate over users with max_concurrent_bots 1000, the sandbox's account limit is raised to 1,000,000.",
  ];
  lines.push(
    "",
    "## Machine load during each measured run",
    "",
    "Share of the whole machine (all cores). *ours* = this harness (load generator) + the processes it started; *other* = everything else except PostgreSQL (other people's work on the machine: noise).",
    "",
    "| run | req/s | ours | PostgreSQL | other | CPU per request, by process |",
    "|---|---|---|---|---|---|",
    ...r.machineLoad.map(
      (m: any) =>
        `| ${m.title} | ${m.rps.toFixed(1)} | ${m.ours ?? "n/a"} | ${m.postgres ?? "n/a"} | ${m.other ?? "n/a"} | ${
          m.cpuPerRequestUs
            ? Object.entries(m.cpuPerRequestUs)
                .map(([k, v]) => `${k} ${fmtUs(v as number)}`)
                .join(", ")
            : "n/a"
        } |`,
    ),
  );
  if (r.profiles.length) {
    lines.push("", "## CPU profiles (--profile: figures above are inflated by the profiler)", "");
    for (const x of profiles) lines.push(formatSummary(x.title, x.summary), "");
  }
  if (r.notes.length)
    lines.push("", "## Notes", "", ...r.notes.map((n: string) => `- ${n.replace(/\n/g, " ")}`));
  return `${lines.join("\n")}\n`;
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
