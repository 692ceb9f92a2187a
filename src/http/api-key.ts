import type { FastifyRequest } from "fastify";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The route also takes the key as `?api_key=` (a browser's WebSocket or EventSource cannot set headers). */
    queryApiKey?: boolean;
  }
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The user API key a request presents: `X-API-Key`, else `Authorization: Bearer <key>` (current Vexa's clients,
 * its MCP server among them, send that), else — only on routes a browser cannot add headers to (`/ws`, the SSE
 * stream) — the `api_key` query parameter. Authentication, the per-key rate limit and the failed-authentication
 * throttle all read the key here, so a guess costs the same budget whichever way it is sent.
 */
export function presentedUserKey(request: FastifyRequest): string | undefined {
  const key = header(request, "x-api-key");
  if (key) return key;
  const auth = header(request, "authorization");
  if (auth) {
    const m = /^\s*bearer\s+(\S+)\s*$/i.exec(auth);
    if (m?.[1]) return m[1];
  }
  if (request.routeOptions.config?.queryApiKey) {
    const q = (request.query as Record<string, unknown> | undefined)?.api_key;
    if (typeof q === "string" && q) return q;
  }
  return undefined;
}
