import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { type Clock, ManualClock, systemClock } from "../clock.js";
import { registerControlRoutes } from "./control.js";
import { SandboxHttpError } from "./errors.js";
import { type FaultControl, Faults, ROUTE_KEYS } from "./faults.js";
import { createShell } from "./http.js";
import { registerBotRoutes } from "./routes-bots.js";
import { registerCurrentRoutes } from "./routes-current.js";
import { registerMeetingRoutes } from "./routes-meetings.js";
import { SandboxState } from "./state.js";
import { CurrentState } from "./state-current.js";
import type { BulkOptions } from "./transcript-gen.js";
import { skewedClock, TweakControl, type Tweaks } from "./tweaks.js";
import { LIVE_STATUSES } from "./views.js";
import { registerCurrentWs } from "./ws-current.js";
import { type WebhookDelivery, WebhookSender } from "./webhook.js";

export type { FaultControl, FaultSnapshot, RouteFault, RouteKey, WebhookFaults } from "./faults.js";
export { ROUTE_KEYS } from "./faults.js";
export type { BulkOptions, SegmentOut } from "./transcript-gen.js";
export type { Tweaks } from "./tweaks.js";
export type { WebhookDelivery } from "./webhook.js";
export { signWebhook } from "./webhook.js";

export type SandboxFlavor = "baseline" | "current";

export interface SandboxOptions {
  /** The one service key it accepts in X-API-Key. */
  apiKey: string;
  /**
   * Which Vexa it imitates: `baseline` (the contract we preserve, default) or `current` (Vexa's 2026 main,
   * `core/` layout: scoped keys, `requested → joining → awaiting_admission → active`, DELETE /bots 200,
   * no config route, `Z` timestamps, envelope webhooks, DELETE /meetings keeps the meeting).
   */
  flavor?: SandboxFlavor;
  /** Initial tweaks (clock skew, shifted final times, null absolute times, key scopes); see tweaks.ts. */
  tweaks?: Tweaks;
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
  /** Baseline only: status in the 201 body, default "active"; "requested" turns active after joinDelayMs. */
  postStartStatus?: "active" | "requested";
  /** requested → active delay (postStartStatus "requested", or current mode through joining and awaiting_admission), default 2000. */
  joinDelayMs?: number;
  /** Default target of the meeting-finished webhook; PUT /user/webhook overrides it. */
  webhookUrl?: string;
  /** If set, webhooks are signed (X-Webhook-Timestamp, X-Webhook-Signature). */
  webhookSecret?: string;
  /** Also send `Authorization: Bearer <secret>` with signed webhooks, default false. */
  webhookBearer?: boolean;
  /** Current mode: refuse webhook targets on loopback, private and link-local addresses, as current Vexa does (default false, so tests can use a local receiver). */
  blockPrivateWebhooks?: boolean;
  /** Baseline only (current mode always sends the webhook.v1 envelope). */
  webhookFormat?: "flat" | "envelope";
  /** Deterministic content and ids; default 1. */
  seed?: number;
  logger?: { info(o: object, msg?: string): void; warn(o: object, msg?: string): void };
}

export interface Sandbox {
  app: FastifyInstance;
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
  readonly flavor: SandboxFlavor;
  faults: FaultControl;
  /** Clock skew, shifted final times, null absolute times, key scopes: set any time, merged. */
  tweaks: TweakControl;
  calls(): Record<string, number>;
  resetCalls(): void;
  /** The last 100 POST /bots bodies as received (what the retailer sent upstream), oldest first. */
  botRequests(): unknown[];
  webhookDeliveries(): WebhookDelivery[];
  /** Only with a ManualClock: advances it and runs due work (ends, webhooks); await idle() for the POSTs to land. */
  advance?(ms: number): void;
  endMeeting(platform: string, nativeId: string, status?: "completed" | "failed"): Promise<void>;
  /** Appends immutable segments before now (or, with `pastEndMs`, after the meeting's end). */
  addSegments(platform: string, nativeId: string, count: number, opts?: BulkOptions): void;
  /** Resolves once no webhook delivery is in flight. */
  idle(): Promise<void>;
}

const silent = { info: () => undefined, warn: () => undefined };

