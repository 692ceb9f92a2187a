import { performance } from "node:perf_hooks";
import { Agent, request as undiciRequest } from "undici";
import type { Clock } from "../clock.js";
import { systemClock } from "../clock.js";
import { type BreakerState, CircuitBreaker, classifyOutcome, type StateListener } from "./breaker.js";
import { type ClockOffset, ClockOffsetEstimator } from "./clock-offset.js";
import { readBody } from "./read-body.js";
import {
  errorFromNetwork,
  errorFromResponse,
  isUpstreamError,
  parseRetryAfter,
  UpstreamError,
} from "./errors.js";
import { type RetryOptions, retry } from "./retry.js";
import {
  type UpstreamBotStatusResponse,
  type UpstreamIdentity,
  type UpstreamMeeting,
  type UpstreamMessage,
  type UpstreamStopResponse,
  type UpstreamTranscript,
  type Validator,
  validators,
} from "./schemas.js";

/** One network attempt (or one fast-fail by the breaker), for metrics. */
export interface UpstreamCallEvent {
  /** Route label with placeholders, e.g. "GET /transcripts/{platform}/{native_meeting_id}". */
  route: string;
  method: string;
  outcome: "ok" | "error" | "breaker_open";
  status?: number;
  durationMs: number;
}

export interface UpstreamLogger {
  warn(o: object, msg: string): void;
  error(o: object, msg: string): void;
}

export interface WholesalerClientOptions {
  baseUrl: string;
  apiKey: string;
  serviceLayerId: string;
  /** Per-attempt timeout (default 1500 ms): a hanging upstream yields `unavailable` within it. */
  timeoutMs?: number;
  clock?: Clock;
  /**
   * The time our own records use (attached_at, detached_at), against which the wholesaler's clock offset is
   * measured; defaults to `clock`. Differs from `clock` when tests simulate meeting time.
   */
  wallClock?: Clock;
  breaker?: { threshold?: number; openMs?: number };
  /**
   * The retry policy for safe/idempotent calls. `deadlineMs` bounds a whole call including retries
   * (default timeoutMs + 400, i.e. 1900 ms, so user-facing calls fail within 2 s).
   */
  retry?: Omit<RetryOptions, "clock" | "onRetry">;
  /** Max keep-alive connections to the wholesaler (default 256). */
  connections?: number;
  onCall?: (e: UpstreamCallEvent) => void;
  logger?: UpstreamLogger;
}

/** Per-call overrides, e.g. a longer timeout for the finalizer pulling a large transcript. */
export interface CallOptions {
  timeoutMs?: number;
  deadlineMs?: number;
  signal?: AbortSignal;
}

export interface RequestBotInput {
  platform: string;
  native_meeting_id: string;
  bot_name?: string;
  language?: string;
  task?: string;
  /** Current Vexa's optional fields (meeting_url, passcode, …), sent as they are. */
  options?: Record<string, unknown>;
}

export interface BotConfigInput {
  language?: string | null;
  task?: string | null;
}

export interface RawTranscript {
  transcript: UpstreamTranscript;
  /**
   * The exact body the wholesaler sent, as bytes: the next poll compares its body with these (memcmp) and, when
   * equal, reuses `transcript` without decoding, parsing or validating the body again.
   */
  raw: Buffer;
}

