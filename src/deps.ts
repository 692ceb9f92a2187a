import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { Clock } from "./clock.js";
import { systemClock } from "./clock.js";
import type { Config } from "./config.js";
import { createOpsSampler } from "./console/sampler.js";
import { createMemorySignInThrottle, sharedSignInThrottle } from "./console/throttle.js";
import { createDb, type Db } from "./db/client.js";
import { migrate } from "./db/migrate.js";
import type { AppDeps } from "./http/deps.js";
import { httpMetricsHook } from "./http/metrics-hook.js";
import type { OpsDeps } from "./http/routes/health.js";
import { type BucketLimits, createMemoryRateLimiter } from "./cache/rate-limiter.js";
import { authFailureHook, rateLimitHook } from "./http/rate-limit.js";
import type { FinalizeStep } from "./jobs/finalize-meeting.js";
import { FINALIZE_QUEUE, NOTIFY_QUEUE, START_QUEUE } from "./meetings/queues.js";
import { createJobQueue, type JobQueue } from "./jobs/queue.js";
import { startBackgroundWork } from "./jobs/runner.js";
import { createReadiness } from "./observability/health.js";
import { countLiveCache, createMetrics, type Metrics } from "./observability/metrics.js";
import { createRedisHealth } from "./redis/health.js";
import { createHoldingsCache } from "./cache/holdings.js";
import { createHoldingsInvalidation } from "./redis/holdings-invalidation.js";
import { createKeyRevocations } from "./redis/key-revocations.js";
import { createRedisLiveCache } from "./redis/live-cache.js";
import { createRedisRateLimiter } from "./redis/rate-limit.js";
import { createFinalTranscriptCache } from "./services/final-transcripts.js";
import { createKeyCache } from "./services/key-cache.js";
import { createMemoryLiveCache, type LiveCache } from "./cache/live-cache.js";
import type { UserMeetingRow } from "./services/meeting-views.js";
import type { UserRow } from "./services/users.js";
import type { Sandbox } from "./sandbox/index.js";
import { type CapabilityCheck, createCapabilityCheck } from "./upstream/capabilities.js";
import { createWholesalerClient, type WholesalerClient } from "./upstream/client.js";
import { createUpstreamWatch } from "./upstream/watch.js";
import { createUserNotifier } from "./webhooks/notify.js";
import type { HoldingsChange } from "./cache/holdings.js";
import { createMemoryLiveBus } from "./cache/live-bus.js";
import { createLiveHub } from "./live/hub.js";
import { createRedisLiveBus } from "./redis/live-bus.js";

export interface Logger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
  error(o: object, msg?: string): void;
}

const silent: Logger = { info() {}, warn() {}, error() {} };

export interface Deps extends AppDeps {
  db: Db;
  client: WholesalerClient;
  /** What the wholesaler key may do (current Vexa's scopes), asked at start-up in the background. */
  capabilities: CapabilityCheck;
  queue: JobQueue;
  /** Shared cache, rate limits and locks across instances; absent without REDIS_URL. */
  redis?: Redis;
  sandbox?: Sandbox;
  metrics: Metrics;
  ops: OpsDeps;
  /** Marks the instance as shutting down: /ready answers 503 from now on. */
  beginShutdown(): void;
  /** Points the wholesaler's webhooks at our receiver (start-up registration). */
  registerReceiver(baseUrl: string): Promise<void>;
  /** Stops background work (running jobs get up to timeoutMs, default SHUTDOWN_TIMEOUT_MS) and closes pools. */
  close(opts?: { timeoutMs?: number }): Promise<void>;
}

export interface DepsOptions {
  clock?: Clock;
  db?: Db;
  logger?: Logger;
  /** pg-boss schema; tests give each database its own. */
  queueSchema?: string;
  crashAt?: (step: FinalizeStep) => void;
  liveCache?: LiveCache;
}

// At start Redis gets this long to connect before the first requests fall back to in-process equivalents.
const REDIS_CONNECT_WAIT_MS = 2000;

