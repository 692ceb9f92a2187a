import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { AppError } from "../errors.js";
import { loadAssets } from "./assets.js";
import type { ConsoleAppDeps, ConsoleDeps } from "./deps.js";
import { type ConsoleApp, type ConsoleEnv, sendPage } from "./env.js";
import { html } from "./html.js";
import { page } from "./layout.js";
import { registerCustomerPages } from "./pages/customers.js";
import { registerDeliveryPages } from "./pages/deliveries.js";
import { registerMeetingPages } from "./pages/meetings.js";
import { registerOverviewPages } from "./pages/overview.js";
import { registerUsagePages } from "./pages/usage.js";
import { registerWholesalerPages } from "./pages/wholesaler.js";
import { requireSession } from "./session.js";
import { registerSignIn } from "./sign-in.js";

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/** The operator console at /console on the admin app: server-rendered pages over the admin API's services. */
export async function registerConsole(
  app: ConsoleApp,
  deps: ConsoleAppDeps,
  consoleDeps: ConsoleDeps,
): Promise<void> {
  const env: ConsoleEnv = { app: deps, console: consoleDeps, assets: loadAssets() };
  await app.register(
    async (c) => {
      // Forms post urlencoded bodies; the API's JSON-whatever-the-type parser stays outside this plugin.
      c.removeAllContentTypeParsers();
      c.addContentTypeParser(
        "application/x-www-form-urlencoded",
        { parseAs: "string", bodyLimit: 64 * 1024 },
        (_req, body: string, done) => done(null, Object.fromEntries(new URLSearchParams(body))),
      );
      c.addHook("onSend", async (_request, reply, payload) => {
        reply.header("content-security-policy", CSP);
        reply.header("x-frame-options", "DENY");
        reply.header("x-content-type-options", "nosniff");
        reply.header("referrer-policy", "same-origin");
        if (!reply.hasHeader("cache-control")) reply.header("cache-control", "no-store");
        return payload;
      });
      c.setErrorHandler((err: FastifyError | AppError, request, reply) =>
        errorPage(env, err, request, reply),
      );
      c.setNotFoundHandler((request, reply) =>
        errorPage(env, new AppError("NOT_FOUND", "No such page."), request, reply),
      );

      c.get(
        "/assets/:name",
        { schema: { hide: true, params: { type: "object", properties: { name: { type: "string" } } } } },
        async (request, reply) => {
          const asset = env.assets.get((request.params as { name: string }).name);
          if (!asset) throw new AppError("NOT_FOUND", "No such asset.");
          reply.type(asset.type).header("cache-control", "public, max-age=31536000, immutable");
          reply.header("vary", "accept-encoding");
          if (!/\bgzip\b/.test(String(request.headers["accept-encoding"] ?? "")))
            return reply.send(asset.body);
          return reply.header("content-encoding", "gzip").send(asset.gzip);
        },
      );
      registerSignIn(c, env);
      await c.register(async (p) => {
        p.addHook("preHandler", requireSession(deps.ctx, deps.config.adminApiToken));
        registerOverviewPages(p, env);
        registerCustomerPages(p, env);
        registerMeetingPages(p, env);
        registerUsagePages(p, env);
        registerDeliveryPages(p, env);
        registerWholesalerPages(p, env);
      });
    },
    { prefix: "/console" },
  );
}

function errorPage(
  env: ConsoleEnv,
  err: FastifyError | AppError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  let status = err instanceof AppError ? err.status : (err.statusCode ?? 500);
  let message: string;
  if (err instanceof AppError) message = typeof err.detail === "string" ? err.detail : "Invalid input.";
  else if (err.validation) {
    status = 422;
    message = `Invalid input: ${err.message}`;
  } else message = status < 500 ? err.message : "Something went wrong; the error has been logged.";
  if (status >= 500) request.log.error({ err }, "console request failed");
  if (err instanceof AppError && err.opts.retryAfterSeconds !== undefined)
    reply.header("retry-after", String(err.opts.retryAfterSeconds));
  const body = html`<p class="error" role="alert">${message}</p><p><a href="/console/">Back to the overview</a></p>`;
  if (request.headers["hx-request"]) return sendPage(reply, body, status);
  const csrf = request.consoleSession?.csrf;
  return sendPage(
    reply,
    page({ assets: env.assets, ...(csrf ? { csrf } : {}) }, { title: "Error" }, body),
    status,
  );
}
