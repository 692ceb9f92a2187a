/**
 * Auth and tenant isolation for every route the apps register, generated from the route list (Fastify's onRoute):
 * a route added tomorrow is checked without anyone remembering to. Each route is public (listed below with its
 * reason), the operator console's (its own session), admin (`/admin/*`) or a user route (everything else), and:
 * - a user route answers a missing or bad key (`X-API-Key` or `Authorization: Bearer`) with one of Vexa's auth
 *   errors, and shows another user's meeting to nobody else, whichever way the key is sent (404 on a path naming
 *   it, by platform and native id or by meeting id; no trace of it in a listing, filtered or not);
 * - an admin route refuses a user's key, wherever it is sent;
 * - a console page without a session sends the browser to sign in, and a console form post is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, buildApp } from "../../src/http/app.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

/** Routes anyone may call, and why. */
const PUBLIC: Record<string, string> = {
  "GET /": "welcome message, as Vexa",
  "GET /health": "liveness probe",
  "GET /ready": "readiness probe",
  "GET /metrics": "Prometheus scrape",
  "GET /openapi.json": "the API description",
  "POST /webhooks/meeting-finished": "the wholesaler signs it (test/http/webhooks.test.ts)",
  // Not public: a plain request gets 404, and an upgraded socket is authenticated in-band as Vexa does.
  "GET /ws": "WebSocket; its auth and isolation are test/http/ws.test.ts's",
};
const CONSOLE_PUBLIC = ["GET /console/sign-in", "POST /console/sign-in", "GET /console/assets/{name}"];
/** Vexa's answers to a missing and to a wrong key, per service (README "The API"). */
const MISSING = ["Missing API token (X-API-Key header)", "Missing API token", "Missing API Key"];
const INVALID = ["Invalid API token", "Invalid API Key"];
/** Bodies that pass validation, so the ownership check is what answers. */
const BODIES: Record<string, (b: { native: string }) => unknown> = {
  "POST /bots": ({ native }) => ({ platform: "google_meet", native_meeting_id: native }),
  "PUT /bots/{platform}/{native_meeting_id}/config": () => ({ language: "de" }),
  "PATCH /meetings/{platform}/{native_meeting_id}": () => ({ data: { name: "not yours" } }),
  "PUT /user/webhook": () => ({ webhook_url: "https://example.com/hooks/b" }),
};

interface Route {
  kind: "gateway" | "admin";
  method: string;
  path: string;
}

