import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { LiveCache } from "../cache/live-cache.js";
import type { BreakerState } from "../upstream/breaker.js";
import type { UpstreamCallEvent } from "../upstream/client.js";

const BREAKER_STATES: BreakerState[] = ["closed", "half_open", "open"];
const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the scrape-time gauges read; supplied once the client and queue exist. */
export interface MetricsSources {
  breakerState(): BreakerState;
  authFailing(): boolean;
  queues: string[];
  queueDepth(name: string): Promise<number>;
  queueFailed(name: string): Promise<number>;
  /** Database statements this process has sent (BEGIN/COMMIT included). */
  dbStatements?(): number;
  /** The named (hot-path) ones among them, by name. */
  dbNamedStatements?(): ReadonlyMap<string, number>;
}

export interface HttpObservation {
  app: string;
  method: string;
  /** The route pattern (`/bots/:platform/:native_meeting_id`), never the raw URL, to bound label cardinality. */
  route: string;
  status: number;
  seconds: number;
}

export interface Metrics {
  readonly contentType: string;
  render(): Promise<string>;
  httpRequest(o: HttpObservation): void;
  upstreamCall(e: UpstreamCallEvent): void;
  breakerTransition(to: BreakerState): void;
  /** hit: the read was answered without this read calling the wholesaler. */
  liveCache(hit: boolean): void;
  webhookDelivery(outcome: string): void;
  rateLimited(app: string): void;
  /** The reconciler stopped an upstream bot of ours that no user held. */
  orphanBotStopped(): void;
  watch(sources: MetricsSources): void;
}

