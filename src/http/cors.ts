import type { App, AppKind } from "./app.js";

const METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT";
const ADMIN_PATH = /^\/admin(?:[/?]|$)/;

/**
 * Browsers may call the user API from any origin, as with Vexa: keys travel in `X-API-Key`, never in cookies, so
 * `*` is enough. Credentials are allowed only for the origins in CORS_ORIGINS, and the admin API (its port, and
 * `/admin/*` on the gateway) answers no other origin at all.
 */
export function installCors(app: App, kind: AppKind, trustedOrigins: readonly string[]): void {
  const trusted = new Set(trustedOrigins.map((o) => o.toLowerCase()));
  app.addHook("onRequest", async (request, reply) => {
    const origin = request.headers.origin;
    if (!origin) return;
    reply.header("vary", "Origin");
    const isTrusted = trusted.has(origin.toLowerCase());
    if (!isTrusted && (kind === "admin" || ADMIN_PATH.test(request.url))) return;
    reply.header("access-control-allow-origin", isTrusted ? origin : "*");
    if (isTrusted) reply.header("access-control-allow-credentials", "true");
    if (request.method === "OPTIONS" && request.headers["access-control-request-method"]) {
      const headers = request.headers["access-control-request-headers"];
      reply
        .header("access-control-allow-methods", METHODS)
        .header("access-control-allow-headers", typeof headers === "string" ? headers : "*")
        .header("access-control-max-age", "600");
      return reply.code(200).send("OK");
    }
  });
}
