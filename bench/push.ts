/**
 * Scenario 6 (issue 15): live push against polling, in the same run and on the same retailer. Two shapes: many
 * subscribers of one meeting (users sharing one bot) and many meetings with a few subscribers each. For each, a
 * segment is added upstream in rounds and we measure when each client has it: WebSocket subscribers (delay from
 * the upstream change, and from the retailer seeing it: the bundle's `ts`), then the same clients polling
 * GET /transcripts once a second. Wholesaler transcript reads per meeting per second and the retailer's RSS are
 * sampled over each phase.
 */
import { WebSocket } from "ws";
import { sampleRss, sleep } from "./lib/procs.js";
import { mb, ms, type Row, verdict } from "./lib/report.js";

export interface PushDeps {
  retailer: { url: string; pid: number };
  /**
   * Replaces the retailer with a fresh process on the same database (users and meetings kept): each shape is
   * measured on its own process, since RSS does not shrink after a peak and the previous shape's 1,000 pollers
   * would otherwise be inside the next shape's peak.
   */
  freshRetailer(): Promise<{ url: string; pid: number }>;
  sandbox: {
    addSegments(nativeId: string, count: number): Promise<void>;
    calls(): Promise<Record<string, number>>;
  };
  newUser(tag: string, maxBots: number): Promise<{ id: number; key: string }>;
  postBot(key: string, nativeId: string): Promise<unknown>;
  log(msg: string): void;
  quick: boolean;
}

interface Shape {
  label: string;
  meetings: number;
  usersPerMeeting: number;
  subscribers: number;
}

const TRANSCRIPT_ROUTE = "GET /transcripts/{platform}/{native_meeting_id}";

const pctl = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN) : Number.NaN;
};

/** One client following one meeting: a set of segment ids it has, and when each round's new one arrived. */
interface Client {
  meeting: string;
  known: Set<string>;
  arrivals: Map<number, { at: number; seenAt?: number }>;
  round: { n: number; t0: number } | null;
  /** Settles when the client holds the meeting's current transcript (its snapshot, or its first poll). */
  ready: Promise<void>;
  close(): void;
}

function newIds(c: Client, ids: string[], at: number, seenAt?: number): void {
  let fresh = false;
  for (const id of ids)
    if (!c.known.has(id)) {
      c.known.add(id);
      fresh = true;
    }
  if (fresh && c.round && !c.arrivals.has(c.round.n))
    c.arrivals.set(c.round.n, { at, ...(seenAt ? { seenAt } : {}) });
}

