import { randomUUID } from "node:crypto";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from "fastify";
import { registerConsole } from "../console/index.js";
import { AppError, validationError } from "../errors.js";
import { installCors } from "./cors.js";
import { badInput, parseJsonBody } from "./input.js";
import { installServerLimits, serverOptions } from "./server-limits.js";
import type { AppDeps } from "./deps.js";
import { closeConnectionsWhenDraining } from "./drain.js";
import { documentRoute, openApiDocument } from "./openapi.js";
import { registerAdminRoutes } from "./routes/admin.js";
import { registerHealthRoutes } from "./routes/health.js";
import { registerGatewayRoutes } from "./routes/index.js";
import { registerAdminUsageRoutes } from "./routes/usage.js";
import { registerStreamRoute } from "./routes/stream.js";
import { registerWsRoute } from "./routes/ws.js";
import { RequestLog } from "./request-log.js";
import { ErrorBody } from "./schemas/common.js";
import { MeetingSchema } from "./schemas/meetings.js";
import { TokenSchema, UserSchema } from "./schemas/users.js";
import { toValidationItems } from "./validation.js";

export type AppKind = "gateway" | "admin";
export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

declare module "fastify" {
  interface FastifyRequest {
    rawBody?: Buffer;
  }
}

/** Builds (never listens) the gateway or admin app with every server option, so tests and production match. */
export async function buildApp(kind: AppKind, deps: AppDeps, opts: { logger?: FastifyBaseLogger } = {}) {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    logController: new RequestLog(),
    ...serverOptions(deps.config.http),
    // request.ip (the failed-authentication throttle's key) follows X-Forwarded-For only from these proxies.
    trustProxy: deps.config.trustProxy,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { allErrors: true, coerceTypes: true, removeAdditional: false } },
    return503OnClosing: true,
    forceCloseConnections: "idle",
    // Errors the router raises before any hook runs (a malformed %-escape, an over-long path segment) keep
    // Vexa's `{"detail"}` shape too.
    frameworkErrors: (err: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      const status = err.statusCode === 414 ? 414 : 400;
      reply.code(status).send({ detail: status === 414 ? "Request-URI Too Long" : "Invalid URL" });
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addSchema(ErrorBody);
  app.addSchema(UserSchema);
  app.addSchema(TokenSchema);
  app.addSchema(MeetingSchema);
  installJsonParser(app);
  installErrorHandling(app);
  // After authentication and schema validation, before any handler: what reaches the services is text PostgreSQL
  // stores exactly as the wholesaler will receive it, and finite numbers.
  app.addHook("preHandler", async (request) => {
    const item = badInput(request);
    if (item) throw validationError([item]);
  });
  closeConnectionsWhenDraining(app);
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  installCors(app, kind, deps.config.corsOrigins);
  await installServerLimits(app, deps.config.http);
  for (const hook of deps.hooks ?? []) hook(app, kind);

  await app.register(swagger, { openapi: openApiDocument(kind), transform: documentRoute });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  const message = kind === "gateway" ? "Welcome to the Vexa API Gateway" : "Vexa Admin API";
  app.get(
    "/",
    {
      schema: {
        tags: ["meta"],
        summary: "Welcome message",
        response: {
          200: { type: "object", properties: { message: { type: "string", examples: [message] } } },
        },
      },
    },
    async () => ({ message }),
  );

  registerHealthRoutes(app, deps.ops);
  registerAdminRoutes(app, deps);
  registerAdminUsageRoutes(app, deps);
  if (kind === "gateway") {
    registerGatewayRoutes(app, deps);
    if (deps.live) {
      registerStreamRoute(app, deps, deps.live);
      await registerWsRoute(app, deps, deps.live);
    }
  }
  if (kind === "admin" && deps.console) await registerConsole(app, deps, deps.console);
  return app;
}

// Vexa parses the body as JSON whatever the Content-Type (curl -d sends form-encoded); the raw bytes are kept for signature checks.
function installJsonParser(app: App): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (request, body: Buffer, done) => {
    request.rawBody = body;
    if (body.length === 0) return done(null, undefined);
    const parsed = parseJsonBody(body);
    if ("error" in parsed) return done(validationError([parsed.error]), undefined);
    done(null, parsed.value);
  });
}

function installErrorHandling(app: App): void {
  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    if (err instanceof AppError) {
      if (err.opts.retryAfterSeconds !== undefined)
        reply.header("retry-after", String(err.opts.retryAfterSeconds));
      if (err.status >= 500 && err.code !== "UPSTREAM_UNAVAILABLE" && err.code !== "OVERLOADED")
        request.log.error({ err }, "request failed");
      return reply.code(err.status).send({ detail: err.detail });
    }
    if (err.validation) {
      return reply
        .code(422)
        .send({ detail: toValidationItems(err.validation, err.validationContext ?? "body") });
    }
    if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE")
      return reply.code(413).send({ detail: "Request body too large" });
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).send({ detail: err.message });
    request.log.error({ err }, "unhandled error");
    // 5xx bodies never echo internals.
    return reply.code(500).send({ detail: "Internal Server Error" });
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ detail: "Not Found" }));
}
