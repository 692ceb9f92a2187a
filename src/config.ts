import { existsSync } from "node:fs";
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import ipaddr from "ipaddr.js";

const Bool = Type.Union([Type.Literal("true"), Type.Literal("false")]);
const Int = (min: number, max: number) => Type.Integer({ minimum: min, maximum: max });

/** Every variable the retailer reads, with its default; the only place process.env is read. */
const EnvSchema = Type.Object({
  ROLE: Type.Union(
    [
      Type.Literal("all"),
      Type.Literal("api-gateway"),
      Type.Literal("admin-api"),
      Type.Literal("bot-manager"),
    ],
    { default: "all" },
  ),
  HOST: Type.String({ default: "0.0.0.0" }),
  API_GATEWAY_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8056 }),
  ADMIN_API_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8057 }),
  BOT_MANAGER_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8058 }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: "^postgres(ql)?://" })),
  DB_HOST: Type.Optional(Type.String({ minLength: 1 })),
  DB_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 5432 }),
  DB_NAME: Type.String({ default: "vexa" }),
  DB_USER: Type.String({ default: "postgres" }),
  DB_PASSWORD: Type.String({ default: "" }),
  DB_POOL_SIZE: Int(1, 200),
  DATA_DIR: Type.String({ default: "./data", minLength: 1 }),
  CHAOS_CRASH_AT: Type.Optional(
    Type.Union([Type.Literal("pulled"), Type.Literal("stored"), Type.Literal("deleted")], {
      description: "testing only: SIGKILL this process at that finalization step",
    }),
  ),
  QUEUE_SCHEMA: Type.String({ default: "pgboss", pattern: "^[A-Za-z_][A-Za-z0-9_]{0,49}$" }),
  REDIS_URL: Type.Optional(Type.String({ pattern: "^rediss?://" })),
  ADMIN_API_TOKEN: Type.Optional(Type.String({ minLength: 1 })),
  VEXA_INFRA_API_URL: Type.Optional(Type.String({ pattern: "^(sandbox|https?://.+)$" })),
  VEXA_INFRA_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  SERVICE_LAYER_ID: Type.String({ default: "retailer-1", minLength: 1, maxLength: 100 }),
  WHOLESALER_WEBHOOK_SECRET: Type.Optional(Type.String({ minLength: 1 })),
  RETAILER_PUBLIC_URL: Type.Optional(Type.String({ pattern: "^https?://" })),
  BOT_IMAGE_NAME: Type.String({ default: "vexa-bot:dev" }),
  DEVICE_TYPE: Type.String({ default: "none" }),
  ALLOW_PRIVATE_WEBHOOKS: Bool,
  RECONCILE_INTERVAL_SECONDS: Int(1, 86400),
  RECONCILE_AFTER_STOP_SECONDS: Int(0, 86400),
  TRANSCRIPT_CACHE_TTL_MS: Int(0, 600000),
  // Memory bounds of the in-process caches (issue 14): every cache is bounded by one of these.
  VIEW_CACHE_MAX_ENTRIES: Int(0, 10000000),
  VIEW_CACHE_TTL_MS: Int(0, 3600000),
  LIVE_CACHE_MAX_ENTRIES: Int(1, 1000000),
  FINAL_CACHE_MAX_SEGMENTS: Int(0, 100000000),
  LIVE_PUSH_INTERVAL_MS: Int(100, 60000),
  LIVE_PUSH_MAX_BUFFERED_BYTES: Int(65536, 1073741824),
  LIVE_PUSH_UPSTREAM_WS: Bool,
  UPSTREAM_TIMEOUT_MS: Int(100, 60000),
  RATE_LIMIT_PER_SECOND: Type.Number({ minimum: 0, maximum: 100000 }),
  RATE_LIMIT_BURST: Int(1, 1000000),
  AUTH_FAILURES_PER_MINUTE: Type.Number({ minimum: 0, maximum: 1000000 }),
  AUTH_FAILURE_BURST: Int(1, 1000000),
  TRUSTED_PROXIES: Type.Optional(Type.String({ minLength: 1 })),
  SHUTDOWN_TIMEOUT_MS: Int(100, 600000),
  CORS_ORIGINS: Type.Optional(
    Type.String({
      pattern: "^\\s*https?://[^/\\s,]+/?(\\s*,\\s*https?://[^/\\s,]+/?)*\\s*$",
      description: "comma-separated origins (scheme://host[:port]) allowed to send credentials",
    }),
  ),
  // The HTTP edge: slow or stuck clients and overload (src/http/server-limits.ts).
  BODY_LIMIT_BYTES: Int(1024, 100 * 1024 * 1024),
  HEADERS_TIMEOUT_MS: Int(100, 600000),
  REQUEST_TIMEOUT_MS: Int(100, 3600000),
  SOCKET_IDLE_TIMEOUT_MS: Int(0, 3600000),
  MAX_CONNECTIONS: Int(0, 1000000),
  BODY_DRAIN_MAX_BYTES: Int(0, 1024 * 1024 * 1024),
  BODY_DRAIN_TIMEOUT_MS: Int(0, 600000),
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: Int(0, 600000),
  OVERLOAD_MAX_HEAP_PERCENT: Int(0, 100),
  OVERLOAD_MAX_RSS_MB: Int(0, 1024 * 1024),
  OVERLOAD_RETRY_AFTER_SECONDS: Int(1, 3600),
  LOG_LEVEL: Type.Union(
    ["fatal", "error", "warn", "info", "debug", "trace", "silent"].map((l) => Type.Literal(l)),
    { default: "info" },
  ),
  LOG_FORMAT: Type.Union([Type.Literal("json"), Type.Literal("pretty")], { default: "json" }),
});