async function wsClient(url: string, key: string, meeting: string): Promise<Client> {
  const socket = new WebSocket(`${url.replace(/^http/, "ws")}/ws`, { headers: { "x-api-key": key } });
  let snapshotIn = () => {};
  const c: Client = {
    meeting,
    known: new Set(),
    arrivals: new Map(),
    round: null,
    ready: new Promise<void>((resolve) => {
      snapshotIn = resolve;
    }),
    close: () => socket.close(),
  };
  let snapshot = true;
  socket.on("message", (data) => {
    const m = JSON.parse(data.toString());
    if (m.type !== "transcript") return;
    const ids = [...m.confirmed, ...m.pending].map((s: { segment_id: string }) => s.segment_id);
    if (snapshot) {
      for (const id of ids) c.known.add(id);
      snapshot = false;
      snapshotIn();
      return;
    }
    newIds(c, ids, Date.now(), Date.parse(m.ts));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  socket.send(
    JSON.stringify({ action: "subscribe", meetings: [{ platform: "google_meet", native_id: meeting }] }),
  );
  return c;
}

function poller(url: string, key: string, meeting: string): Client {
  let firstPoll = () => {};
  const c: Client = {
    meeting,
    known: new Set(),
    arrivals: new Map(),
    round: null,
    ready: new Promise<void>((resolve) => {
      firstPoll = resolve;
    }),
    close: () => clearTimeout(timer),
  };
  let first = true;
  let timer: NodeJS.Timeout;
  const tick = async () => {
    try {
      const res = await fetch(`${url}/transcripts/google_meet/${meeting}`, { headers: { "x-api-key": key } });
      const body = (await res.json()) as {
        segments?: { absolute_start_time: string | null; start: number }[];
      };
      const ids = (body.segments ?? []).map((s) => s.absolute_start_time ?? s.start.toFixed(3));
      if (first) for (const id of ids) c.known.add(id);
      else newIds(c, ids, Date.now());
      if (first && res.ok) firstPoll();
      first = false;
    } catch {
      // counted as a miss below (no arrival)
    }
    timer = setTimeout(() => void tick(), 1000);
  };
  // Spread over the second, as independent clients would be.
  timer = setTimeout(() => void tick(), Math.random() * 1000);
  return c;
}

/** Resolves when every promise has, or throws after timeoutMs (the scenario cannot be measured). */
async function settled(ps: Promise<void>[], timeoutMs: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([Promise.all(ps), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function rounds(d: PushDeps, clients: Client[], meetings: string[], n: number) {
  const upstream0 = (await d.sandbox.calls())[TRANSCRIPT_ROUTE] ?? 0;
  const rss = sampleRss(d.retailer.pid, 200);
  const started = Date.now();
  const t0s: number[] = [];
  for (let r = 0; r < n; r++) {
    await sleep(300 + Math.random() * 700);
    const t0 = Date.now();
    t0s.push(t0);
    for (const c of clients) c.round = { n: r, t0 };
    await Promise.all(meetings.map((m) => d.sandbox.addSegments(m, 1)));
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && clients.some((c) => !c.arrivals.has(r))) await sleep(20);
  }
  const seconds = (Date.now() - started) / 1000;
  const mem = rss.stop();
  const upstream = ((await d.sandbox.calls())[TRANSCRIPT_ROUTE] ?? 0) - upstream0;
  const endToEnd: number[] = [];
  const afterSeen: number[] = [];
  let missing = 0;
  for (const c of clients)
    for (let r = 0; r < n; r++) {
      const a = c.arrivals.get(r);
      if (!a) {
        missing++;
        continue;
      }
      endToEnd.push(a.at - (t0s[r] ?? a.at));
      if (a.seenAt !== undefined) afterSeen.push(Math.max(0, a.at - a.seenAt));
    }
  return {
    endToEnd,
    afterSeen,
    missing,
    perMeetingPerSecond: upstream / meetings.length / seconds,
    seconds,
    rssPeak: mem.peakBytes,
  };
}

export async function pushScenario(d: PushDeps): Promise<{ rows: Row[]; raw: unknown }> {
  const shapes: Shape[] = d.quick
    ? [
        {
          label: "200 subscribers, 1 meeting (10 users sharing one bot)",
          meetings: 1,
          usersPerMeeting: 10,
          subscribers: 200,
        },
        { label: "20 meetings × 5 subscribers", meetings: 20, usersPerMeeting: 5, subscribers: 100 },
      ]
    : [
        {
          label: "1,000 subscribers, 1 meeting (50 users sharing one bot)",
          meetings: 1,
          usersPerMeeting: 50,
          subscribers: 1000,
        },
        { label: "100 meetings × 10 subscribers", meetings: 100, usersPerMeeting: 10, subscribers: 1000 },
      ];
  const n = d.quick ? 3 : 10;
  const rows: Row[] = [];
  const raw: Record<string, unknown> = {};
  for (const [si, shape] of shapes.entries()) {
    const s = `6: live push, ${shape.label}`;
    if (si > 0) d.retailer = await d.freshRetailer();
    d.log(`scenario 6: ${shape.label} (retailer pid ${d.retailer.pid})`);
    const users: { id: number; key: string }[] = [];
    for (let i = 0; i < shape.usersPerMeeting; i++)
      users.push(await d.newUser(`push${si}-${i}`, shape.meetings + 1));
    const meetings = Array.from(
      { length: shape.meetings },
      (_, i) => `psh-${si}${String(i).padStart(3, "0")}-bnc`,
    );
    for (const m of meetings) for (const u of users) await d.postBot(u.key, m);
    // Every bot in (the sandbox answers 409 until it has joined: addSegments waits for that), so no round below
    // waits for a join and nothing of the start-up is inside a measured window.
    await Promise.all(meetings.map((m) => d.sandbox.addSegments(m, 1)));
    // Each subscriber: a user (round robin) and a meeting (round robin).
    const assign = (i: number) => ({
      key: users[i % users.length]?.key ?? "",
      meeting: meetings[i % meetings.length] ?? "",
    });
    const result: Record<string, Awaited<ReturnType<typeof rounds>>> = {};
    for (const mode of ["websocket", "polling"] as const) {
      const clients: Client[] = [];
      for (let i = 0; i < shape.subscribers; i++) {
        const { key, meeting } = assign(i);
        clients.push(
          mode === "websocket"
            ? await wsClient(d.retailer.url, key, meeting)
            : poller(d.retailer.url, key, meeting),
        );
      }
      // Snapshots in, first polls done: RSS and reads are then measured over the rounds only, not the set-up.
      await settled(
        clients.map((c) => c.ready),
        30_000,
        `${mode} clients of "${shape.label}" holding their transcript`,
      );
      const r = await rounds(d, clients, meetings, n);
      result[mode] = r;
      for (const c of clients) c.close();
      await sleep(500);
    }
    raw[shape.label] = Object.fromEntries(
      Object.entries(result).map(([k, v]) => [
        k,
        {
          ...v,
          endToEnd: undefined,
          afterSeen: undefined,
          p50: pctl(v.endToEnd, 50),
          p99: pctl(v.endToEnd, 99),
        },
      ]),
    );
    const w = result.websocket;
    const p = result.polling;
    if (!w || !p) continue;
    rows.push(
      {
        scenario: s,
        metric: "delay after the retailer sees the change, p50 / p99",
        retailer: `${ms(pctl(w.afterSeen, 50))} / ${ms(pctl(w.afterSeen, 99))}`,
        baseline: "",
        ratio: "",
        target: "p99 < 250 ms",
        result: w.missing === 0 ? verdict(pctl(w.afterSeen, 99) < 250) : "ERROR",
        ...(w.missing ? { note: `${w.missing} arrivals missing` } : {}),
      },
      {
        scenario: s,
        metric: "delay from the upstream change, p50 / p99 (push vs polling 1/s)",
        retailer: `${ms(pctl(w.endToEnd, 50))} / ${ms(pctl(w.endToEnd, 99))}`,
        baseline: `${ms(pctl(p.endToEnd, 50))} / ${ms(pctl(p.endToEnd, 99))}`,
        ratio: "",
        target: "— (one read interval, 1 s, bounds both)",
        result: "info",
        ...(p.missing ? { note: `polling: ${p.missing} arrivals missing` } : {}),
      },
      {
        scenario: s,
        metric: `wholesaler transcript reads per meeting per second (over ${w.seconds.toFixed(1)} s)`,
        retailer: w.perMeetingPerSecond.toFixed(2),
        baseline: p.perMeetingPerSecond.toFixed(2),
        ratio: "",
        // A window of s seconds holds up to s + 1 reads made exactly once a second.
        target: "≤ 1 (+ one read at the window's edge)",
        result: verdict(w.perMeetingPerSecond <= (w.seconds + 1) / w.seconds),
      },
      {
        scenario: s,
        metric: "retailer RSS, peak",
        retailer: mb(w.rssPeak),
        baseline: mb(p.rssPeak),
        ratio: "",
        target: shape.subscribers >= 1000 ? "< 200 MB" : "—",
        result: shape.subscribers >= 1000 ? verdict(w.rssPeak < 200 * 1024 * 1024) : "info",
      },
    );
  }
  return { rows, raw };
}
