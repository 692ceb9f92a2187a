import type { App } from "./app.js";

/**
 * Once close() has begun, answers carry `Connection: close`, so a keep-alive connection ends with the request that
 * was in flight instead of holding the server open until its idle timeout (Fastify only closes connections that
 * are idle at that moment, and answers new requests 503).
 */
export function closeConnectionsWhenDraining(app: App): void {
  let draining = false;
  app.addHook("preClose", async () => {
    draining = true;
  });
  app.addHook("onSend", async (_request, reply) => {
    if (draining) reply.header("connection", "close");
  });
}