const DEFAULTS: Record<string, string> = {
  DB_POOL_SIZE: "10",
  ALLOW_PRIVATE_WEBHOOKS: "false",
  RECONCILE_INTERVAL_SECONDS: "60",
  RECONCILE_AFTER_STOP_SECONDS: "10",
  TRANSCRIPT_CACHE_TTL_MS: "1000",
  VIEW_CACHE_MAX_ENTRIES: "10000",
  VIEW_CACHE_TTL_MS: "60000",
  LIVE_CACHE_MAX_ENTRIES: "1000",
  FINAL_CACHE_MAX_SEGMENTS: "40000",
  LIVE_PUSH_INTERVAL_MS: "1000",
  LIVE_PUSH_MAX_BUFFERED_BYTES: "4194304",
  LIVE_PUSH_UPSTREAM_WS: "true",
  UPSTREAM_TIMEOUT_MS: "1500",
  RATE_LIMIT_PER_SECOND: "20",
  RATE_LIMIT_BURST: "250",
  AUTH_FAILURES_PER_MINUTE: "10",
  AUTH_FAILURE_BURST: "20",
  SHUTDOWN_TIMEOUT_MS: "10000",
  BODY_LIMIT_BYTES: "1048576",
  HEADERS_TIMEOUT_MS: "10000",
  REQUEST_TIMEOUT_MS: "30000",
  SOCKET_IDLE_TIMEOUT_MS: "60000",
  MAX_CONNECTIONS: "1024",
  BODY_DRAIN_MAX_BYTES: "8388608",
  BODY_DRAIN_TIMEOUT_MS: "5000",
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: "0",
  OVERLOAD_MAX_HEAP_PERCENT: "90",
  OVERLOAD_MAX_RSS_MB: "0",
  OVERLOAD_RETRY_AFTER_SECONDS: "5",
};

export const CONFIG_VARIABLES = Object.keys(EnvSchema.properties);
export const SECRET_VARIABLES = [
  "VEXA_INFRA_API_KEY",
  "WHOLESALER_WEBHOOK_SECRET",
  "ADMIN_API_TOKEN",
  "DB_PASSWORD",
];