// Verified keys are remembered this long; revocations reach every instance at once through Redis.
const KEY_CACHE_TTL_MS = 1000;

/** Composition root: builds the long-lived objects once; tests call it with their own database and clock. */
export async function createDeps(config: Config, opts: DepsOptions = {}): Promise<Deps> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? silent;
  // Start-up says what it is doing: the first start of the embedded database takes a while, silently otherwise.
  if (!opts.db) logger.info(describeDatabase(config.database), "opening the database");
  const db = opts.db ?? (await createDb(config.database));
  const applied = await migrate(db);
  if (applied.length > 0) logger.info({ applied }, "database migrations applied");
  // ioredis and the sandbox are loaded only when configured, to keep a plain server's memory small.
  const redis = config.redisUrl
    ? new (await import("ioredis")).Redis(config.redisUrl, {
        maxRetriesPerRequest: 2,
        enableOfflineQueue: true,
      })
    : undefined;
  redis?.on("error", (err) => logger.warn({ err: err.message }, "redis error"));
  const redisHealth = redis ? createRedisHealth(redis, { log: logger }) : undefined;
  if (redis) await connected(redis, REDIS_CONNECT_WAIT_MS);
  let revocations: ReturnType<typeof createKeyRevocations> | undefined;
  const keys = createKeyCache<UserRow>({
    ttlMs: KEY_CACHE_TTL_MS,
    now: () => performance.now(),
    broadcast: (hash) => revocations?.publish(hash),
  });
  revocations = redis
    ? createKeyRevocations(redis, config.wholesaler.serviceLayerId, (h) => keys.evict(h))
    : undefined;
  let invalidation: ReturnType<typeof createHoldingsInvalidation> | undefined;
  const views = createHoldingsCache<UserMeetingRow>({
    ttlMs: config.caches.viewTtlMs,
    maxEntries: config.caches.viewMaxEntries,
    now: () => performance.now(),
    broadcast: async (change) => invalidation?.publish(change),
  });
  // Live push hears every holdings change after the views have dropped it (set once the hub exists below).
  let pushChange: (change: HoldingsChange) => void = () => undefined;
  invalidation = redis
    ? createHoldingsInvalidation(redis, config.wholesaler.serviceLayerId, {
        onChange: (change) => {
          views.evict(change);
          pushChange(change);
        },
        onListening: (on) => views.setListening(on),
      })
    : undefined;
  const onHoldingsChanged = async (change: HoldingsChange) => {
    await views.invalidate(change);
    pushChange(change);
  };
  const ctx = { db, clock, keys, views };
  const secrets = [...config.webhookSecrets];
  const metrics = createMetrics();
  const sampler = createOpsSampler(ctx, (err) => logger.warn({ err }, "ops sample failed"));

  let sandbox: Sandbox | undefined;
  let wholesaler = { url: config.wholesaler.url, key: config.wholesaler.apiKey ?? "" };
  if (config.wholesaler.isSandbox) {
    if (secrets.length === 0) secrets.push(randomBytes(24).toString("hex"));
    ({ sandbox, wholesaler } = await startInProcessSandbox(config, clock, logger, secrets[0] ?? ""));
  }
  const client = createWholesalerClient({
    baseUrl: wholesaler.url,
    apiKey: wholesaler.key,
    serviceLayerId: config.wholesaler.serviceLayerId,
    timeoutMs: config.wholesaler.timeoutMs,
    // Network timeouts, retry sleeps and the breaker run on real time even when tests simulate meeting time.
    clock: systemClock,
    // The wholesaler's clock offset is measured against the time our records use.
    wallClock: clock,
    logger,
    onCall: (e) => {
      metrics.upstreamCall(e);
      sampler.upstreamCall(e);
    },
  });
  client.onBreakerStateChange((to) => metrics.breakerTransition(to));
  // Never blocks start-up: a key that cannot read transcripts is reported by /ready and the log.
  const capabilities = createCapabilityCheck({ client, log: logger });
  capabilities.start();
  const liveCache = countLiveCache(
    opts.liveCache ??
      (redis && redisHealth
        ? createRedisLiveCache(
            redis,
            redisHealth,
            clock,
            config.transcriptCacheTtlMs,
            config.wholesaler.serviceLayerId,
            config.caches.liveMaxEntries,
          )
        : createMemoryLiveCache(clock, config.transcriptCacheTtlMs, config.caches.liveMaxEntries)),
    metrics.liveCache,
  );
  const queue = createJobQueue(db, { schema: opts.queueSchema ?? config.queueSchema, logger });
  logger.info({ schema: queue.schema }, "starting the job queue");
  await queue.start();
  sampler.start({
    breakerState: () => client.breakerState(),
    queueDepth: async () =>
      (await Promise.all([FINALIZE_QUEUE, START_QUEUE, NOTIFY_QUEUE].map((q) => queue.depth(q)))).reduce(
        (a, b) => a + b,
        0,
      ),
  });
  let queueRunning = true;
  let shuttingDown = false;
  const notifier = createUserNotifier({
    db,
    clock,
    allowPrivate: config.allowPrivateWebhooks,
    onDelivery: metrics.webhookDelivery,
  });
  const crashAt = opts.crashAt ?? (config.chaosCrashAt ? killSelfAt(config.chaosCrashAt) : undefined);
  // The baseline (no GET /auth/me) does not know current Vexa's optional bot fields; unknown yet: send them.
  const takesBotOptions = () => capabilities.current().source !== "assumed";
  const lifecycle = {
    db,
    clock,
    client,
    queue,
    serviceLayerId: config.wholesaler.serviceLayerId,
    takesBotOptions,
    onHoldingsChanged,
    ...(crashAt ? { crashAt } : {}),
  };
  const background =
    config.role === "all" || config.role === "bot-manager"
      ? await startBackgroundWork({
          ...lifecycle,
          log: logger,
          reconcileIntervalSeconds: config.reconcileIntervalSeconds,
          notify: notifier.notify,
          onOrphanStopped: metrics.orphanBotStopped,
        })
      : undefined;

  metrics.watch({
    breakerState: () => client.breakerState(),
    authFailing: () => client.authFailing(),
    queues: [FINALIZE_QUEUE, START_QUEUE, NOTIFY_QUEUE],
    queueDepth: (name) => queue.depth(name),
    queueFailed: (name) => queue.failedCount(name),
    dbStatements: () => db.statements?.() ?? 0,
    dbNamedStatements: () => db.namedStatements?.() ?? new Map(),
  });
  const ready = createReadiness({
    db,
    wholesaler: client,
    capabilities,
    queue,
    queueRunning: () => queueRunning,
    shuttingDown: () => shuttingDown,
    probeQueue: FINALIZE_QUEUE,
    ...(redisHealth ? { redis: redisHealth } : {}),
    log: logger,
  });
  const hooks: NonNullable<AppDeps["hooks"]> = [httpMetricsHook(metrics)];
  // Shared through Redis when configured; each falls back to its own in-process buckets while Redis is away.
  const limiter = (limits: BucketLimits) => {
    const local = createMemoryRateLimiter(limits, clock);
    return redis && redisHealth
      ? createRedisRateLimiter(redis, limits, { fallback: local, health: redisHealth })
      : local;
  };
  const authFailures = config.authFailureLimit.perSecond > 0 ? limiter(config.authFailureLimit) : undefined;
  if (authFailures) hooks.push(authFailureHook(authFailures, metrics.rateLimited));
  if (config.rateLimit.perSecond > 0)
    hooks.push(rateLimitHook(limiter(config.rateLimit), metrics.rateLimited));

  const transcriptsCtx = {
    ...ctx,
    client,
    cache: liveCache,
    finals: createFinalTranscriptCache(config.caches.finalMaxSegments),
    onCheckpointError: (err: unknown) => logger.warn({ err }, "transcript checkpoint failed"),
  };
  const upstreamWatch = config.livePush.upstreamWs
    ? createUpstreamWatch({ baseUrl: wholesaler.url, apiKey: wholesaler.key, log: logger })
    : undefined;
  const live = createLiveHub({
    ctx: transcriptsCtx,
    bus: redis ? createRedisLiveBus(redis, config.wholesaler.serviceLayerId) : createMemoryLiveBus(),
    intervalMs: config.livePush.intervalMs,
    maxBufferedBytes: config.livePush.maxBufferedBytes,
    watch: upstreamWatch,
    log: logger,
  });
  pushChange = (change) => live.holdingsChanged(change);

  return {
    config,
    ctx,
    hooks,
    live,
    ops: { ready, metrics },
    metrics,
    botsCtx: {
      ...ctx,
      client,
      queue,
      log: logger,
      serviceLayerId: config.wholesaler.serviceLayerId,
      takesBotOptions,
      // The early run shares the reconciler's one-queued-job key: where the regular interval is as short, it would
      // only hold the regular runs back.
      reconcileAfterStopSeconds:
        config.reconcileAfterStopSeconds < config.reconcileIntervalSeconds
          ? config.reconcileAfterStopSeconds
          : 0,
      onHoldingsChanged,
    },
    eventsCtx: { db, clock, queue, secrets },
    console: {
      client,
      capabilities,
      queue,
      lifecycle: { ...lifecycle, log: logger, onOrphanStopped: metrics.orphanBotStopped },
      throttle: authFailures ? sharedSignInThrottle(authFailures) : createMemorySignInThrottle(clock),
    },
    transcriptsCtx,
    db,
    client,
    capabilities,
    queue,
    ...(sandbox ? { sandbox } : {}),
    ...(redis ? { redis } : {}),
    async registerReceiver(baseUrl) {
      await client.setUserWebhook(`${baseUrl.replace(/\/+$/, "")}/webhooks/meeting-finished`, secrets[0]);
    },
    beginShutdown() {
      shuttingDown = true;
    },
    async close(o = {}) {
      shuttingDown = true;
      await live.close();
      upstreamWatch?.close();
      await sampler.stop();
      await background?.stop();
      queueRunning = false;
      await queue.stop({ graceful: true, timeoutMs: o.timeoutMs ?? config.shutdownTimeoutMs });
      await notifier.close();
      capabilities.close();
      await client.close();
      await sandbox?.close();
      await revocations?.close();
      redisHealth?.close();
      await invalidation?.close();
      await redis?.quit().catch(() => undefined);
      await db.close();
    },
  };
}

