import type { EventEmitter } from "node:events";
import autocannon from "autocannon";
import { type CpuShares, cpuWindow } from "./procs.js";

/** One autocannon run, summarised. Latencies are exact (from autocannon's per-response events, sub-ms). */
export interface LoadResult {
  title: string;
  connections: number;
  /** Per-connection request rate, if paced (autocannon `connectionRate`); undefined = closed loop, as fast as possible. */
  connectionRate: number | undefined;
  durationS: number;
  /** Responses with a 2xx status. */
  ok: number;
  /** Requests sent (autocannon's count). */
  sent: number;
  /**
   * Requests still unanswered when the run ended. autocannon drops them silently (neither an error nor a
   * timeout): a run whose answers take longer than the run itself records no responses at all.
   */
  unanswered: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** 2xx responses per second over the measured window. */
  rps: number;
  /** Latency of 2xx responses, ms. */
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  max: number;
  /** autocannon's own p99 (integer-ms histogram, corrected for coordinated omission when paced), for cross-checking. */
  autocannonP99: number;
  /** Mean 2xx response size, bytes (body + headers as counted by autocannon). */
  meanBytes: number;
  statusCodes: Record<string, number>;
  /** Machine CPU during the run: this harness + its children, PostgreSQL, and other processes (noise). */
  cpu: CpuShares | undefined;
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
}

/** Runs autocannon against one URL; resolves with exact percentiles computed from every 2xx response time. */
export async function load(o: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let okBytes = 0;
  const groups = o.connectionRate && o.staggerGroups ? Math.min(o.staggerGroups, o.connections) : 1;
  const optsFor = (connections: number): autocannon.Options => ({
    url: o.url,
    connections,
    duration: o.durationS,
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
  const onResponse = (_client: unknown, status: number, bytes: number, ms: number) => {
    if (status >= 200 && status < 300) {
      latencies.push(ms);
      okBytes += bytes;
    }
  };
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
        (instance as unknown as EventEmitter).on("response", onResponse);
        return (await instance) as autocannon.Result;
      }),
    );
  }
  const results = await Promise.all(runs);
  const elapsedS = (performance.now() - started) / 1000;
  const cpuShares = cpu.stop();
  const result = merge(results);
  const sorted = Float64Array.from(latencies).sort();
  const pct = (p: number) =>
    sorted.length === 0
      ? Number.NaN
      : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN);
  const durationS = typeof result.duration === "number" && result.duration > 0 ? result.duration : elapsedS;
  const statusCodes: Record<string, number> = {};
  for (const [code, v] of Object.entries(
    (result as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {},
  ))
    statusCodes[code] = v.count;
  return {
    title: o.title,
    connections: o.connections,
    connectionRate: o.connectionRate,
    durationS,
    ok: latencies.length,
    sent: counts(result).sent,
    unanswered: Math.max(0, counts(result).sent - counts(result).total - result.errors),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    rps: latencies.length / durationS,
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    mean: latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : Number.NaN,
    max: sorted.length ? (sorted[sorted.length - 1] ?? Number.NaN) : Number.NaN,
    autocannonP99: result.latency.p99,
    meanBytes: latencies.length ? okBytes / latencies.length : 0,
    statusCodes,
    cpu: cpuShares,
  };
}

/** autocannon's request counters: sent, and completed (`total`; its bundled types omit `sent`). */
const counts = (r: autocannon.Result) => r.requests as unknown as { sent: number; total: number };

/** The figures this module reads from autocannon, summed (or worst-of) over staggered instances. */
function merge(rs: autocannon.Result[]): autocannon.Result {
  if (rs.length === 1 && rs[0]) return rs[0];
  const first = rs[0] as autocannon.Result;
  const statusCodeStats: Record<string, { count: number }> = {};
  for (const r of rs) {
    for (const [code, v] of Object.entries(
      (r as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {},
    )) {
      statusCodeStats[code] = { count: (statusCodeStats[code]?.count ?? 0) + v.count };
    }
  }
  return {
    ...first,
    duration: Math.max(...rs.map((r) => r.duration)),
    requests: {
      ...first.requests,
      sent: rs.reduce((n, r) => n + counts(r).sent, 0),
      total: rs.reduce((n, r) => n + counts(r).total, 0),
    },
    non2xx: rs.reduce((n, r) => n + r.non2xx, 0),
    errors: rs.reduce((n, r) => n + r.errors, 0),
    timeouts: rs.reduce((n, r) => n + r.timeouts, 0),
    latency: { ...first.latency, p99: Math.max(...rs.map((r) => r.latency.p99)) },
    statusCodeStats,
  } as autocannon.Result;
}

/** A warm-up run (discarded), then the measured run, with identical settings. */
export async function warmThenLoad(o: LoadOptions, warmS: number): Promise<LoadResult> {
  if (warmS > 0) await load({ ...o, title: `${o.title} (warm-up)`, durationS: warmS });
  return load(o);
}