/** The wholesaler used when VEXA_INFRA_API_KEY is set and VEXA_INFRA_API_URL is not. */
export const DEFAULT_WHOLESALER_URL = "https://gateway.dev.vexa.ai";
/** Long enough that guessing it is hopeless even without the failed-authentication throttle. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;
const PLACEHOLDER = "change-me";
// Names @fastify/proxy-addr understands besides addresses and CIDR ranges.
const PROXY_NAMES = ["loopback", "linklocal", "uniquelocal"];

type Env = Static<typeof EnvSchema>;
export type Role = Env["ROLE"];

export interface Config {
  /** Testing only: the chaos suite makes the process kill itself at this finalization step. */
  chaosCrashAt: "pulled" | "stored" | "deleted" | undefined;
  role: Role;
  host: string;
  gatewayPort: number;
  adminPort: number;
  /** A bot-manager-only process serves /health, /ready and /metrics here. */
  botManagerPort: number;
  /** `variable` names what the operator set, for start-up errors. */
  database:
    | { kind: "pg"; url: string; poolSize: number; variable: "DATABASE_URL" | "DB_HOST" }
    | { kind: "pglite"; dataDir: string; variable: "DATA_DIR" };
  /** Postgres schema of the durable job queue (pg-boss). */
  queueSchema: string;
  redisUrl: string | undefined;
  adminApiToken: string | undefined;
  wholesaler: {
    /** `sandbox` when the built-in simulator runs. */
    url: string;
    apiKey: string | undefined;
    isSandbox: boolean;
    /** VEXA_INFRA_API_URL=sandbox asked for it (otherwise it runs because no wholesaler is configured). */
    sandboxRequested: boolean;
    serviceLayerId: string;
    timeoutMs: number;
  };
  webhookSecrets: string[];
  publicUrl: string | undefined;
  allowPrivateWebhooks: boolean;
  reconcileIntervalSeconds: number;
  /** After a stop we sent upstream, one reconcile run this much later (0: off). */
  reconcileAfterStopSeconds: number;
  transcriptCacheTtlMs: number;
  caches: {
    /** Per-user meeting views (one row each); 0 entries or 0 ms turns the cache off. */
    viewMaxEntries: number;
    viewTtlMs: number;
    /** Live transcripts held at once (one wholesaler answer each). */
    liveMaxEntries: number;
    /** Segments of finished transcripts kept in memory, all meetings together. */
    finalMaxSegments: number;
  };
  /** /ws and the SSE stream: how often a live meeting is read upstream, and the unsent bytes a client may lag. */
  livePush: {
    intervalMs: number;
    maxBufferedBytes: number;
    /** Follow live meetings through the wholesaler's own /ws where it has one (a change signal; polls otherwise). */
    upstreamWs: boolean;
  };
  rateLimit: { perSecond: number; burst: number };
  /** Failed authentications allowed per client address (token bucket; perSecond 0 turns it off). */
  authFailureLimit: { perSecond: number; burst: number };
  /** Proxies whose X-Forwarded-For is believed (Fastify `trustProxy`); false: the socket's peer is the client. */
  trustProxy: string[] | false;
  shutdownTimeoutMs: number;
  /** Browser origins allowed credentials (CORS); every other origin may still read the user API. */
  corsOrigins: string[];
  http: HttpLimits;
  logLevel: string;
  /** `json` lines for machines (default), `pretty` coloured lines for people (pino-pretty). */
  logFormat: "json" | "pretty";
}

/** Bounds on what one client, or all of them together, can hold of an HTTP server; 0 turns a bound off. */
export interface HttpLimits {
  bodyLimitBytes: number;
  /** Time to receive a request's headers. */
  headersTimeoutMs: number;
  /** Time to receive a whole request, headers and body: the bound on slow bodies. */
  requestTimeoutMs: number;
  /** A socket with no traffic either way for this long is closed. */
  socketIdleTimeoutMs: number;
  /** Per listening port; connections past it are closed on accept. */
  maxConnections: number;
  /** After answering before the body was read (413, 503), read and discard this much of it before closing. */
  bodyDrain: { maxBytes: number; timeoutMs: number };
  overload: {
    maxEventLoopDelayMs: number;
    /** Share of V8's heap limit. */
    maxHeapPercent: number;
    maxRssMb: number;
    retryAfterSeconds: number;
  };
}

export class ConfigError extends Error {}