/** A simulated upstream Vexa (the wholesaler), faithful to the baseline API; see docs/sandbox.md. */
export function createSandbox(opts: SandboxOptions): Sandbox {
  const flavor = opts.flavor ?? "baseline";
  const tweaks = new TweakControl(opts.tweaks);
  // Timers run on the given clock; every time the sandbox prints (and its Date header) carries the skew.
  const clock = skewedClock(opts.clock ?? systemClock, tweaks);
  const seed = opts.seed ?? 1;
  const log = opts.logger ?? silent;
  const counters = new Map<string, number>();
  let sender: WebhookSender | undefined;
  const stateOptions = {
    clock,
    seed,
    maxConcurrentBots: opts.maxConcurrentBots ?? 100,
    limitStatus: opts.limitStatus ?? 403,
    stopDelayMs: opts.stopDelayMs ?? 1500,
    segmentIntervalMs: Math.max(100, opts.segmentIntervalMs ?? 4000),
    maxMeetingMs: opts.maxMeetingMs ?? 3 * 3_600_000,
    postStartStatus: flavor === "current" ? ("requested" as const) : (opts.postStartStatus ?? "active"),
    joinDelayMs: opts.joinDelayMs ?? 2000,
    log,
    onEnded: (m: Parameters<WebhookSender["meetingEnded"]>[0]) =>
      sender?.meetingEnded(m) ?? Promise.resolve(),
  };
  const current = flavor === "current" ? new CurrentState(stateOptions, opts.webhookUrl) : undefined;
  const state = current ?? new SandboxState(stateOptions);
  state.webhookSecret = opts.webhookSecret;
  const faults = new Faults((platform, nativeId) => state.forget(platform, nativeId));
  sender = new WebhookSender({
    clock,
    faults,
    seed,
    format: opts.webhookFormat ?? "flat",
    bearer: opts.webhookBearer ?? false,
    current: current !== undefined,
    blockPrivate: opts.blockPrivateWebhooks ?? false,
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
  const app = createShell({ faults, counters, sleep, now: () => clock.now() });
  const botRequests: unknown[] = [];
  app.addHook("preHandler", async (request) => {
    if (request.method !== "POST" || request.routeOptions.url !== "/bots") return;
    botRequests.push(request.body);
    if (botRequests.length > 100) botRequests.shift();
  });
  if (current) {
    registerCurrentRoutes(app, { state: current, apiKey: opts.apiKey, tweaks });
    registerCurrentWs(app, { state: current, apiKey: opts.apiKey, tweaks });
  } else {
    const ctx = { state, apiKey: opts.apiKey, now: () => clock.now(), tweaks };
    registerBotRoutes(app, ctx);
    registerMeetingRoutes(app, ctx);
  }

  const liveMeeting = (platform: string, nativeId: string) => {
    const m = state.latest(platform, nativeId);
    if (!m || !LIVE_STATUSES.has(m.status)) {
      throw new SandboxHttpError(404, `No live meeting for platform ${platform} and ID ${nativeId}`);
    }
    return m;
  };
  const manual = opts.clock instanceof ManualClock ? opts.clock : undefined;
  const webhookSender = sender;
  const sandbox: Sandbox = {
    app,
    flavor,
    faults,
    tweaks,
    calls: () => Object.fromEntries(ROUTE_KEYS.map((k) => [k, counters.get(k) ?? 0])),
    resetCalls: () => counters.clear(),
    botRequests: () => [...botRequests],
    webhookDeliveries: () => [...webhookSender.deliveries],
    ...(manual ? { advance: (ms: number) => manual.advance(ms) } : {}),
    endMeeting: async (platform, nativeId, status = "completed") =>
      state.end(liveMeeting(platform, nativeId), status),
    addSegments: (platform, nativeId, count, bulk) => {
      const m = state.latest(platform, nativeId);
      if (!m)
        throw new SandboxHttpError(404, `Meeting not found for platform ${platform} and ID ${nativeId}`);
      try {
        m.transcript.addBulk(Math.floor(count), state.nowUs(), bulk);
      } catch (err) {
        if (err instanceof RangeError) throw new SandboxHttpError(409, err.message);
        throw err;
      }
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
    webhooks: () => ({
      deliveries: webhookSender.deliveries,
      dropped: webhookSender.dropped,
      blocked: webhookSender.blocked,
    }),
    ...(sandbox.advance ? { advance: sandbox.advance } : {}),
    endMeeting: sandbox.endMeeting,
    addSegments: sandbox.addSegments,
    tweaks,
    idle: sandbox.idle,
  });
  return sandbox;
}