export interface WholesalerClient {
  /** POST /bots. Never retried (not idempotent). */
  requestBot(input: RequestBotInput, opts?: CallOptions): Promise<UpstreamMeeting>;
  /** DELETE /bots/{platform}/{native_meeting_id}: baseline 202 `{message}`, current Vexa 200 `{status:"stopping",...}`. */
  stopBot(platform: string, nativeMeetingId: string, opts?: CallOptions): Promise<UpstreamStopResponse>;
  /** PUT /bots/{platform}/{native_meeting_id}/config; current Vexa has no such route (`unsupported`). */
  updateBotConfig(
    platform: string,
    nativeMeetingId: string,
    config: BotConfigInput,
    opts?: CallOptions,
  ): Promise<UpstreamMessage>;
  /** GET /bots/status. */
  getBotsStatus(opts?: CallOptions): Promise<UpstreamBotStatusResponse>;
  /** GET /meetings (the `meetings` array). */
  listMeetings(opts?: CallOptions): Promise<UpstreamMeeting[]>;
  /** GET /transcripts/{platform}/{native_meeting_id}. */
  getTranscript(platform: string, nativeMeetingId: string, opts?: CallOptions): Promise<UpstreamTranscript>;
  /**
   * Same call, also returning the exact body text. With `known` (an earlier answer), an identical body is
   * answered with that very object, without parsing or validating it again.
   */
  getTranscriptRaw(
    platform: string,
    nativeMeetingId: string,
    opts?: CallOptions & { known?: RawTranscript },
  ): Promise<RawTranscript>;
  /** DELETE /meetings/{platform}/{native_meeting_id}; a 404 counts as already deleted. */
  deleteMeeting(platform: string, nativeMeetingId: string, opts?: CallOptions): Promise<void>;
  /** Current Vexa's GET /auth/me (our key's user and scopes); a baseline wholesaler answers `unsupported`. */
  getIdentity(opts?: CallOptions): Promise<UpstreamIdentity>;
  /** PUT /user/webhook with `{webhook_url, webhook_secret?}`; answers the wholesaler's user object. */
  setUserWebhook(url: string, secret?: string, opts?: CallOptions): Promise<unknown>;
  breakerState(): BreakerState;
  onBreakerStateChange(listener: StateListener): () => void;
  /**
   * True from a 401/403 that rejected our service key until the wholesaler next accepts it (any 2xx, or a
   * 4xx that is not an auth failure). For /ready and operator alerts.
   */
  authFailing(): boolean;
  /**
   * Wholesaler time − our time (ms), from every response's `Date` header (1 s resolution, narrowed by
   * combining responses) and from a new meeting's `created_at` (as tight as the POST /bots round trip);
   * 0 before the first response.
   */
  clockOffsetMs(): number;
  /** The same estimate with its uncertainty, sample count and tightest source. */
  clockOffset(): ClockOffset;
  close(): Promise<void>;
}

interface CallSpec<T> {
  method: "GET" | "POST" | "PUT" | "DELETE";
  route: string;
  path: string;
  body?: unknown;
  idempotent: boolean;
  /** Undefined: the body is not inspected (the caller discards it). */
  validator?: Validator<T>;
  /** A body already parsed and validated: the same bytes again are answered with its value, unparsed. */
  known?: { raw: Buffer; value: T };
}

const REDACTED = "[redacted]";
const MAX_DETAIL_TEXT = 2000;