/** Parses and validates the environment once; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = readEnv(), argv: string[] = []): Config {
  const raw: Record<string, unknown> = {};
  for (const key of CONFIG_VARIABLES) {
    const v = env[key] ?? DEFAULTS[key];
    if (v !== undefined && v !== "") raw[key] = v;
  }
  const roleFlag = argv.find((a) => a.startsWith("--role="))?.slice(7) ?? argv[argv.indexOf("--role") + 1];
  if (argv.includes("--role") || roleFlag) raw.ROLE = roleFlag;
  const converted = Value.Default(EnvSchema, Value.Convert(EnvSchema, { ...raw })) as Record<string, unknown>;
  // TypeBox's Convert truncates "0.5" to 0 for an integer: a fraction must be reported, not silently changed.
  for (const [key, schema] of Object.entries(EnvSchema.properties)) {
    const given = raw[key];
    if (schema.type === "integer" && typeof given === "string" && !/^\s*[+-]?\d+\s*$/.test(given))
      converted[key] = given;
  }
  const problems = new Map<string, string>();
  for (const e of Value.Errors(EnvSchema, converted)) {
    const name = e.path.replace(/^\//, "") || "(config)";
    if (!problems.has(name)) problems.set(name, explain(e.schema, e.message));
  }
  for (const [name, why] of crossChecks(converted as Env)) if (!problems.has(name)) problems.set(name, why);
  if (problems.size > 0) {
    const lines = [...problems].map(([name, why]) => {
      const given = raw[name];
      const shown =
        given === undefined
          ? "(unset)"
          : SECRET_VARIABLES.includes(name)
            ? "<redacted>"
            : JSON.stringify(given);
      return `  ${name}=${shown}: ${why}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  return toConfig(converted as Env);
}

/** An enum's error lists its allowed values rather than TypeBox's "Expected union value". */
function explain(schema: TSchema, message: string): string {
  const options = (schema.anyOf as TSchema[] | undefined)?.map((s) => s.const);
  if (options?.every((o) => typeof o === "string")) return `must be one of: ${options.join(", ")}`;
  return message;
}

/** Rules that span variables or need more than a schema can say; each names the variable to fix. */
function crossChecks(e: Env): [string, string][] {
  const problems: [string, string][] = [];
  if (Number(e.HEADERS_TIMEOUT_MS) > Number(e.REQUEST_TIMEOUT_MS))
    problems.push(["HEADERS_TIMEOUT_MS", "must not exceed REQUEST_TIMEOUT_MS"]);
  if (e.ADMIN_API_TOKEN !== undefined && e.ADMIN_API_TOKEN.length < MIN_ADMIN_TOKEN_LENGTH)
    problems.push([
      "ADMIN_API_TOKEN",
      `must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters (generate one with: openssl rand -hex 32)`,
    ]);
  // env-example.retailer's placeholders are public: a copied file left unedited would let anyone in.
  if (e.ADMIN_API_TOKEN?.startsWith(PLACEHOLDER))
    problems.push([
      "ADMIN_API_TOKEN",
      `is the example file's placeholder; generate one with: openssl rand -hex 32`,
    ]);
  if (parseList(e.WHOLESALER_WEBHOOK_SECRET).some((s) => s.startsWith(PLACEHOLDER)))
    problems.push([
      "WHOLESALER_WEBHOOK_SECRET",
      "is the example file's placeholder; set the secret the wholesaler signs with (e.g. openssl rand -hex 32)",
    ]);
  // A real wholesaler without its key must not quietly become the simulator: users would be sold simulated bots.
  if (e.VEXA_INFRA_API_URL && e.VEXA_INFRA_API_URL !== "sandbox" && !e.VEXA_INFRA_API_KEY)
    problems.push([
      "VEXA_INFRA_API_KEY",
      `is required when VEXA_INFRA_API_URL points at a wholesaler (${e.VEXA_INFRA_API_URL}); set VEXA_INFRA_API_URL=sandbox to run the simulator`,
    ]);
  const badProxies = parseList(e.TRUSTED_PROXIES).filter(
    (p) => !PROXY_NAMES.includes(p) && !isAddressOrRange(p),
  );
  if (badProxies.length > 0)
    problems.push([
      "TRUSTED_PROXIES",
      `not an address, CIDR range or one of ${PROXY_NAMES.join(", ")}: ${badProxies.join(", ")}`,
    ]);
  return problems;
}

function isAddressOrRange(s: string): boolean {
  return s.includes("/") ? ipaddr.isValidCIDR(s) : ipaddr.isValid(s);
}

