import { Type } from "@sinclair/typebox";
import { AppError } from "../errors.js";
import { closeConsoleSession, openConsoleSession } from "../services/console-sessions.js";
import { secretsEqual } from "../services/users.js";
import { type ConsoleApp, type ConsoleEnv, seeOther, sendPage } from "./env.js";
import { html } from "./html.js";
import { page } from "./layout.js";
import {
  checkChange,
  isHttps,
  newSignInNonce,
  POLICY,
  readCookies,
  requireSession,
  SESSION_COOKIE,
  SIGN_IN_COOKIE,
  safeNext,
  setCookie,
} from "./session.js";

const HtmlPage = { 200: Type.String({ description: "HTML page" }) };

function form(env: ConsoleEnv, nonce: string, next: string, error?: string) {
  return page(
    { assets: env.assets },
    { title: "Sign in" },
    html`${error ? html`<p class="error" role="alert" id="sign-in-error">${error}</p>` : ""}
<form method="post" action="/console/sign-in" class="sign-in">
  <input type="hidden" name="_csrf" value="${nonce}">
  <input type="hidden" name="next" value="${next}">
  <label for="token">Admin token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus
    ${error ? html`aria-describedby="sign-in-error" aria-invalid="true"` : ""}>
  <button type="submit">Sign in</button>
</form>
<p class="hint">The value of <code>ADMIN_API_TOKEN</code>, the same token the admin API takes as <code>X-Admin-API-Key</code>.</p>`,
  );
}

/** Sign-in with the admin token (a double-submit nonce guards the form itself) and sign-out. */
export function registerSignIn(c: ConsoleApp, env: ConsoleEnv): void {
  const { ctx, config } = env.app;

  c.get(
    "/sign-in",
    {
      schema: {
        hide: true,
        querystring: Type.Object({ next: Type.Optional(Type.String()) }),
        response: HtmlPage,
      },
    },
    async (request, reply) => {
      const nonce = newSignInNonce();
      setCookie(reply, SIGN_IN_COOKIE, nonce, 3600, isHttps(request));
      return sendPage(reply, form(env, nonce, safeNext(request.query.next)));
    },
  );

  c.post(
    "/sign-in",
    {
      schema: {
        hide: true,
        body: Type.Object({
          _csrf: Type.String(),
          token: Type.String({ maxLength: 4096 }),
          next: Type.Optional(Type.String()),
        }),
        response: HtmlPage,
      },
    },
    async (request, reply) => {
      const expected = readCookies(request)[SIGN_IN_COOKIE] ?? "";
      checkChange(request, expected, expected ? request.body._csrf : "");
      const address = request.ip;
      const wait = await env.console.throttle.blockedFor(address);
      if (wait > 0)
        throw new AppError("RATE_LIMITED", `Too many failed sign-ins. Try again in ${wait} seconds.`, {
          retryAfterSeconds: wait,
        });
      const adminToken = config.adminApiToken;
      if (!adminToken)
        throw new AppError("INTERNAL", "Admin authentication is not configured on the server.");
      const next = safeNext(request.body.next);
      if (!secretsEqual(request.body.token, adminToken)) {
        await env.console.throttle.failed(address);
        return sendPage(reply, form(env, expected, next, "That is not the admin token."), 401);
      }
      const session = await openConsoleSession(ctx, adminToken, POLICY);
      setCookie(reply, SESSION_COOKIE, session.id, POLICY.absoluteMs / 1000, isHttps(request));
      setCookie(reply, SIGN_IN_COOKIE, "", 0, isHttps(request));
      return seeOther(reply, next);
    },
  );

  c.post(
    "/sign-out",
    {
      preHandler: requireSession(ctx, config.adminApiToken),
      schema: { hide: true, body: Type.Object({ _csrf: Type.Optional(Type.String()) }) },
    },
    async (request, reply) => {
      if (request.consoleSession) await closeConsoleSession(ctx, request.consoleSession.id);
      setCookie(reply, SESSION_COOKIE, "", 0, isHttps(request));
      return seeOther(reply, "/console/sign-in");
    },
  );
}
