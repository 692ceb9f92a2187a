import { type FastifyReply, type FastifyRequest, LogController } from "fastify";

/** Probes are polled every few seconds by orchestrators and scrapers; a line each would drown the real traffic. */
const PROBES = new Set(["/health", "/ready", "/metrics"]);

/**
 * One info line per answered request, written when it is answered (instead of Fastify's two, "incoming request"
 * and "request completed"), and none for probes. The request's child logger adds `reqId`, the `x-request-id`.
 * Fastify's other lines (handler errors, stream errors) are kept.
 */
export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const route = request.routeOptions.url;
    if (route && PROBES.has(route)) return;
    const line = {
      method: request.method,
      url: redactQueryKey(request.url),
      route: route ?? null,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (error) request.log.error({ ...line, err: error }, "request failed while answering");
    else request.log.info(line, "request");
  }
}

/** `?api_key=` (accepted on /ws and the SSE stream) must not reach the logs. */
export function redactQueryKey(url: string): string {
  return url.includes("api_key=") ? url.replace(/([?&]api_key=)[^&#]*/g, "$1<redacted>") : url;
}
