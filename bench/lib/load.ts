import type { EventEmitter } from "node:events";
import autocannon from "autocannon";
import { type CpuShares, cpuWindow } from "./procs.js";

/** One autocannon run, summarised. Latencies are exact (from autocannon's per-response events, sub-ms). */
export interface LoadResult {
  title: string;
  connections: number;
  /** Per-connection request rate, if paced (autocannon `connectionRate`); undefined = closed loop, as fast as possible. */
  connectionRate: number | undefined;
  /** Length of the measured window, s. */
  durationS: number;
  /** Responses with a 2xx status in the window. */
  ok: number;
  /** Requests sent in the window. */
  sent: number;
  /**
   * Requests still unanswered when the window closed: the closed loop's own queue (about one per connection), not
   * failures. autocannon drops them at its end without counting them as errors or timeouts (lib/run.js destroys
   * each client, whose destroy() clears the timeout timer first).
   */
  inFlightAtEnd: number;
  /** Failures in the window: non-2xx answers, connection errors, and requests unanswered for timeoutS. */
  non2xx: number;
  errors: number;
  timeouts: number;
  /**
   * Duration runs with one autocannon instance only: the window opens once every connection has had its first
   * answer. A saturated server accepts and serves newly opened connections late (some waited over 10 s in the
   * closed loop of 500), which autocannon reports as timeouts; they are the run's ramp-up, reported here.
   */
  ramp?: { seconds: number; timeouts: number; errors: number; unansweredAtOpen: number };
  /** 2xx responses per second over the measured window. */
  rps: number;
  /** Latency of 2xx responses, ms. */
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  max: number;
  /** Mean 2xx response size, bytes (body + headers as counted by autocannon). */
  meanBytes: number;
  statusCodes: Record<string, number>;
  /** Machine CPU during the window: this harness + its children, PostgreSQL, and other processes (noise). */
  cpu: CpuShares | undefined;
  /** What onWindow resolved to at the window's edges. */
  window: { open?: unknown; close?: unknown };
}

export interface LoadOptions {
  title: string;
  url: string;
  connections: number;
  durationS: number;
  connectionRate?: number;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /** Builds each request (distinct bodies, rotating keys); applied to every request of every connection. */
  setupRequest?: (req: autocannon.Request) => autocannon.Request;
  timeoutS?: number;
  /** Stop after this many requests instead of after durationS (autocannon `amount`). */
  amount?: number;
  /**
   * Paced runs only: split the connections over this many autocannon instances started evenly across one
   * pacing interval. autocannon paces each connection in one-second windows that all start together, so without
   * this every connection fires in the same instant (a synchronized herd), not at independent phases.
   */
  staggerGroups?: number;
  /** Open the window at once instead of after every connection's first answer (warm-ups: nothing is judged). */
  noRamp?: boolean;
  /** Seconds to wait for every connection's first answer (default RAMP_CAP_S). */
  rampCapS?: number;
  /**
   * Called when the measured window opens and closes (counters read around it); what each call resolves to is kept
   * in the result's `window`, so a repeated measurement keeps the readings of the attempt that was kept.
   */
  onWindow?: (edge: "open" | "close") => Promise<unknown> | unknown;
}

/** autocannon's message for a request unanswered for `timeout` seconds (lib/run.js onTimeout). */
const TIMEOUT_MESSAGE = "request timed out";
/** How long a windowed run waits for every connection's first answer before opening the window anyway. */
export const RAMP_CAP_S = 15;

/** Counts of one window, fed from autocannon's events. */
export class Tally {
  latencies: number[] = [];
  okBytes = 0;
  non2xx = 0;
  errors = 0;
  timeouts = 0;
  sent = 0;
  statusCodes: Record<string, number> = {};

  response(status: number, bytes: number, ms: number): void {
    this.statusCodes[status] = (this.statusCodes[status] ?? 0) + 1;
    if (status >= 200 && status < 300) {
      this.latencies.push(ms);
      this.okBytes += bytes;
    } else this.non2xx++;
  }

  /** autocannon's `reqError`: a timeout, or a connection error (refused, reset). */
  error(err: unknown): void {
    if (err instanceof Error && err.message === TIMEOUT_MESSAGE) this.timeouts++;
    else this.errors++;
  }
}

/**
 * Why a run's figures cannot be judged, or undefined: connections never answered in the ramp-up, failures in the
 * window (non-2xx, connection errors, timeouts), or fewer answers than connections (most connections waited out the
 * whole window). Requests in flight when the window closed are not failures.
 */
