import type { App } from "./app.js";

/** Vexa's gateway allows every origin, method and header with credentials; browser clients depend on it. */
export function installCors(app: App): void {
  app.addHook("onRequest", async (request, reply) => {
    const origin = request.headers.origin;
    if (!origin) return;
    reply
      .header("access-control-allow-origin", origin)
      .header("access-control-allow-credentials", "true")
      .header("vary", "Origin");
    if (request.method === "OPTIONS" && request.headers["access-control-request-method"]) {
      const headers = request.headers["access-control-request-headers"];
      reply
        .header("access-control-allow-methods", "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT")
        .header("access-control-allow-headers", typeof headers === "string" ? headers : "*")
        .header("access-control-max-age", "600");
      return reply.code(200).send("OK");
    }
  });
}
