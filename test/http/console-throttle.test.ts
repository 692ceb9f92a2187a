import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, startTestApp, type TestApp } from "../helpers/app.js";

/** The console's sign-in and the admin API draw on one per-address budget of failed authentications. */
describe("console sign-in shares the failed-authentication throttle", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp("pg", { AUTH_FAILURES_PER_MINUTE: "1", AUTH_FAILURE_BURST: "3" });
  });
  afterAll(async () => t.close());

  async function signIn(token: string, remoteAddress: string) {
    const form = await t.admin.inject({ method: "GET", url: "/console/sign-in" });
    const nonce = ([] as string[])
      .concat((form.headers["set-cookie"] as string[] | string | undefined) ?? [])
      .find((c) => c.startsWith("vexa_console_sign_in="))
      ?.split(";")[0];
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? "";
    return t.admin.inject({
      method: "POST",
      url: "/console/sign-in",
      remoteAddress,
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: nonce ?? "" },
      payload: new URLSearchParams({ _csrf: csrf, token, next: "/console/" }).toString(),
    });
  }

  it("wrong console tokens use up the admin API's budget for that address, and the reverse", async () => {
    for (let i = 0; i < 3; i++) expect((await signIn("wrong", "10.7.7.7")).statusCode).toBe(401);
    const api = await t.admin.inject({
      method: "GET",
      url: "/admin/users",
      remoteAddress: "10.7.7.7",
      headers: { "x-admin-api-key": ADMIN_TOKEN },
    });
    expect(api.statusCode, api.body).toBe(429);
    expect(api.headers["retry-after"]).toBeDefined();
    for (let i = 0; i < 3; i++) {
      const wrongKey = await t.admin.inject({
        method: "GET",
        url: "/admin/users",
        remoteAddress: "10.7.7.8",
        headers: { "x-admin-api-key": `wrong-${"x".repeat(40)}` },
      });
      expect(wrongKey.statusCode, "Vexa answers a wrong admin key with 403").toBe(403);
    }
    expect((await signIn(ADMIN_TOKEN, "10.7.7.8")).statusCode).toBe(429);
    expect((await signIn(ADMIN_TOKEN, "10.7.7.9")).statusCode, "another address").toBe(303);
  });
});