export function failureNote(r: LoadResult): string | undefined {
  if (r.ramp?.unansweredAtOpen)
    return `${r.title}: ${r.ramp.unansweredAtOpen} of ${r.connections} connections had no answer ${r.ramp.seconds.toFixed(0)} s after the run started (${r.ramp.timeouts} timeouts, ${r.ramp.errors} connection errors): the server did not serve that many at once, so the window's figures are of the others`;
  if (r.non2xx + r.errors + r.timeouts > 0)
    return `${r.title}: ${r.non2xx} non-2xx, ${r.errors} connection errors, ${r.timeouts} timeouts (no answer in 10 s) during the measured ${r.durationS.toFixed(1)} s (${JSON.stringify(r.statusCodes)})`;
  if (r.ok < r.connections)
    return `${r.title}: only ${r.ok} answers for ${r.connections} connections in ${r.durationS.toFixed(1)} s (${r.sent} sent, ${r.inFlightAtEnd} still unanswered when the window closed): the server answered more slowly than the window lasted`;
  return undefined;
}

/** What happened outside the judged window or at its edge, worth a line in the notes. */
export function edgeNote(r: LoadResult): string | undefined {
  const parts: string[] = [];
  if (r.ramp && !r.ramp.unansweredAtOpen && (r.ramp.timeouts || r.ramp.errors))
    parts.push(
      `ramp-up (before the window): every connection first answered after ${r.ramp.seconds.toFixed(1)} s, with ${r.ramp.timeouts} timeouts and ${r.ramp.errors} connection errors on the way`,
    );
  // Many connections only: where a closed loop's queue at its end is large enough to be mistaken for failures.
  if (r.inFlightAtEnd > 0 && !r.connectionRate && r.connections >= 100)
    parts.push(`${r.inFlightAtEnd} requests in flight when the window closed (not failures)`);
  return parts.length ? `${r.title}: ${parts.join("; ")}` : undefined;
}

type Client = EventEmitter & { pipelinedRequests?: { size(): number } };

/**
 * Runs autocannon against one URL; resolves with exact percentiles computed from every 2xx response time. A
 * duration run with one instance is measured over a window that opens when every connection has had an answer and
 * lasts durationS; paced staggered runs and `amount` runs are measured over the whole run.
 */
