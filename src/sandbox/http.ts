import { timingSafeEqual } from "node:crypto";
import { STATUS_CODES } from "node:http";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { SandboxHttpError } from "./errors.js";
import type { Faults, RouteFault } from "./faults.js";
import { ROUTE_KEYS } from "./faults.js";

/** The Fastify app shell: Vexa-style JSON parsing and errors, per-route call counters and fault injection. */

export type AuthStyle = "bots" | "collector" | "admin";

const AUTH_MESSAGES: Record<AuthStyle, { missing: [number, string]; invalid: [number, string] }> = {
  bots: { missing: [403, "Missing API token (X-API-Key header)"], invalid: [403, "Invalid API token"] },
  collector: { missing: [403, "Missing API token"], invalid: [403, "Invalid API token"] },
  admin: { missing: [401, "Missing API Key"], invalid: [403, "Invalid API Key"] },
};

/** Baseline §2.1: each downstream service words its auth errors differently. */
export function requireKey(request: FastifyRequest, apiKey: string, style: AuthStyle): void {
  const header = request.headers["x-api-key"];
  const given = Array.isArray(header) ? header[0] : header;
  const { missing, invalid } = AUTH_MESSAGES[style];
  if (!given) throw new SandboxHttpError(missing[0], missing[1]);
  const a = Buffer.from(given);
  const b = Buffer.from(apiKey);
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw new SandboxHttpError(invalid[0], invalid[1]);
}

/** "DELETE /bots/{platform}/{native_meeting_id}" for the route a request matched, or undefined. */
export function routeKeyOf(request: FastifyRequest): string | undefined {
  const url = request.routeOptions.url;
  if (!url) return undefined;
  return `${request.method} ${url.replace(/:([A-Za-z_]+)/g, "{$1}")}`;
}

export interface ShellDeps {
  faults: Faults;
  counters: Map<string, number>;
  /** Wall-clock sleep that close() can cut short. */
  sleep: (ms: number) => Promise<void>;
  /** The sandbox's clock as it prints times (skew included), for the `Date` header. */
  now: () => number;
}

export function createShell(deps: ShellDeps): FastifyInstance {
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 10 * 1024 * 1024 });
  app.removeAllContentTypeParsers();
  // Vexa's FastAPI services read the body as JSON whatever the Content-Type says.
  app.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === "") return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(jsonDecodeError(text, err), undefined);
    }
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, _request, reply) => {
    if (err instanceof SandboxHttpError)
      return reply.code(err.status).headers(err.headers).send({ detail: err.detail });
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    return reply.code(status).send({ detail: status === 500 ? "Internal Server Error" : err.message });
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ detail: "Not Found" }));
  // The Date header tells clients the wholesaler's time: it follows the simulated (and skewed) clock.
  app.addHook("onSend", async (_request, reply) => {
    reply.header("date", new Date(deps.now()).toUTCString());
  });
  const known = new Set<string>(ROUTE_KEYS);
  app.addHook("onRequest", async (request, reply) => {
    const key = routeKeyOf(request);
    if (!key || !known.has(key)) return;
    deps.counters.set(key, (deps.counters.get(key) ?? 0) + 1);
    const fault = deps.faults.take(key);
    if (fault) return applyFault(fault, request, reply, deps.sleep);
  });
  return app;
}

async function applyFault(
  fault: RouteFault,
  request: FastifyRequest,
  reply: FastifyReply,
  sleep: ShellDeps["sleep"],
) {
  if (fault.latencyMs && fault.latencyMs > 0) await sleep(fault.latencyMs);
  if (fault.outage) {
    // A network failure, not an HTTP answer: the client's socket is closed with nothing written.
    reply.hijack();
    reply.raw.destroy();
    const socket = request.raw.socket as { destroy?: () => void } | undefined;
    if (typeof socket?.destroy === "function") socket.destroy(); // inject()'s fake socket has none
    return reply;
  }
  if (fault.errorStatus) {
    const s = fault.errorStatus;
    if (fault.retryAfter !== undefined) reply.header("retry-after", String(fault.retryAfter));
    const fallback =
      s === 503 ? "Service unavailable: All connection attempts failed" : (STATUS_CODES[s] ?? "Error");
    return reply.code(s).send({ detail: fault.detail ?? fallback });
  }
  return undefined;
}

/** FastAPI's 422 for a body that is not JSON, with Python's wording as far as V8's error tells us where. */
function jsonDecodeError(doc: string, err: unknown): SandboxHttpError {
  const m = /position (\d+)/.exec(String(err));
  // V8 names a position for a bad token; "Unexpected end of JSON input" means the end.
  const pos = m ? Number(m[1]) : doc.length;
  const before = doc.slice(0, pos);
  const lineno = before.split("\n").length;
  const colno = pos - before.lastIndexOf("\n");
  return new SandboxHttpError(422, [
    {
      loc: ["body", pos],
      msg: `Expecting value: line ${lineno} column ${colno} (char ${pos})`,
      type: "value_error.jsondecode",
      ctx: { msg: "Expecting value", doc, pos, lineno, colno },
    },
  ]);
}