describe("every route's auth and isolation, from the route list", () => {
  let t: TestApp;
  const apps: Partial<Record<Route["kind"], App>> = {};
  const routes: Route[] = [];
  let a: { id: number; key: string; email: string };
  let b: { id: number; key: string; email: string };
  let aMeeting: { id: number; native: string };
  const aHook = "https://example.com/hooks/a-only-marker";
  const aToken = { id: 0 };

  beforeAll(async () => {
    t = await startTestApp("pglite", { RATE_LIMIT_PER_SECOND: "0" });
    for (const kind of ["gateway", "admin"] as const) {
      const collect = (app: App) =>
        app.addHook("onRoute", (r) => {
          if (r.url.startsWith("/docs")) return; // the API explorer's static files
          for (const m of [r.method].flat())
            if (m !== "HEAD") routes.push({ kind, method: m, path: r.url.replace(/:(\w+)/g, "{$1}") });
        });
      apps[kind] = await buildApp(kind, { ...t.deps, hooks: [...(t.deps.hooks ?? []), collect] });
      await apps[kind]!.ready();
    }
    a = await t.newUser({ max_concurrent_bots: 3 });
    b = await t.newUser({ max_concurrent_bots: 3 });
    const native = `auth-contract-${Date.now().toString(36)}`;
    const bot = await t.call("POST", "/bots", {
      key: a.key,
      body: { platform: "google_meet", native_meeting_id: native },
    });
    expect(bot.status, bot.raw).toBe(201);
    aMeeting = { id: bot.body.id, native };
    expect((await t.call("PUT", "/user/webhook", { key: a.key, body: { webhook_url: aHook } })).status).toBe(
      200,
    );
    const detail = await t.call("GET", `/admin/users/${a.id}`, {
      app: "admin",
      adminKey: "test-admin-token-0123456789abcdef",
    });
    aToken.id = detail.body.api_tokens[0].id;
  });
  afterAll(async () => {
    await apps.gateway?.close();
    await apps.admin?.close();
    await t?.close();
  });

  const classOf = (r: Route) => {
    const id = `${r.method} ${r.path}`;
    if (id in PUBLIC) return "public";
    if (r.path.startsWith("/console")) return CONSOLE_PUBLIC.includes(id) ? "public" : "console";
    return r.path.startsWith("/admin/") ? "admin" : "user";
  };

  /** The route's path with A's resources filled in; an unknown parameter fails the test until it gets a value. */
  const fill = (path: string) =>
    path.replace(/\{(\w+)\}/g, (_, p: string) => {
      const values: Record<string, string | number> = {
        platform: "google_meet",
        native_meeting_id: aMeeting.native,
        id: aMeeting.id,
        meeting_id: aMeeting.id,
        user_id: a.id,
        token_id: aToken.id,
        user_email: a.email,
        email: a.email,
        name: "console.css",
      };
      if (!(p in values)) throw new Error(`no test value for path parameter {${p}} in ${path}: add one`);
      return encodeURIComponent(String(values[p]));
    });

  const send = async (r: Route, headers: Record<string, string>) => {
    const body = BODIES[`${r.method} ${r.path}`]?.({ native: `${aMeeting.native}-b` });
    const res = await apps[r.kind]!.inject({
      method: r.method as "GET",
      url: fill(r.path),
      headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    let json: any = null;
    try {
      json = JSON.parse(res.body);
    } catch {}
    return { status: res.statusCode, json, raw: res.body, location: res.headers.location };
  };

  it("finds the routes: Vexa's user and admin API on both ports", () => {
    const ids = routes.map((r) => `${r.kind} ${r.method} ${r.path}`);
    expect(ids).toEqual(
      expect.arrayContaining([
        "gateway POST /bots",
        "gateway GET /transcripts/{platform}/{native_meeting_id}",
        "gateway GET /transcripts/by-id/{meeting_id}",
        "gateway GET /meetings/{meeting_id}",
        "gateway PUT /user/webhook",
        "gateway GET /admin/users/{user_id}",
        "admin POST /admin/users",
      ]),
    );
    expect(routes.filter((r) => classOf(r) === "user").length).toBeGreaterThan(10);
  });

  it("user routes: Vexa's auth error for a missing or wrong key", async () => {
    const wrong: string[] = [];
    for (const r of routes.filter((x) => classOf(x) === "user")) {
      const none = await send(r, {});
      const id = `${r.kind} ${r.method} ${r.path}`;
      if (![401, 403].includes(none.status) || !MISSING.includes(none.json?.detail))
        wrong.push(`${id} without a key: ${none.status} ${none.raw.slice(0, 120)}`);
      // A Bearer header that carries no key is no key at all.
      const notBearer = await send(r, { authorization: "Basic eDp5" });
      if (![401, 403].includes(notBearer.status) || !MISSING.includes(notBearer.json?.detail))
        wrong.push(`${id} with a Basic header: ${notBearer.status} ${notBearer.raw.slice(0, 120)}`);
      for (const headers of [
        { "x-api-key": "x".repeat(40) },
        { authorization: `Bearer ${"x".repeat(40)}` },
      ] as Record<string, string>[]) {
        const bad = await send(r, headers);
        if (bad.status !== 403 || !INVALID.includes(bad.json?.detail))
          wrong.push(
            `${id} with a wrong key ${Object.keys(headers)}: ${bad.status} ${bad.raw.slice(0, 120)}`,
          );
      }
    }
    expect(wrong).toEqual([]);
  });

  it("user routes: another user's meeting, webhook and account are invisible", async () => {
    const leaks: string[] = [];
    const asB: Record<string, string>[] = [{ "x-api-key": b.key }, { authorization: `Bearer ${b.key}` }];
    for (const [r, headers] of routes
      .filter((x) => classOf(x) === "user")
      .flatMap((x) => asB.map((h) => [x, h] as const))) {
      const res = await send(r, headers);
      const id = `${r.kind} ${r.method} ${r.path} ${Object.keys(headers)}`;
      if (/\{/.test(r.path)) {
        // A path naming A's meeting: B is told it does not exist.
        if (res.status !== 404) leaks.push(`${id}: ${res.status} ${res.raw.slice(0, 160)}`);
      } else {
        for (const secret of [
          a.email,
          aHook,
          `"native_meeting_id":"${aMeeting.native}"`,
          `"user_id":${a.id},`,
        ])
          if (res.raw.includes(secret)) leaks.push(`${id}: shows ${secret}`);
      }
    }
    // Current Vexa's list filters narrow B's own meetings; they never widen to A's.
    for (const q of ["platform=google_meet", "status=active", "status=requested", "limit=100", "offset=0"]) {
      const res = await t.call("GET", `/meetings?${q}`, { key: b.key });
      if (res.status !== 200 || res.raw.includes(`"native_meeting_id":"${aMeeting.native}"`))
        leaks.push(`GET /meetings?${q}: ${res.status}`);
    }
    expect(leaks).toEqual([]);
    // And A's meeting is as A left it, and A (with either header) still sees it by id.
    for (const headers of [{ "x-api-key": a.key }, { authorization: `Bearer ${a.key}` }] as Record<
      string,
      string
    >[]) {
      const byId = await apps.gateway!.inject({ url: `/meetings/${aMeeting.id}`, headers });
      expect(byId.statusCode, byId.body).toBe(200);
      expect(byId.json()).toMatchObject({
        id: aMeeting.id,
        user_id: a.id,
        native_meeting_id: aMeeting.native,
      });
    }
    const mine = await t.call("GET", "/meetings", { key: a.key });
    const m = mine.body.meetings.find(
      (x: { native_meeting_id: string }) => x.native_meeting_id === aMeeting.native,
    );
    expect(m?.data?.name).toBeUndefined();
    expect(["requested", "joining", "awaiting_admission", "active"]).toContain(m?.status);
  });

  it("admin routes refuse a user's key, in either header", async () => {
    const wrong: string[] = [];
    for (const r of routes.filter((x) => classOf(x) === "admin")) {
      for (const headers of [
        {},
        { "x-api-key": a.key },
        { "x-admin-api-key": a.key },
        { authorization: `Bearer ${a.key}` },
      ] as Record<string, string>[]) {
        const res = await send(r, headers);
        if (res.status !== 403 || res.json?.detail !== "Invalid or missing admin token.")
          wrong.push(
            `${r.kind} ${r.method} ${r.path} ${JSON.stringify(Object.keys(headers))}: ${res.status}`,
          );
      }
    }
    expect(wrong).toEqual([]);
  });

  it("console pages without a session send the browser to sign in, whatever key comes along", async () => {
    const wrong: string[] = [];
    for (const r of routes.filter((x) => classOf(x) === "console")) {
      for (const headers of [{}, { "x-admin-api-key": a.key }, { "x-api-key": a.key }] as Record<
        string,
        string
      >[]) {
        const res = await send(r, headers);
        const toSignIn =
          res.status >= 300 && res.status < 400 && /\/console\/sign-in/.test(String(res.location));
        // A form post without a session is refused before anything runs: by its own validation (no CSRF field),
        // or by the session check.
        const refused =
          r.method === "GET" ? [401, 403].includes(res.status) : res.status >= 400 && res.status < 500;
        if (!toSignIn && !refused) wrong.push(`${r.kind} ${r.method} ${r.path}: ${res.status}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