/** One registry per composition root (never prom-client's global one), so test instances never share counters. */
export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "retailer_" });
  let sources: MetricsSources | undefined;
  const registers = [registry];

  const httpTotal = new Counter({
    name: "retailer_http_requests_total",
    help: "HTTP requests answered, by app (gateway/admin/bot-manager), method, route pattern and status",
    labelNames: ["app", "method", "route", "status_code"],
    registers,
  });
  const httpSeconds = new Histogram({
    name: "retailer_http_request_duration_seconds",
    help: "HTTP request latency in seconds, by app, method, route pattern and status",
    labelNames: ["app", "method", "route", "status_code"],
    buckets: SECONDS,
    registers,
  });
  const upstreamTotal = new Counter({
    name: "retailer_wholesaler_calls_total",
    help: "Wholesaler call attempts by route and outcome (ok, error, breaker_open) and HTTP status (or none)",
    labelNames: ["route", "outcome", "status_code"],
    registers,
  });
  const upstreamSeconds = new Histogram({
    name: "retailer_wholesaler_call_duration_seconds",
    help: "Wholesaler call attempt latency in seconds, by route and outcome",
    labelNames: ["route", "outcome"],
    buckets: SECONDS,
    registers,
  });
  new Gauge({
    name: "retailer_wholesaler_breaker_state",
    help: "Circuit breaker towards the wholesaler: 1 for the current state, 0 for the others",
    labelNames: ["state"],
    registers,
    collect() {
      if (!sources) return;
      const now = sources.breakerState();
      for (const s of BREAKER_STATES) this.set({ state: s }, s === now ? 1 : 0);
    },
  });
  new Counter({
    name: "retailer_db_statements_total",
    help: "Database statements this process sent, BEGIN and COMMIT included (the bench reads it per request)",
    registers,
    collect() {
      if (!sources?.dbStatements) return;
      this.reset();
      this.inc(sources.dbStatements());
    },
  });
  new Counter({
    name: "retailer_db_named_statements_total",
    help: "Named (hot-path, prepared) database statements this process sent, by name",
    labelNames: ["name"],
    registers,
    collect() {
      if (!sources?.dbNamedStatements) return;
      this.reset();
      for (const [name, n] of sources.dbNamedStatements()) this.inc({ name }, n);
    },
  });
  const transitions = new Counter({
    name: "retailer_wholesaler_breaker_transitions_total",
    help: "Circuit breaker state changes, by the state entered",
    labelNames: ["to"],
    registers,
  });
  new Gauge({
    name: "retailer_wholesaler_auth_failing",
    help: "1 while the wholesaler rejects our service key (VEXA_INFRA_API_KEY)",
    registers,
    collect() {
      if (sources) this.set(sources.authFailing() ? 1 : 0);
    },
  });
  const cache = new Counter({
    name: "retailer_live_transcript_cache_requests_total",
    help: "Live transcript reads: hit = answered without this read calling the wholesaler, miss = it called",
    labelNames: ["result"],
    registers,
  });
  new Gauge({
    name: "retailer_job_queue_depth",
    help: "Jobs waiting to run (created or awaiting a retry), by queue; shared by every instance",
    labelNames: ["queue"],
    registers,
    async collect() {
      await collectQueues(
        (name) => sources?.queueDepth(name),
        (name, n) => this.set({ queue: name }, n),
      );
    },
  });
  new Gauge({
    name: "retailer_job_queue_failed",
    help: "Jobs that used up their retries (kept about 12 h), by queue; shared by every instance",
    labelNames: ["queue"],
    registers,
    async collect() {
      await collectQueues(
        (name) => sources?.queueFailed(name),
        (name, n) => this.set({ queue: name }, n),
      );
    },
  });
  const deliveries = new Counter({
    name: "retailer_webhook_deliveries_total",
    help: "Outbound webhook delivery attempts to retailer users, by outcome (delivered, failed, rejected, blocked)",
    labelNames: ["outcome"],
    registers,
  });
  const limited = new Counter({
    name: "retailer_rate_limited_total",
    help: "Requests refused with 429 by the per-key rate limit, by app",
    labelNames: ["app"],
    registers,
  });

  const orphans = new Counter({
    name: "retailer_orphan_bots_stopped_total",
    help: "Upstream bots of our service layer that no user held, stopped by the reconciler (each one was unbilled)",
    registers,
  });

  async function collectQueues(
    read: (name: string) => Promise<number> | undefined,
    set: (name: string, n: number) => void,
  ): Promise<void> {
    for (const name of sources?.queues ?? []) {
      try {
        const n = await read(name);
        if (n !== undefined) set(name, n);
      } catch {
        // A database hiccup must not fail the whole scrape; the gauge keeps its last value.
      }
    }
  }

  for (const s of BREAKER_STATES) transitions.inc({ to: s }, 0);
  for (const r of ["hit", "miss"]) cache.inc({ result: r }, 0);
  for (const o of ["delivered", "failed", "rejected", "blocked"]) deliveries.inc({ outcome: o }, 0);

  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    httpRequest(o) {
      const labels = { app: o.app, method: o.method, route: o.route, status_code: String(o.status) };
      httpTotal.inc(labels);
      httpSeconds.observe(labels, o.seconds);
    },
    upstreamCall(e) {
      upstreamTotal.inc({
        route: e.route,
        outcome: e.outcome,
        status_code: e.status ? String(e.status) : "none",
      });
      upstreamSeconds.observe({ route: e.route, outcome: e.outcome }, e.durationMs / 1000);
    },
    breakerTransition: (to) => transitions.inc({ to }),
    liveCache: (hit) => cache.inc({ result: hit ? "hit" : "miss" }),
    webhookDelivery: (outcome) => deliveries.inc({ outcome }),
    rateLimited: (app) => limited.inc({ app }),
    orphanBotStopped: () => orphans.inc(),
    watch(s) {
      sources = s;
    },
  };
}

/**
 * Counts a live-cache read as a hit when it was answered without this read calling the wholesaler (coalesced,
 * cached in process, or cached in Redis by another instance) and as a miss when it made the call.
 */
export function countLiveCache(inner: LiveCache, onResult: (hit: boolean) => void): LiveCache {
  return {
    async get(key, fetch, opts) {
      let called = false;
      try {
        return await inner.get(
          key,
          () => {
            called = true;
            return fetch();
          },
          opts,
        );
      } finally {
        onResult(!called);
      }
    },
  };
}