function describeDatabase(target: Config["database"]): object {
  if (target.kind === "pg") return { database: "postgresql", host: new URL(target.url).host };
  return {
    database: "pglite",
    dataDir: target.dataDir,
    note: "embedded database; creating it on the first start takes about half a minute",
  };
}

/** No wholesaler account: run the simulated Vexa in this process; main points its webhooks back at us. */
async function startInProcessSandbox(config: Config, clock: Clock, logger: Logger, secret: string) {
  const key = randomBytes(20).toString("hex");
  const sandbox = (await import("./sandbox/index.js")).createSandbox({
    apiKey: key,
    clock,
    webhookSecret: secret,
    logger,
  });
  const url = await sandbox.listen(0, "127.0.0.1");
  logger.warn(
    { wholesaler: url, explicit: config.wholesaler.sandboxRequested },
    "SANDBOX MODE: bots and transcripts come from the built-in simulated Vexa, not a real wholesaler (set VEXA_INFRA_API_URL and VEXA_INFRA_API_KEY to use one)",
  );
  return { sandbox, wholesaler: { url, key } };
}

function connected(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === "ready") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off("ready", done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    redis.once("ready", done);
  });
}

/** The chaos suite's crash: no cleanup, no flush, exactly like a machine dying at that step. */
function killSelfAt(target: FinalizeStep) {
  return (step: FinalizeStep) => {
    if (step === target) process.kill(process.pid, "SIGKILL");
  };
}
