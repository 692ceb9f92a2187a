/**
 * The one error type the wholesaler client throws, and the one table that maps an upstream answer to it.
 *
 * kinds:
 * - `unavailable`: the wholesaler cannot serve us right now (network error, timeout, 5xx, a 429 that is not a
 *   bot limit, circuit open, an invalid payload, or our own service key rejected: `authFailure`). Never the
 *   user's fault: callers answer 503 with Retry-After.
 * - `conflict`: 409.
 * - `not_found`: 404.
 * - `limit`: the wholesaler account is out of bot capacity (baseline 403 "maximum concurrent bot limit",
 *   newer Vexa 429 on POST /bots).
 * - `unsupported`: the wholesaler has no such route (the framework's own 404 `{"detail":"Not Found"}` or 405),
 *   as current Vexa answers `PUT /bots/.../config`; Vexa's own not-found answers name what is missing.
 * - `rejected`: any other 4xx; `status` and `detail` are kept.
 *
 * `scopeFailure`: current Vexa's 403 "Insufficient scope for this endpoint": our key is valid but may not use
 * this route. An operator problem (never the user's), reported as `unavailable` but not counted by the breaker.
 */
export type UpstreamErrorKind =
  | "unavailable"
  | "conflict"
  | "not_found"
  | "limit"
  | "unsupported"
  | "rejected";

export interface UpstreamErrorInit {
  kind: UpstreamErrorKind;
  route: string;
  message?: string;
  status?: number;
  detail?: unknown;
  retryAfterSeconds?: number;
  /** Defaults to true only for transient `unavailable` errors (not auth failures, not an open circuit). */
  retryable?: boolean;
  authFailure?: boolean;
  scopeFailure?: boolean;
  breakerOpen?: boolean;
  cause?: unknown;
}

export class UpstreamError extends Error {
  override readonly name = "UpstreamError";
  readonly kind: UpstreamErrorKind;
  readonly route: string;
  readonly status?: number;
  readonly detail?: unknown;
  readonly retryAfterSeconds?: number;
  readonly retryable: boolean;
  /** The wholesaler rejected our service key (401/403): an operator problem, reported by /ready. */
  readonly authFailure?: boolean;
  /** Our key is valid but lacks the scope for this route (current Vexa's scoped keys). */
  readonly scopeFailure?: boolean;
  /** Failed fast by the circuit breaker; no network call was made. */
  readonly breakerOpen?: boolean;

  constructor(init: UpstreamErrorInit) {
    const message = init.message ?? defaultMessage(init);
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.route = init.route;
    if (init.status !== undefined) this.status = init.status;
    if (init.detail !== undefined) this.detail = init.detail;
    if (init.retryAfterSeconds !== undefined) this.retryAfterSeconds = init.retryAfterSeconds;
    if (init.authFailure) this.authFailure = true;
    if (init.scopeFailure) this.scopeFailure = true;
    if (init.breakerOpen) this.breakerOpen = true;
    this.retryable =
      init.retryable ??
      (init.kind === "unavailable" && !init.authFailure && !init.scopeFailure && !init.breakerOpen);
  }
}

export const isUpstreamError = (e: unknown): e is UpstreamError => e instanceof UpstreamError;

function defaultMessage(init: UpstreamErrorInit): string {
  const status = init.status === undefined ? "" : ` ${init.status}`;
  const detail = typeof init.detail === "string" ? `: ${truncate(init.detail, 300)}` : "";
  return `upstream ${init.route}${status} ${init.kind}${detail}`;
}

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);

const LIMIT_RE = /maximum concurrent bot limit/i;
/** Our service key was refused: "Invalid API token", "Missing API token (X-API-Key header)", "Invalid API Key", "Not authenticated". */
const AUTH_RE =
  /\bapi[ _-]?(token|key)\b|\bnot authenticated\b|\bunauthori[sz]ed\b|\binvalid (token|credentials)\b/i;
const SCOPE_RE = /insufficient scope/i;
/** Starlette's answers for a path or method it has no route for (FastAPI keeps them as `detail`). */
const NO_ROUTE: Record<number, string> = { 404: "Not Found", 405: "Method Not Allowed" };

/** The human text of a FastAPI-style body: `detail` when it is a string, `detail.message` for the object form. */
export function detailText(detail: unknown): string {
  if (typeof detail === "string") return detail;
  if (detail && typeof detail === "object") {
    const m = (detail as { message?: unknown }).message;
    if (typeof m === "string") return m;
  }
  return "";
}

/** Parses Retry-After (delta seconds or an HTTP date) into whole seconds from `nowMs`; undefined if absent/invalid. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const t = v.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const at = Date.parse(t);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}

export interface ResponseFacts {
  route: string;
  method: string;
  status: number;
  /** The parsed `detail` of the body when it had one, else the body itself (parsed JSON or text). */
  detail: unknown;
  retryAfterSeconds?: number;
}

/** The mapping table from a non-2xx upstream answer to an UpstreamError. */
export function errorFromResponse(r: ResponseFacts): UpstreamError {
  const { route, status, detail } = r;
  const text = detailText(detail);
  const base = {
    route,
    status,
    detail,
    ...(r.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: r.retryAfterSeconds }),
  };
  const isPostBots = r.method.toUpperCase() === "POST" && route === "POST /bots";

  if (LIMIT_RE.test(text) && (status === 403 || status === 429))
    return new UpstreamError({ kind: "limit", ...base });
  if (status === 429 && isPostBots) return new UpstreamError({ kind: "limit", ...base });
  if (status === 403 && SCOPE_RE.test(text)) {
    return new UpstreamError({
      kind: "unavailable",
      ...base,
      scopeFailure: true,
      message: `upstream ${route} 403: the wholesaler key lacks the scope for this route`,
    });
  }
  if (status === 401 || (status === 403 && AUTH_RE.test(text))) {
    return new UpstreamError({
      kind: "unavailable",
      ...base,
      authFailure: true,
      message: `upstream ${route} ${status}: the wholesaler rejected the service key`,
    });
  }
  if (status === 409) return new UpstreamError({ kind: "conflict", ...base });
  if (NO_ROUTE[status] !== undefined && detail === NO_ROUTE[status]) {
    return new UpstreamError({
      kind: "unsupported",
      ...base,
      message: `upstream ${route} ${status}: the wholesaler does not support this route`,
    });
  }
  if (status === 404) return new UpstreamError({ kind: "not_found", ...base });
  if (status === 429 || status >= 500) return new UpstreamError({ kind: "unavailable", ...base });
  if (status >= 400) return new UpstreamError({ kind: "rejected", ...base });
  // 1xx/3xx are not answers the client asked for: treat as an unusable upstream.
  return new UpstreamError({
    kind: "unavailable",
    ...base,
    message: `upstream ${route}: unexpected status ${status}`,
  });
}

/** A transport failure (connection refused/reset, DNS, timeout). `cause` is reduced to name/code/message. */
export function errorFromNetwork(route: string, cause: unknown, timedOut: boolean): UpstreamError {
  const c = cause as { name?: unknown; code?: unknown; message?: unknown } | undefined;
  const plain = {
    name: typeof c?.name === "string" ? c.name : "Error",
    ...(typeof c?.code === "string" ? { code: c.code } : {}),
    message: typeof c?.message === "string" ? c.message : String(cause),
  };
  const what = timedOut ? "timed out" : `network error (${plain.code ?? plain.message})`;
  return new UpstreamError({
    kind: "unavailable",
    route,
    message: `upstream ${route}: ${what}`,
    cause: plain,
  });
}