export async function load(o: LoadOptions): Promise<LoadResult> {
  const groups = o.connectionRate && o.staggerGroups ? Math.min(o.staggerGroups, o.connections) : 1;
  const windowed = groups === 1 && !o.amount;
  const optsFor = (connections: number): autocannon.Options => ({
    url: o.url,
    connections,
    // A windowed run is stopped by us when its window closes; this only bounds it.
    duration: windowed ? o.durationS + (o.rampCapS ?? RAMP_CAP_S) + 5 : o.durationS,
    method: o.method ?? "GET",
    timeout: o.timeoutS ?? 10,
    // autocannon notices the end of a run at its next sample: every 100 ms rather than every second.
    sampleInt: 100,
    ...(o.amount ? { amount: o.amount } : {}),
    ...(o.headers ? { headers: o.headers } : {}),
    ...(o.body !== undefined ? { body: o.body } : {}),
    ...(o.connectionRate ? { connectionRate: o.connectionRate } : {}),
    ...(o.setupRequest ? { requests: [{ setupRequest: o.setupRequest }] } : {}),
  });
  const tally = new Tally();
  const windowData: LoadResult["window"] = {};
  const hooks: Promise<void>[] = [];
  const hook = (edge: "open" | "close") =>
    hooks.push(
      Promise.resolve(o.onWindow?.(edge)).then((v) => {
        windowData[edge] = v;
      }),
    );
  if (!windowed) {
    hook("open");
    const cpu = cpuWindow();
    const started = performance.now();
    const intervalMs = o.connectionRate ? 1000 / o.connectionRate : 0;
    const runs: Promise<autocannon.Result>[] = [];
    for (let g = 0; g < groups; g++) {
      const connections = Math.floor(o.connections / groups) + (g < o.connections % groups ? 1 : 0);
      runs.push(
        new Promise<void>((r) => setTimeout(r, (g * intervalMs) / groups)).then(async () => {
          const instance = autocannon(optsFor(connections));
          // autocannon emits (client, statusCode, bytes, responseTimeMs); its bundled types omit the client.
          const events = instance as unknown as EventEmitter;
          events.on("response", (_c: unknown, s: number, b: number, ms: number) => tally.response(s, b, ms));
          events.on("reqError", (err: unknown) => tally.error(err));
          return (await instance) as autocannon.Result;
        }),
      );
    }
    const results = await Promise.all(runs);
    const elapsedS = (performance.now() - started) / 1000;
    const cpuShares = cpu.stop();
    hook("close");
    await Promise.all(hooks);
    const sent = results.reduce((n, r) => n + counts(r).sent, 0);
    const total = results.reduce((n, r) => n + counts(r).total, 0);
    const durationS = Math.max(...results.map((r) => (r.duration > 0 ? r.duration : elapsedS)));
    // sent − completed − errors: what autocannon dropped uncounted at its end.
    tally.sent = sent;
    return {
      ...summarise(o, tally, durationS, Math.max(0, sent - total - tally.errors - tally.timeouts), cpuShares),
      window: windowData,
    };
  }

  const clients: Client[] = [];
  const answered = new Set<unknown>();
  const ramp = { seconds: 0, timeouts: 0, errors: 0, unansweredAtOpen: 0 };
  let phase: "ramp" | "window" | "done" = "ramp";
  let openedAt = 0;
  let closedAt = 0;
  let inFlight = 0;
  let cpu: ReturnType<typeof cpuWindow> | undefined;
  let cpuShares: CpuShares | undefined;
  let closeTimer: NodeJS.Timeout | undefined;
  const started = performance.now();
  const instance = autocannon({
    ...optsFor(o.connections),
    setupClient: (c) => {
      clients.push(c as unknown as Client);
      (c as unknown as EventEmitter).on("request", () => {
        if (phase === "window") tally.sent++;
      });
    },
  }) as unknown as Promise<autocannon.Result> & { stop(): void };
  const close = () => {
    if (phase !== "window") return;
    phase = "done";
    closedAt = performance.now();
    cpuShares = cpu?.stop();
    // autocannon's own queue per connection: sent, not yet answered.
    inFlight = clients.reduce((n, c) => n + (c.pipelinedRequests?.size() ?? 0), 0);
    hook("close");
    instance.stop();
  };
  const open = () => {
    if (phase !== "ramp") return;
    phase = "window";
    openedAt = performance.now();
    ramp.seconds = (openedAt - started) / 1000;
    ramp.unansweredAtOpen = o.connections - answered.size;
    hook("open");
    cpu = cpuWindow();
    closeTimer = setTimeout(close, o.durationS * 1000);
  };
  const rampTimer = setTimeout(open, o.noRamp ? 0 : (o.rampCapS ?? RAMP_CAP_S) * 1000);
  const events = instance as unknown as EventEmitter;
  events.on("response", (c: unknown, status: number, bytes: number, ms: number) => {
    if (phase === "window") tally.response(status, bytes, ms);
    else if (phase === "ramp") {
      answered.add(c);
      if (answered.size >= o.connections) open();
    }
  });
  events.on("reqError", (err: unknown) => {
    if (phase === "window") tally.error(err);
    else if (phase === "ramp") {
      if (err instanceof Error && err.message === TIMEOUT_MESSAGE) ramp.timeouts++;
      else ramp.errors++;
    }
  });
  await instance;
  clearTimeout(rampTimer);
  clearTimeout(closeTimer);
  // autocannon ended on its own (its bound): close what is open. (The handlers above change `phase`.)
  if ((phase as string) === "window") close();
  await Promise.all(hooks);
  const durationS = openedAt && closedAt ? (closedAt - openedAt) / 1000 : 0;
  return { ...summarise(o, tally, durationS, inFlight, cpuShares), ramp, window: windowData };
}

function summarise(
  o: LoadOptions,
  t: Tally,
  durationS: number,
  inFlightAtEnd: number,
  cpu: CpuShares | undefined,
): Omit<LoadResult, "window"> {
  const sorted = Float64Array.from(t.latencies).sort();
  const pct = (p: number) =>
    sorted.length === 0
      ? Number.NaN
      : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN);
  const n = t.latencies.length;
  return {
    title: o.title,
    connections: o.connections,
    connectionRate: o.connectionRate,
    durationS,
    ok: n,
    sent: t.sent,
    inFlightAtEnd,
    non2xx: t.non2xx,
    errors: t.errors,
    timeouts: t.timeouts,
    rps: durationS > 0 ? n / durationS : Number.NaN,
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    mean: n ? t.latencies.reduce((a, b) => a + b, 0) / n : Number.NaN,
    max: n ? (sorted[n - 1] ?? Number.NaN) : Number.NaN,
    meanBytes: n ? t.okBytes / n : 0,
    statusCodes: t.statusCodes,
    cpu,
  };
}

/** autocannon's request counters: sent, and completed (`total`; its bundled types omit `sent`). */
const counts = (r: autocannon.Result) => r.requests as unknown as { sent: number; total: number };

/** A warm-up run (discarded), then the measured run, with identical settings. */
export async function warmThenLoad(o: LoadOptions, warmS: number): Promise<LoadResult> {
  // The warm-up reads no counters.
  const { onWindow: _readings, ...warm } = o;
  if (warmS > 0) await load({ ...warm, title: `${o.title} (warm-up)`, durationS: warmS, noRamp: true });
  return load(o);
}
