import { createHmac, randomBytes } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { AppError } from "../errors.js";
import type { Ctx } from "../services/context.js";
import { checkConsoleSession, type SessionPolicy } from "../services/console-sessions.js";
import { secretsEqual } from "../services/users.js";

export const SESSION_COOKIE = "vexa_console";
export const SIGN_IN_COOKIE = "vexa_console_sign_in";
export const POLICY: SessionPolicy = { idleMs: 30 * 60_000, absoluteMs: 8 * 3600_000 };

declare module "fastify" {
  interface FastifyRequest {
    consoleSession?: { id: string; csrf: string };
  }
}

export function readCookies(request: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (request.headers.cookie ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

/** HttpOnly and SameSite=Strict always; Secure whenever the browser reached us over HTTPS. */
export function setCookie(
  reply: FastifyReply,
  name: string,
  value: string,
  maxAgeSeconds: number,
  secure: boolean,
): void {
  const attrs = [
    `${name}=${value}`,
    "Path=/console",
    "HttpOnly",
    "SameSite=Strict",
    `Max-Age=${maxAgeSeconds}`,
  ];
  if (secure) attrs.push("Secure");
  // Fastify appends to set-cookie rather than replacing it.
  reply.header("set-cookie", attrs.join("; "));
}

export const isHttps = (request: FastifyRequest) => request.protocol === "https";

/** The CSRF token is derived from the session id, so it needs no storage and dies with the session. */
export const csrfFor = (sessionId: string) =>
  createHmac("sha256", sessionId).update("console-csrf").digest("base64url");

export const newSignInNonce = () => randomBytes(24).toString("base64url");

function sameHost(origin: string, host: string | undefined): boolean {
  try {
    const o = new URL(origin);
    // Parsed with the origin's scheme, so a default port written in one and not the other still matches.
    return o.host === new URL(`${o.protocol}//${host ?? ""}`).host;
  } catch {
    return false;
  }
}

/** A change must come from our own pages: same origin (when the browser says), and the right token. */
export function checkChange(request: FastifyRequest, expected: string, given: unknown): void {
  const site = request.headers["sec-fetch-site"];
  const origin = request.headers.origin;
  const host = request.headers.host;
  const foreignOrigin = origin !== undefined && origin !== "null" && !sameHost(origin, host);
  if (site === "cross-site" || foreignOrigin || origin === "null")
    throw new AppError("FORBIDDEN", "Cross-site request refused.");
  if (typeof given !== "string" || given.length === 0 || !secretsEqual(given, expected))
    throw new AppError("FORBIDDEN", "The form has expired: reload the page and try again.");
}

export function requireSession(ctx: Ctx, adminToken: string | undefined) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const id = readCookies(request)[SESSION_COOKIE];
    if (!adminToken || !id || !(await checkConsoleSession(ctx, id, adminToken, POLICY))) {
      const back = `/console/sign-in?next=${encodeURIComponent(request.url)}`;
      if (request.headers["hx-request"]) return reply.code(401).header("hx-redirect", back).send("");
      if (request.method === "GET") return reply.code(303).header("location", back).send("");
      throw new AppError("UNAUTHORIZED", "Your session has ended: sign in again.");
    }
    const csrf = csrfFor(id);
    request.consoleSession = { id, csrf };
    if (request.method !== "GET" && request.method !== "HEAD") {
      const body = request.body as Record<string, unknown> | undefined;
      checkChange(request, csrf, request.headers["x-csrf-token"] ?? body?._csrf);
    }
  };
}

/** Where to go after signing in: only a path inside the console, never another site. */
export function safeNext(next: unknown): string {
  return typeof next === "string" && /^\/console(?:[/?][^\\]*)?$/.test(next) && !next.startsWith("//")
    ? next
    : "/console/";
}
