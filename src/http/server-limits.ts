import { type Server, STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { getHeapStatistics } from "node:v8";
import underPressure from "@fastify/under-pressure";
import type { FastifyHttpOptions } from "fastify";
import type { HttpLimits } from "../config.js";
import { AppError } from "../errors.js";
import type { App } from "./app.js";
import { drainBeforeClosing } from "./drain.js";

/** Routes an orchestrator or scraper needs most when the process is struggling: never shed. */
const NEVER_SHED = new Set(["/health", "/metrics"]);

/** The Fastify/Node server options that bound slow clients; tests and production build with the same ones. */
export function serverOptions(limits: HttpLimits): FastifyHttpOptions<Server> {
  return {
    bodyLimit: limits.bodyLimitBytes,
    connectionTimeout: limits.socketIdleTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      // Node checks the two timeouts on this interval (30 s by default, which would stretch a 10 s bound to 40 s).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    clientErrorHandler: answerClientError,
  };
}

/** Connection cap and overload shedding: 503 + Retry-After while the event loop lags or memory runs high. */
export async function installServerLimits(app: App, limits: HttpLimits): Promise<void> {
  if (limits.maxConnections > 0) app.server.maxConnections = limits.maxConnections;
  drainBeforeClosing(app, limits.bodyDrain);
  const { overload } = limits;
  await app.register(underPressure, {
    sampleInterval: 500,
    maxEventLoopDelay: overload.maxEventLoopDelayMs,
    maxHeapUsedBytes: Math.floor((getHeapStatistics().heap_size_limit * overload.maxHeapPercent) / 100),
    maxRssBytes: overload.maxRssMb * 1024 * 1024,
    // A rejection goes through the error handler (503 + Retry-After, Vexa's shape); resolving lets the request on.
    pressureHandler: async (request) => {
      if (NEVER_SHED.has(request.routeOptions.url ?? "")) return;
      throw new AppError("OVERLOADED", "The service is overloaded; retry shortly.", {
        retryAfterSeconds: overload.retryAfterSeconds,
      });
    },
  });
}

/**
 * Errors Node raises before a request reaches Fastify (headers or body too slow, headers too large, bad HTTP),
 * answered in Vexa's `{"detail"}` shape before the socket closes.
 */
function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const status =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : err.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
  const body = JSON.stringify({ detail: STATUS_CODES[status] });
  // As Node itself does: never write into a response that has already started.
  if (socket.writable && !inFlightResponse(socket)?.headersSent) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

// safe because: Node's http server keeps the in-flight ServerResponse on the socket under this name.
const inFlightResponse = (socket: Socket) =>
  (socket as Socket & { _httpMessage?: { headersSent: boolean } })._httpMessage;
