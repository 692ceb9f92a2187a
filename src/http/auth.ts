import type { FastifyReply, FastifyRequest } from "fastify";
import { AppError, PLATFORMS, platformEnumError, validationError } from "../errors.js";
import type { Ctx } from "../services/context.js";
import { presentedUserKey } from "./api-key.js";
import { secretsEqual, type UserRow, verifyApiKey } from "../services/users.js";

declare module "fastify" {
  interface FastifyRequest {
    user?: UserRow;
  }
}

/** Vexa's per-service auth answers (baseline §2.1): clients match on these exact codes and strings. */
const STYLES = {
  bots: { missing: [403, "Missing API token (X-API-Key header)"], invalid: [403, "Invalid API token"] },
  collector: { missing: [403, "Missing API token"], invalid: [403, "Invalid API token"] },
  admin: { missing: [401, "Missing API Key"], invalid: [403, "Invalid API Key"] },
} as const;

export type AuthStyle = keyof typeof STYLES;

const fail = ([status, detail]: readonly [number, string]) =>
  new AppError(status === 401 ? "UNAUTHORIZED" : "FORBIDDEN", detail);

/**
 * preValidation hook for user routes. The path's platform is checked first, because Vexa's gateway
 * rejects a bad platform itself before any downstream service looks at the key.
 */
export function requireUser(ctx: Ctx, style: AuthStyle) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    checkPlatformParam(request);
    const token = presentedUserKey(request);
    if (!token) throw fail(STYLES[style].missing);
    const user = await verifyApiKey(ctx, token);
    if (!user) {
      await request.authFailed?.();
      throw fail(STYLES[style].invalid);
    }
    request.user = user;
  };
}

function checkPlatformParam(request: FastifyRequest): void {
  const params = request.params as Record<string, string> | undefined;
  const platform = params?.platform;
  if (platform !== undefined && !(PLATFORMS as readonly string[]).includes(platform)) {
    throw validationError([platformEnumError(["path", "platform"])]);
  }
}

export function requireAdmin(adminToken: string | undefined) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    if (!adminToken) {
      throw new AppError("INTERNAL", "Admin authentication is not configured on the server.");
    }
    const key = request.headers["x-admin-api-key"];
    const given = Array.isArray(key) ? key[0] : key;
    if (given && secretsEqual(given, adminToken)) return;
    if (given) await request.authFailed?.();
    throw new AppError("FORBIDDEN", "Invalid or missing admin token.");
  };
}

/** The authenticated user; routes behind requireUser always have one. */
export function principal(request: FastifyRequest): UserRow {
  if (!request.user) throw new AppError("INTERNAL", "Internal Server Error");
  return request.user;
}