const parseList = (s: string | undefined) =>
  (s ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

function toConfig(e: Env): Config {
  const dbUrl =
    e.DATABASE_URL ??
    (e.DB_HOST
      ? `postgresql://${encodeURIComponent(e.DB_USER)}:${encodeURIComponent(e.DB_PASSWORD)}@${e.DB_HOST}:${e.DB_PORT}/${encodeURIComponent(e.DB_NAME)}`
      : undefined);
  // No URL and no key: the simulator, so a first `npm start` works with no account (announced loudly at start).
  const sandboxRequested = e.VEXA_INFRA_API_URL === "sandbox";
  const isSandbox = sandboxRequested || !e.VEXA_INFRA_API_KEY;
  const proxies = parseList(e.TRUSTED_PROXIES);
  return {
    role: e.ROLE,
    host: e.HOST,
    gatewayPort: e.API_GATEWAY_PORT,
    adminPort: e.ADMIN_API_PORT,
    botManagerPort: e.BOT_MANAGER_PORT,
    database: dbUrl
      ? {
          kind: "pg",
          url: dbUrl,
          poolSize: Number(e.DB_POOL_SIZE),
          variable: e.DATABASE_URL ? "DATABASE_URL" : "DB_HOST",
        }
      : { kind: "pglite", dataDir: e.DATA_DIR, variable: "DATA_DIR" },
    queueSchema: e.QUEUE_SCHEMA,
    chaosCrashAt: e.CHAOS_CRASH_AT,
    redisUrl: e.REDIS_URL,
    adminApiToken: e.ADMIN_API_TOKEN,
    wholesaler: {
      url: isSandbox ? "sandbox" : (e.VEXA_INFRA_API_URL ?? DEFAULT_WHOLESALER_URL),
      apiKey: e.VEXA_INFRA_API_KEY,
      isSandbox,
      sandboxRequested,
      serviceLayerId: e.SERVICE_LAYER_ID,
      timeoutMs: Number(e.UPSTREAM_TIMEOUT_MS),
    },
    webhookSecrets: parseList(e.WHOLESALER_WEBHOOK_SECRET),
    publicUrl: e.RETAILER_PUBLIC_URL?.replace(/\/+$/, ""),
    allowPrivateWebhooks: e.ALLOW_PRIVATE_WEBHOOKS === "true",
    reconcileIntervalSeconds: Number(e.RECONCILE_INTERVAL_SECONDS),
    reconcileAfterStopSeconds: Number(e.RECONCILE_AFTER_STOP_SECONDS),
    transcriptCacheTtlMs: Number(e.TRANSCRIPT_CACHE_TTL_MS),
    caches: {
      viewMaxEntries: Number(e.VIEW_CACHE_MAX_ENTRIES),
      viewTtlMs: Number(e.VIEW_CACHE_TTL_MS),
      liveMaxEntries: Number(e.LIVE_CACHE_MAX_ENTRIES),
      finalMaxSegments: Number(e.FINAL_CACHE_MAX_SEGMENTS),
    },
    livePush: {
      intervalMs: Number(e.LIVE_PUSH_INTERVAL_MS),
      maxBufferedBytes: Number(e.LIVE_PUSH_MAX_BUFFERED_BYTES),
      upstreamWs: e.LIVE_PUSH_UPSTREAM_WS === "true",
    },
    rateLimit: { perSecond: Number(e.RATE_LIMIT_PER_SECOND), burst: Number(e.RATE_LIMIT_BURST) },
    authFailureLimit: {
      perSecond: Number(e.AUTH_FAILURES_PER_MINUTE) / 60,
      burst: Number(e.AUTH_FAILURE_BURST),
    },
    trustProxy: proxies.length > 0 ? proxies : false,
    shutdownTimeoutMs: Number(e.SHUTDOWN_TIMEOUT_MS),
    corsOrigins: (e.CORS_ORIGINS ?? "")
      .split(",")
      .map((s) => s.trim().replace(/\/$/, ""))
      .filter(Boolean),
    http: {
      bodyLimitBytes: Number(e.BODY_LIMIT_BYTES),
      headersTimeoutMs: Number(e.HEADERS_TIMEOUT_MS),
      requestTimeoutMs: Number(e.REQUEST_TIMEOUT_MS),
      socketIdleTimeoutMs: Number(e.SOCKET_IDLE_TIMEOUT_MS),
      maxConnections: Number(e.MAX_CONNECTIONS),
      bodyDrain: { maxBytes: Number(e.BODY_DRAIN_MAX_BYTES), timeoutMs: Number(e.BODY_DRAIN_TIMEOUT_MS) },
      overload: {
        maxEventLoopDelayMs: Number(e.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS),
        maxHeapPercent: Number(e.OVERLOAD_MAX_HEAP_PERCENT),
        maxRssMb: Number(e.OVERLOAD_MAX_RSS_MB),
        retryAfterSeconds: Number(e.OVERLOAD_RETRY_AFTER_SECONDS),
      },
    },
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
  };
}

function readEnv(): Record<string, string | undefined> {
  // `.env` fills only what the real environment leaves unset.
  if (existsSync(".env")) process.loadEnvFile(".env");
  return process.env;
}
