import { createHash } from "node:crypto";
import { Type } from "@sinclair/typebox";
import type { FastifyRequest, FastifySchema } from "fastify";
import { authFailureKey, type RateLimiter } from "../cache/rate-limiter.js";
import { AppError } from "../errors.js";
import { presentedUserKey } from "./api-key.js";
import type { App } from "./app.js";

/** Buckets are keyed by a digest of the API key (never the key itself), distinct from the stored token hash. */
export function bucketKey(apiKey: string): string {
  return createHash("sha256").update(`rate-limit:${apiKey}`).digest("hex").slice(0, 32);
}

type Scheme = "ApiKeyAuth" | "AdminApiKeyAuth";
const SCHEMES: Scheme[] = ["ApiKeyAuth", "AdminApiKeyAuth"];

/** The key a request presents for its route's scheme (user keys also as Bearer, see api-key.ts). */
function presentedKey(request: FastifyRequest, scheme: Scheme): string | undefined {
  return scheme === "ApiKeyAuth" ? presentedUserKey(request) : headerValue(request, "x-admin-api-key");
}

/** The key scheme a route documents (user or admin), if any; health, metrics, docs and webhooks have none. */
function schemeOf(schema: FastifySchema | undefined): Scheme | undefined {
  // safe because `security` is the OpenAPI field our route schemas carry for @fastify/swagger
  const security = (schema as { security?: Record<string, unknown>[] } | undefined)?.security;
  if (!Array.isArray(security)) return undefined;
  return SCHEMES.find((s) => security.some((entry) => s in entry));
}

/** Routes documented with the user key scheme are limited per key; admin routes are not. */
const usesApiKey = (schema: FastifySchema | undefined) => schemeOf(schema) === "ApiKeyAuth";

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers[name];
  return Array.isArray(header) ? header[0] : header;
}

const tooMany = (what: string, retryAfterSeconds: number) =>
  new AppError("RATE_LIMITED", `${what} Retry after ${retryAfterSeconds} seconds.`, { retryAfterSeconds });

/** Adds the 429 answer to the documented responses of the routes `applies` picks. */
function document429(app: App, applies: (schema: FastifySchema | undefined) => boolean): void {
  app.addHook("onRoute", (route) => {
    if (!applies(route.schema)) return;
    const response = (route.schema?.response ?? {}) as Record<string, unknown>;
    route.schema = { ...route.schema, response: { ...response, 429: Type.Ref("ErrorBody") } };
  });
}

/**
 * The per-key limit as an app hook: checked on arrival, before the key is even looked up, so a flood costs no
 * database work. A 429 carries `Retry-After` and Vexa's `{"detail": ...}` body.
 */
export function rateLimitHook(limiter: RateLimiter, onLimited?: (app: string) => void) {
  return (app: App, kind: string): void => {
    document429(app, usesApiKey);
    app.addHook("onRequest", async (request) => {
      if (!usesApiKey(request.routeOptions.schema)) return;
      const key = presentedUserKey(request);
      if (!key) return;
      const result = await limiter.take(bucketKey(key));
      if (result.allowed) return;
      onLimited?.(kind);
      if (refuseInBand(request, "Rate limit exceeded.", result.retryAfterSeconds)) return;
      throw tooMany("Rate limit exceeded.", result.retryAfterSeconds);
    });
  };
}

declare module "fastify" {
  interface FastifyRequest {
    /** Set by the failed-authentication throttle; auth.ts calls it when a presented key is wrong. */
    authFailed?: () => Promise<void>;
    /** A WebSocket upgrade refused by a limit: /ws answers it in-band (an HTTP answer to an upgrade never arrives). */
    refused?: { detail: string; retryAfterSeconds: number };
  }
}

function refuseInBand(request: FastifyRequest, detail: string, retryAfterSeconds: number): boolean {
  if (request.headers.upgrade?.toLowerCase() !== "websocket") return false;
  request.refused = { detail: `${detail} Retry after ${retryAfterSeconds} seconds.`, retryAfterSeconds };
  return true;
}

/**
 * Guessing keys is throttled per client address: every wrong user or admin key presented takes a token from the
 * address's bucket, and while it is empty every request from there that presents a key gets 429 before the key is
 * looked at (so a correct guess cannot be told apart either). Missing keys reveal nothing and are not counted.
 */
export function authFailureHook(limiter: RateLimiter, onLimited?: (app: string) => void) {
  return (app: App, kind: string): void => {
    document429(app, (schema) => schemeOf(schema) !== undefined);
    app.addHook("onRequest", async (request) => {
      const scheme = schemeOf(request.routeOptions.schema);
      if (!scheme || !presentedKey(request, scheme)) return;
      // request.ip honours X-Forwarded-For only from TRUSTED_PROXIES (Fastify's trustProxy).
      const key = authFailureKey(request.ip);
      const result = await limiter.take(key, 0);
      if (!result.allowed) {
        onLimited?.(kind);
        const what = "Too many failed authentication attempts.";
        if (refuseInBand(request, what, result.retryAfterSeconds)) return;
        throw tooMany(what, result.retryAfterSeconds);
      }
      request.authFailed = async () => {
        await limiter.take(key, 1);
      };
    });
  };
}
