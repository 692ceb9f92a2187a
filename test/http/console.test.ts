import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { usageCsv } from "../../src/console/pages/usage.js";
import { ADMIN_TOKEN, startTestApp, type TestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";

const cookieOf = (setCookie: unknown, name: string) =>
  ([] as string[])
    .concat((setCookie as string[] | string | undefined) ?? [])
    .find((c) => c.startsWith(`${name}=`));
const cookieValue = (cookie: string | undefined) => cookie?.split(";")[0]?.split("=")[1] ?? "";
const csrfIn = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";

describe.each(await legs())("operator console on %s", (leg) => {
  let t: TestApp;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    t = await startTestApp(leg, {}, { clock });
  });
  afterAll(async () => t.close());

  const get = (url: string, cookie = "") =>
    t.admin.inject({ method: "GET", url, headers: cookie ? { cookie } : {} });
  const post = (url: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
    t.admin.inject({
      method: "POST",
      url,
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      payload: new URLSearchParams(form).toString(),
    });

  async function signIn(token = ADMIN_TOKEN, address = "10.0.0.1") {
    const form = await get("/console/sign-in");
    const nonce = cookieValue(cookieOf(form.headers["set-cookie"], "vexa_console_sign_in"));
    const res = await t.admin.inject({
      method: "POST",
      url: "/console/sign-in",
      remoteAddress: address,
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        cookie: `vexa_console_sign_in=${nonce}`,
      },
      payload: new URLSearchParams({
        _csrf: csrfIn(form.body),
        token,
        next: "/console/customers",
      }).toString(),
    });
    const session = cookieOf(res.headers["set-cookie"], "vexa_console");
    return { res, session, cookie: `vexa_console=${cookieValue(session)}` };
  }

  it("leaves the admin API's GET / as it was and sends visitors to sign in", async () => {
    expect((await t.call("GET", "/", { app: "admin" })).body).toEqual({ message: "Vexa Admin API" });
    const res = await get("/console/customers");
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe("/console/sign-in?next=%2Fconsole%2Fcustomers");
    expect((await t.call("GET", "/console")).status, "not on the gateway").toBe(404);
  });

  it("signs in with the admin token: an HttpOnly, SameSite=Strict session cookie; no token on any page", async () => {
    const { res, session, cookie } = await signIn();
    expect(res.statusCode, res.body).toBe(303);
    expect(res.headers.location).toBe("/console/customers");
    expect(session).toMatch(/; Path=\/console; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    const page = await get("/console/wholesaler", cookie);
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");
    for (const secret of [ADMIN_TOKEN, t.sandboxKey, "test-webhook-secret"])
      expect(page.body).not.toContain(secret);
    expect(page.body, "no asset from elsewhere").not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it("refuses changes without the session's CSRF token or from another site", async () => {
    const { cookie } = await signIn();
    const form = { email: "csrf@example.com", max_concurrent_bots: "1" };
    const none = await post("/console/customers", form, { cookie });
    expect(none.statusCode).toBe(403);
    const page = await get("/console/customers", cookie);
    const csrf = csrfIn(page.body);
    const foreign = await post(
      "/console/customers",
      { ...form, _csrf: csrf },
      { cookie, origin: "https://evil.example" },
    );
    expect(foreign.statusCode).toBe(403);
    const other = await signIn();
    const wrong = await post(
      "/console/customers",
      { ...form, _csrf: csrfIn((await get("/console/", other.cookie)).body) },
      { cookie },
    );
    expect(wrong.statusCode, "another session's token").toBe(403);
    expect(
      (await t.call("GET", "/admin/users/email/csrf@example.com", { adminKey: ADMIN_TOKEN, app: "admin" }))
        .status,
    ).toBe(404);
    const ok = await post(
      "/console/customers",
      { ...form, _csrf: csrf },
      { cookie, origin: "http://localhost:80" },
    );
    expect(ok.statusCode, ok.body).toBe(303);
    expect(
      (await t.call("GET", "/admin/users/email/csrf@example.com", { adminKey: ADMIN_TOKEN, app: "admin" }))
        .status,
    ).toBe(200);
  });

  it("ends sessions on sign-out, after 30 idle minutes and after 8 hours", async () => {
    const a = await signIn();
    const csrf = csrfIn((await get("/console/", a.cookie)).body);
    expect((await post("/console/sign-out", { _csrf: csrf }, { cookie: a.cookie })).statusCode).toBe(303);
    expect((await get("/console/", a.cookie)).statusCode).toBe(303);

    const b = await signIn();
    clock.advance(29 * 60_000);
    expect((await get("/console/", b.cookie)).statusCode, "used within 30 minutes").toBe(200);
    clock.advance(29 * 60_000);
    expect((await get("/console/", b.cookie)).statusCode, "still in use").toBe(200);
    clock.advance(31 * 60_000);
    expect((await get("/console/", b.cookie)).statusCode, "idle").toBe(303);

    const c = await signIn();
    for (let i = 0; i < 17; i++) {
      clock.advance(29 * 60_000);
      await get("/console/", c.cookie);
    }
    expect((await get("/console/", c.cookie)).statusCode, "8 h after sign-in").toBe(303);
  });

  it("throttles failed sign-ins per address with 429 and Retry-After", async () => {
    for (let i = 0; i < 10; i++) expect((await signIn("wrong", "10.9.9.9")).res.statusCode).toBe(401);
    const blocked = await signIn("wrong", "10.9.9.9");
    expect((await signIn("wrong", "10.9.9.9")).res.statusCode).toBe(429);
    expect(blocked.res.statusCode).toBe(401);
    const right = await signIn(ADMIN_TOKEN, "10.9.9.9");
    expect(right.res.statusCode, "even the right token waits").toBe(429);
    expect(Number(right.res.headers["retry-after"])).toBeGreaterThan(0);
    expect((await signIn(ADMIN_TOKEN, "10.9.9.10")).res.statusCode, "another address").toBe(303);
    clock.advance(60_000);
    expect((await signIn(ADMIN_TOKEN, "10.9.9.9")).res.statusCode).toBe(303);
  });

  it("exports usage as CSV with the numbers GET /admin/usage gives", async () => {
    const u = await t.newUser();
    const started = await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "google_meet", native_meeting_id: "csv-test-abc" },
    });
    expect(started.status, started.raw).toBe(201);
    clock.advance(90_000);
    const { cookie } = await signIn();
    const csv = await get("/console/usage.csv", cookie);
    expect(csv.headers["content-type"]).toBe("text/csv; charset=utf-8");
    const api = await t.call("GET", "/admin/usage", { adminKey: ADMIN_TOKEN, app: "admin" });
    expect(csv.body).toBe(usageCsv(api.body));
    expect(csv.body).toContain(`,${u.id},${u.email},1.5,1\r\n`);
    expect(
      usageCsv({ ...api.body, users: [{ user_id: 1, email: "=cmd()@x", bot_minutes: 1, meetings: 1 }] }),
    ).toContain(',"\'=cmd()@x",');
  });
});
