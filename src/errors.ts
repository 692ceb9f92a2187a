/** Closed set of error codes the services raise; the HTTP layer maps each to a status and Vexa's `{"detail"}` body. */
export type ErrorCode =
  | "BAD_REQUEST"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "VALIDATION"
  | "RATE_LIMITED"
  | "UPSTREAM_UNAVAILABLE"
  | "OVERLOADED"
  | "DATABASE_UNAVAILABLE"
  | "INTERNAL";

const STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  VALIDATION: 422,
  RATE_LIMITED: 429,
  UPSTREAM_UNAVAILABLE: 503,
  OVERLOADED: 503,
  DATABASE_UNAVAILABLE: 503,
  INTERNAL: 500,
};

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    /** Vexa's `detail`: usually a string, an object for a few baseline 500s, a list for validation. */
    readonly detail: unknown,
    readonly opts: { retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(typeof detail === "string" ? detail : code, { cause: opts.cause });
    this.status = STATUS[code];
  }
}

export const notFound = (detail: string) => new AppError("NOT_FOUND", detail);
export const conflict = (detail: string) => new AppError("CONFLICT", detail);
export const forbidden = (detail: string) => new AppError("FORBIDDEN", detail);
export const badRequest = (detail: string) => new AppError("BAD_REQUEST", detail);
export const upstreamUnavailable = (detail: string, retryAfterSeconds = 5, cause?: unknown) =>
  new AppError("UPSTREAM_UNAVAILABLE", detail, { retryAfterSeconds, cause });
/** The database cannot be reached or refuses writes: the client should retry, it did nothing wrong. */
export const databaseUnavailable = (reason: "unreachable" | "read_only", cause?: unknown) =>
  new AppError(
    "DATABASE_UNAVAILABLE",
    reason === "read_only"
      ? "The service is temporarily read-only; please retry shortly."
      : "The service's database is temporarily unavailable; please retry shortly.",
    { retryAfterSeconds: 5, cause },
  );

/** A pydantic-v1 style validation item, as FastAPI prints it. */
export interface ValidationItem {
  loc: (string | number)[];
  msg: string;
  type: string;
  ctx?: Record<string, unknown>;
}

export const validationError = (items: ValidationItem[]) => new AppError("VALIDATION", items);

export const PLATFORMS = ["google_meet", "zoom", "teams"] as const;
export type Platform = (typeof PLATFORMS)[number];

export function platformEnumError(loc: (string | number)[]): ValidationItem {
  return {
    loc,
    msg: `value is not a valid enumeration member; permitted: ${PLATFORMS.map((p) => `'${p}'`).join(", ")}`,
    type: "type_error.enum",
    ctx: { enum_values: [...PLATFORMS] },
  };
}