export function createWholesalerClient(opts: WholesalerClientOptions): WholesalerClient {
  const base = new URL(opts.baseUrl);
  const origin = base.origin;
  const prefix = base.pathname.replace(/\/+$/, "");
  const apiKey = opts.apiKey;
  const timeoutMs = opts.timeoutMs ?? 1500;
  const clock = opts.clock ?? systemClock;
  const wallClock = opts.wallClock ?? clock;
  const offset = new ClockOffsetEstimator();
  const logger = opts.logger;
  const retryDefaults = opts.retry ?? {};
  const defaultDeadlineMs = retryDefaults.deadlineMs ?? timeoutMs + 400;
  const headers: Record<string, string> = {
    accept: "application/json",
    "x-api-key": apiKey,
    "x-service-layer-id": opts.serviceLayerId,
    "user-agent": "vexa-retailer",
  };
  const dispatcher = new Agent({
    keepAliveTimeout: 10_000,
    keepAliveMaxTimeout: 60_000,
    connections: opts.connections ?? 256,
    pipelining: 1,
  });
  const breaker = new CircuitBreaker({ ...opts.breaker, clock });
  let authFailingNow = false;
  const scopeWarned = new Set<string>();
  /** Errors caused by the caller's own AbortSignal: not the upstream's fault, so the breaker ignores them. */
  const callerAborted = new WeakSet<object>();

  breaker.onStateChange((to, from) => {
    logger?.warn({ upstream: origin, from, to }, `wholesaler circuit breaker ${from} -> ${to}`);
  });

  const redact = (v: unknown): unknown => {
    if (!apiKey) return v;
    if (typeof v === "string") return v.includes(apiKey) ? v.split(apiKey).join(REDACTED) : v;
    if (Array.isArray(v)) return v.map(redact);
    if (v && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[redact(k) as string] = redact(x);
      return out;
    }
    return v;
  };

  const emit = (e: UpstreamCallEvent) => {
    try {
      opts.onCall?.(e);
    } catch {
      // metrics must never break a call
    }
  };

  const noteAuth = (failing: boolean, route: string, status?: number) => {
    if (failing && !authFailingNow) {
      logger?.error(
        { upstream: origin, route, status },
        "the wholesaler rejected the service key (VEXA_INFRA_API_KEY)",
      );
    }
    authFailingNow = failing;
  };

  /** One network attempt: send, read the whole body, map failures, validate. */
  async function once<T>(
    spec: CallSpec<T>,
    attemptTimeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ value: T; raw: Buffer; sentMs: number; receivedMs: number }> {
    const started = performance.now();
    const sentMs = wallClock.now();
    let receivedMs = sentMs;
    const timeoutSignal = AbortSignal.timeout(attemptTimeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeoutSignal]) : timeoutSignal;
    const reqHeaders = spec.body === undefined ? headers : { ...headers, "content-type": "application/json" };
    let status: number | undefined;
    let raw: Buffer;
    let retryAfter: string | string[] | undefined;
    try {
      const res = await undiciRequest(origin + spec.path, {
        method: spec.method,
        headers: reqHeaders,
        body: spec.body === undefined ? null : JSON.stringify(spec.body),
        dispatcher,
        signal: combined,
        headersTimeout: attemptTimeoutMs,
        bodyTimeout: attemptTimeoutMs,
      });
      receivedMs = wallClock.now();
      status = res.statusCode;
      retryAfter = res.headers["retry-after"];
      const date = res.headers.date;
      offset.observeDate(Array.isArray(date) ? date[0] : date, sentMs, receivedMs);
      // Bytes, not text: an unchanged body (the usual live poll) is then compared, never decoded (a 60 KB
      // transcript decoded per poll was most of the retailer's young-generation garbage), nor copied.
      raw = await readBody(res.body, spec.known?.raw);
    } catch (cause) {
      const durationMs = performance.now() - started;
      emit({
        route: spec.route,
        method: spec.method,
        outcome: "error",
        ...(status === undefined ? {} : { status }),
        durationMs,
      });
      if (signal?.aborted) {
        const err = new UpstreamError({
          kind: "unavailable",
          route: spec.route,
          message: `upstream ${spec.route}: aborted by caller`,
          retryable: false,
        });
        callerAborted.add(err);
        throw err;
      }
      const code = (cause as { code?: unknown } | null)?.code;
      const timedOut =
        timeoutSignal.aborted || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT";
      throw errorFromNetwork(spec.route, sanitizeCause(cause), timedOut);
    }
    const durationMs = performance.now() - started;

    if (status < 200 || status >= 300) {
      emit({ route: spec.route, method: spec.method, outcome: "error", status, durationMs });
      const err = errorFromResponse({
        route: spec.route,
        method: spec.method,
        status,
        detail: redact(detailOf(raw.toString())),
        ...retryAfterField(parseRetryAfter(retryAfter, clock.now())),
      });
      // A 5xx/429 may come from a proxy in front of the wholesaler's auth, so it says nothing about the key.
      if (err.scopeFailure && !scopeWarned.has(spec.route)) {
        scopeWarned.add(spec.route);
        logger?.error(
          { upstream: origin, route: spec.route },
          "the wholesaler key lacks the scope for a route",
        );
      }
      if (err.authFailure) noteAuth(true, spec.route, status);
      else if (status < 500 && status !== 429) noteAuth(false, spec.route, status);
      throw err;
    }
    noteAuth(false, spec.route, status);

    if (!spec.validator) {
      emit({ route: spec.route, method: spec.method, outcome: "ok", status, durationMs });
      return { value: undefined as T, raw, sentMs, receivedMs };
    }
    // readBody answers the known bytes themselves exactly when they arrived again.
    if (spec.known && raw === spec.known.raw) {
      emit({ route: spec.route, method: spec.method, outcome: "ok", status, durationMs });
      return { value: spec.known.value, raw: spec.known.raw, sentMs, receivedMs };
    }
    let parsed: unknown;
    let parsedOk = true;
    try {
      parsed = JSON.parse(raw.toString());
    } catch {
      parsedOk = false;
    }
    if (!parsedOk || !spec.validator.check(parsed)) {
      emit({ route: spec.route, method: spec.method, outcome: "error", status, durationMs });
      const problems = redact(
        parsedOk ? spec.validator.errors(parsed) : [{ path: "", message: "body is not JSON" }],
      );
      logger?.warn({ upstream: origin, route: spec.route, status, problems }, "invalid upstream response");
      throw new UpstreamError({
        kind: "unavailable",
        route: spec.route,
        status,
        message: `upstream ${spec.route}: invalid upstream response`,
        detail: { problems },
        retryable: false,
      });
    }
    emit({ route: spec.route, method: spec.method, outcome: "ok", status, durationMs });
    return { value: parsed, raw, sentMs, receivedMs };
  }

  function sanitizeCause(cause: unknown): unknown {
    const c = cause as { name?: unknown; code?: unknown; message?: unknown } | null;
    return {
      name: typeof c?.name === "string" ? c.name : "Error",
      ...(typeof c?.code === "string" ? { code: c.code } : {}),
      message: redact(typeof c?.message === "string" ? c.message : String(cause)),
    };
  }

  /** One attempt under the breaker; a fast-fail is reported as `breaker_open` without touching the network. */
  async function guarded<T>(spec: CallSpec<T>, attemptTimeoutMs: number, signal?: AbortSignal) {
    try {
      return await breaker.run(
        spec.route,
        () => once(spec, attemptTimeoutMs, signal),
        (e) => (typeof e === "object" && e !== null && callerAborted.has(e) ? "ignore" : classifyOutcome(e)),
      );
    } catch (e) {
      if (isUpstreamError(e) && e.breakerOpen) {
        emit({ route: spec.route, method: spec.method, outcome: "breaker_open", durationMs: 0 });
        if (authFailingNow) {
          throw new UpstreamError({
            kind: "unavailable",
            route: e.route,
            message: e.message,
            detail: e.detail,
            breakerOpen: true,
            authFailure: true,
            ...retryAfterField(e.retryAfterSeconds),
          });
        }
      }
      throw e;
    }
  }

  /** The one private request(): per-attempt timeout, breaker, and (for idempotent calls) the retry policy. */
  async function call<T>(
    spec: CallSpec<T>,
    co: CallOptions = {},
  ): Promise<{ value: T; raw: Buffer; sentMs: number; receivedMs: number }> {
    const perAttempt = co.timeoutMs ?? timeoutMs;
    if (!spec.idempotent) return guarded(spec, perAttempt, co.signal);
    return retry(
      ({ remainingMs }) => guarded(spec, Math.max(1, Math.min(perAttempt, remainingMs)), co.signal),
      {
        ...retryDefaults,
        clock,
        deadlineMs: co.deadlineMs ?? (co.timeoutMs === undefined ? defaultDeadlineMs : co.timeoutMs + 400),
        onRetry: ({ attempt, delayMs, error }) => {
          const e = error as Partial<UpstreamError>;
          logger?.warn(
            {
              upstream: origin,
              route: spec.route,
              attempt,
              delayMs,
              kind: e.kind,
              status: e.status,
              err: e.message,
            },
            "retrying upstream call",
          );
        },
      },
    );
  }

  const seg = encodeURIComponent;
  const path = (p: string) => prefix + p;

  async function getTranscriptRaw(
    platform: string,
    nativeMeetingId: string,
    co?: CallOptions & { known?: RawTranscript },
  ): Promise<RawTranscript> {
    const known = co?.known;
    const r = await call(
      {
        method: "GET",
        route: "GET /transcripts/{platform}/{native_meeting_id}",
        path: path(`/transcripts/${seg(platform)}/${seg(nativeMeetingId)}`),
        idempotent: true,
        validator: validators.transcript,
        ...(known ? { known: { raw: known.raw, value: known.transcript } } : {}),
      },
      co,
    );
    if (known && r.raw === known.raw) return known;
    return { transcript: r.value, raw: r.raw };
  }

  return {
    async requestBot(input, co) {
      const body: Record<string, unknown> = {
        platform: input.platform,
        native_meeting_id: input.native_meeting_id,
        service_layer_id: opts.serviceLayerId,
      };
      if (input.bot_name !== undefined) body.bot_name = input.bot_name;
      if (input.language !== undefined) body.language = input.language;
      if (input.task !== undefined) body.task = input.task;
      if (input.options) Object.assign(body, input.options);
      const r = await call(
        {
          method: "POST",
          route: "POST /bots",
          path: path("/bots"),
          body,
          idempotent: false,
          validator: validators.meeting,
        },
        co,
      );
      // The wholesaler stamped the new meeting while handling this very request.
      offset.observeStamp(r.value.created_at, r.sentMs, r.receivedMs);
      return r.value;
    },

    async stopBot(platform, nativeMeetingId, co) {
      const r = await call(
        {
          method: "DELETE",
          route: "DELETE /bots/{platform}/{native_meeting_id}",
          path: path(`/bots/${seg(platform)}/${seg(nativeMeetingId)}`),
          idempotent: true,
          validator: validators.stop,
        },
        co,
      );
      return r.value;
    },

    async updateBotConfig(platform, nativeMeetingId, config, co) {
      const body: Record<string, unknown> = {};
      if (config.language !== undefined) body.language = config.language;
      if (config.task !== undefined) body.task = config.task;
      const r = await call(
        {
          method: "PUT",
          route: "PUT /bots/{platform}/{native_meeting_id}/config",
          path: path(`/bots/${seg(platform)}/${seg(nativeMeetingId)}/config`),
          body,
          idempotent: true,
          validator: validators.message,
        },
        co,
      );
      return r.value;
    },

    async getBotsStatus(co) {
      const r = await call(
        {
          method: "GET",
          route: "GET /bots/status",
          path: path("/bots/status"),
          idempotent: true,
          validator: validators.botStatus,
        },
        co,
      );
      return r.value;
    },

    async listMeetings(co) {
      const r = await call(
        {
          method: "GET",
          route: "GET /meetings",
          path: path("/meetings"),
          idempotent: true,
          validator: validators.meetingList,
        },
        co,
      );
      return r.value.meetings;
    },

    async getTranscript(platform, nativeMeetingId, co) {
      return (await getTranscriptRaw(platform, nativeMeetingId, co)).transcript;
    },

    getTranscriptRaw,

    async deleteMeeting(platform, nativeMeetingId, co) {
      try {
        await call(
          {
            method: "DELETE",
            route: "DELETE /meetings/{platform}/{native_meeting_id}",
            path: path(`/meetings/${seg(platform)}/${seg(nativeMeetingId)}`),
            idempotent: true,
          },
          co,
        );
      } catch (e) {
        if (isUpstreamError(e) && e.kind === "not_found") return;
        throw e;
      }
    },

    async getIdentity(co) {
      const r = await call(
        {
          method: "GET",
          route: "GET /auth/me",
          path: path("/auth/me"),
          idempotent: true,
          validator: validators.identity,
        },
        co,
      );
      return r.value;
    },

    async setUserWebhook(url, secret, co) {
      const body: Record<string, unknown> = { webhook_url: url };
      if (secret !== undefined) body.webhook_secret = secret;
      const r = await call(
        {
          method: "PUT",
          route: "PUT /user/webhook",
          path: path("/user/webhook"),
          body,
          idempotent: true,
          validator: validators.anyObject,
        },
        co,
      );
      return r.value;
    },

    breakerState: () => breaker.state(),
    onBreakerStateChange: (listener) => breaker.onStateChange(listener),
    authFailing: () => authFailingNow,
    clockOffsetMs: () => offset.estimate().offsetMs,
    clockOffset: () => offset.estimate(),
    close: () => dispatcher.close(),
  };
}

/** FastAPI bodies carry `detail`; anything else is kept as parsed JSON, or as (truncated) text. */
function detailOf(raw: string): unknown {
  if (raw === "") return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed) && "detail" in parsed) {
      return (parsed as { detail: unknown }).detail;
    }
    return parsed;
  } catch {
    return raw.length > MAX_DETAIL_TEXT ? `${raw.slice(0, MAX_DETAIL_TEXT)}…` : raw;
  }
}

const retryAfterField = (s: number | undefined) => (s === undefined ? {} : { retryAfterSeconds: s });
