import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { type Clock, ManualClock, systemClock } from "../clock.js";
import { registerControlRoutes } from "./control.js";
import { SandboxHttpError } from "./errors.js";
import { type FaultControl, Faults, ROUTE_KEYS } from "./faults.js";
import { createShell } from "./http.js";
import { registerBotRoutes } from "./routes-bots.js";
import { registerMeetingRoutes } from "./routes-meetings.js";
import { SandboxState } from "./state.js";
import { LIVE_STATUSES } from "./views.js";
import { type WebhookDelivery, WebhookSender } from "./webhook.js";

export type { FaultControl, FaultSnapshot, RouteFault, RouteKey, WebhookFaults } from "./faults.js";
export { ROUTE_KEYS } from "./faults.js";
export type { SegmentOut } from "./transcript-gen.js";
export type { WebhookDelivery } from "./webhook.js";
export { signWebhook } from "./webhook.js";

export interface SandboxOptions {
  /** The one service key it accepts in X-API-Key. */
  apiKey: string;
  /** Default 100; past it POST /bots answers 403 with the baseline message (or 429 if limitStatus is 429). */
  maxConcurrentBots?: number;
  limitStatus?: 403 | 429;
  clock?: Clock;
  /** stopping → completed delay, default 1500. */
  stopDelayMs?: number;
  /** Simulated time between new segments, default 4000. */
  segmentIntervalMs?: number;
  /** A meeting ends by itself (completed + webhook) after this, default 3 h. */
  maxMeetingMs?: number;
  /** Status in the 201 body, default "active"; newer Vexa says "requested" and turns active after joinDelayMs. */
  postStartStatus?: "active" | "requested";
  /** requested → active delay when postStartStatus is "requested", default 2000. */
  joinDelayMs?: number;
  /** Default target of the meeting-finished webhook; PUT /user/webhook overrides it. */
  webhookUrl?: string;
  /** If set, webhooks are signed (X-Webhook-Timestamp, X-Webhook-Signature). */
  webhookSecret?: string;
  /** Also send `Authorization: Bearer <secret>` with signed webhooks, default false. */
  webhookBearer?: boolean;
  webhookFormat?: "flat" | "envelope";
  /** Deterministic content and ids; default 1. */
  seed?: number;
  logger?: { info(o: object, msg?: string): void; warn(o: object, msg?: string): void };
}

export interface Sandbox {
  app: FastifyInstance;
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
  faults: FaultControl;
  calls(): Record<string, number>;
  resetCalls(): void;
  webhookDeliveries(): WebhookDelivery[];
  /** Only with a ManualClock: advances it and runs due work (ends, webhooks); await idle() for the POSTs to land. */
  advance?(ms: number): void;
  endMeeting(platform: string, nativeId: string, status?: "completed" | "failed"): Promise<void>;
  addSegments(platform: string, nativeId: string, count: number): void;
  /** Resolves once no webhook delivery is in flight. */
  idle(): Promise<void>;
}

const silent = { info: () => undefined, warn: () => undefined };

/** A simulated upstream Vexa (the wholesaler), faithful to the baseline API; see docs/sandbox.md. */
export function createSandbox(opts: SandboxOptions): Sandbox {
  const clock = opts.clock ?? systemClock;
  const seed = opts.seed ?? 1;
  const log = opts.logger ?? silent;
  const counters = new Map<string, number>();
  let sender: WebhookSender | undefined;
  const state = new SandboxState({
    clock,
    seed,
    maxConcurrentBots: opts.maxConcurrentBots ?? 100,
    limitStatus: opts.limitStatus ?? 403,
    stopDelayMs: opts.stopDelayMs ?? 1500,
    segmentIntervalMs: Math.max(100, opts.segmentIntervalMs ?? 4000),
    maxMeetingMs: opts.maxMeetingMs ?? 3 * 3_600_000,
    postStartStatus: opts.postStartStatus ?? "active",
    joinDelayMs: opts.joinDelayMs ?? 2000,
    log,
    onEnded: (m) => sender?.meetingEnded(m) ?? Promise.resolve(),
  });
  state.webhookSecret = opts.webhookSecret;
  const faults = new Faults((platform, nativeId) => state.forget(platform, nativeId));
  sender = new WebhookSender({
    clock,
    faults,
    seed,
    format: opts.webhookFormat ?? "flat",
    bearer: opts.webhookBearer ?? false,
    stamp: () => state.stamp(),
    log,
    target: () => {
      const url = state.user.data.webhook_url;
      return {
        url: typeof url === "string" ? url : opts.webhookUrl,
        secret: state.webhookSecret,
        userId: state.user.id,
      };
    },
  });
  const sleeps = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  // Latency is wall time on purpose: a request waiting on a manual clock would hang its test.
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          sleeps.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      sleeps.add(entry);
    });
  const app = createShell({ faults, counters, sleep });
  const ctx = { state, apiKey: opts.apiKey, now: () => clock.now() };
  registerBotRoutes(app, ctx);
  registerMeetingRoutes(app, ctx);

  const liveMeeting = (platform: string, nativeId: string) => {
    const m = state.latest(platform, nativeId);
    if (!m || !LIVE_STATUSES.has(m.status)) {
      throw new SandboxHttpError(404, `No live meeting for platform ${platform} and ID ${nativeId}`);
    }
    return m;
  };
  const manual = clock instanceof ManualClock ? clock : undefined;
  const webhookSender = sender;
  const sandbox: Sandbox = {
    app,
    faults,
    calls: () => Object.fromEntries(ROUTE_KEYS.map((k) => [k, counters.get(k) ?? 0])),
    resetCalls: () => counters.clear(),
    webhookDeliveries: () => [...webhookSender.deliveries],
    ...(manual ? { advance: (ms: number) => manual.advance(ms) } : {}),
    endMeeting: async (platform, nativeId, status = "completed") =>
      state.end(liveMeeting(platform, nativeId), status),
    addSegments: (platform, nativeId, count) => {
      const m = state.latest(platform, nativeId);
      if (!m)
        throw new SandboxHttpError(404, `Meeting not found for platform ${platform} and ID ${nativeId}`);
      m.transcript.addBulk(Math.floor(count), state.nowUs());
    },
    idle: () => webhookSender.idle(),
    async listen(port = 0, host = "127.0.0.1") {
      await app.listen({ port, host });
      const address = app.server.address() as AddressInfo;
      const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
      return `http://${shownHost}:${address.port}`;
    },
    async close() {
      state.close();
      webhookSender.close();
      for (const s of sleeps) {
        clearTimeout(s.timer);
        s.resolve();
      }
      sleeps.clear();
      await app.close();
    },
  };
  registerControlRoutes(app, {
    apiKey: opts.apiKey,
    faults,
    calls: sandbox.calls,
    resetCalls: sandbox.resetCalls,
    webhooks: () => ({ deliveries: webhookSender.deliveries, dropped: webhookSender.dropped }),
    ...(sandbox.advance ? { advance: sandbox.advance } : {}),
    endMeeting: sandbox.endMeeting,
    addSegments: sandbox.addSegments,
    idle: sandbox.idle,
  });
  return sandbox;
}
