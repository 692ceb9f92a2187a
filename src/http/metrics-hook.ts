import type { Metrics } from "../observability/metrics.js";
import type { App } from "./app.js";

/** Counts and times every answered request by route pattern; unmatched URLs share one label. */
export function httpMetricsHook(metrics: Pick<Metrics, "httpRequest">) {
  return (app: App, kind: string): void => {
    app.addHook("onResponse", async (request, reply) => {
      metrics.httpRequest({
        app: kind,
        method: request.method,
        route: request.routeOptions.url ?? "unmatched",
        status: reply.statusCode,
        seconds: reply.elapsedTime / 1000,
      });
    });
  };
}
