import { randomUUID } from "node:crypto";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyBaseLogger } from "fastify";
import type { Metrics } from "../observability/metrics.js";
import type { App } from "./app.js";
import { closeConnectionsWhenDraining } from "./drain.js";
import { httpMetricsHook } from "./metrics-hook.js";
import { RequestLog } from "./request-log.js";
import { type OpsDeps, registerHealthRoutes } from "./routes/health.js";

/** The bot-manager role has no API; this serves its /health, /ready and /metrics for orchestrators and scrapers. */
export async function buildOpsApp(
  deps: { ops: OpsDeps; metrics?: Pick<Metrics, "httpRequest"> },
  opts: { logger?: FastifyBaseLogger } = {},
): Promise<App> {
  const app: App = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    logController: new RequestLog(),
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    forceCloseConnections: "idle",
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  closeConnectionsWhenDraining(app);
  if (deps.metrics) httpMetricsHook(deps.metrics)(app, "bot-manager");
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ detail: "Not Found" }));
  registerHealthRoutes(app, deps.ops);
  return app;
}
