import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, startTestApp, type TestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";

const USER_KEYS = ["email", "name", "image_url", "max_concurrent_bots", "data", "id", "created_at"];
const NAIVE_TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/;

describe.each(await legs())("admin API on %s", (leg) => {
  let t: TestApp;
  const admin = { adminKey: ADMIN_TOKEN };
  beforeAll(async () => {
    t = await startTestApp(leg);
  });
  afterAll(async () => t.close());

  it("answers its root on the admin port", async () => {
    const res = await t.call("GET", "/", { app: "admin" });
    expect(res.body).toEqual({ message: "Vexa Admin API" });
  });

  it("find-or-create: 201 then 200, honouring max_concurrent_bots and data at creation", async () => {
    const email = `fc-${Date.now()}@example.com`;
    const first = await t.call("POST", "/admin/users", {
      ...admin,
      app: "admin",
      body: { email, name: "Ada", max_concurrent_bots: 4, data: { plan: "pro" } },
    });
    expect(first.status, first.raw).toBe(201);
    expect(Object.keys(first.body)).toEqual(USER_KEYS);
    expect(first.body).toMatchObject({
      email,
      name: "Ada",
      image_url: null,
      max_concurrent_bots: 4,
      data: { plan: "pro" },
    });
    expect(first.body.created_at).toMatch(NAIVE_TS);
    const again = await t.call("POST", "/admin/users", { ...admin, body: { email, name: "Other" } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const defaults = await t.call("POST", "/admin/users", { ...admin, body: { email: `d-${email}` } });
    expect(defaults.body).toMatchObject({ max_concurrent_bots: 1, data: {} });
  });

  it("rejects an invalid email with pydantic's 422 shape", async () => {
    const res = await t.call("POST", "/admin/users", { ...admin, body: { email: "not-an-email" } });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({
      detail: [
        { loc: ["body", "email"], msg: "value is not a valid email address", type: "value_error.email" },
      ],
    });
    const missing = await t.call("POST", "/admin/users", { ...admin, body: {} });
    expect(missing.body).toEqual({
      detail: [{ loc: ["body", "email"], msg: "field required", type: "value_error.missing" }],
    });
  });

  it("lists with skip and limit, finds by email and id", async () => {
    const a = await t.newUser();
    const b = await t.newUser();
    const all = await t.call("GET", "/admin/users?skip=0&limit=1000", admin);
    expect(all.status).toBe(200);
    const ids = all.body.map((u: { id: number }) => u.id);
    expect(ids).toEqual(expect.arrayContaining([a.id, b.id]));
    const page = await t.call("GET", "/admin/users?skip=1&limit=1", admin);
    expect(page.body).toHaveLength(1);
    expect(page.body[0].id).toBe(ids[1]);
    const byEmail = await t.call("GET", `/admin/users/email/${a.email}`, admin);
    expect(byEmail.body.id).toBe(a.id);
    expect((await t.call("GET", "/admin/users/email/nobody@example.com", admin)).body).toEqual({
      detail: "User not found",
    });
    const detail = await t.call("GET", `/admin/users/${a.id}`, admin);
    expect(Object.keys(detail.body)).toEqual([...USER_KEYS, "api_tokens"]);
    expect(detail.body.api_tokens).toHaveLength(1);
    const notFound = await t.call("GET", "/admin/users/999999", admin);
    expect([notFound.status, notFound.body]).toEqual([404, { detail: "User not found" }]);
    const bad = await t.call("GET", "/admin/users/abc", admin);
    expect(bad.status).toBe(422);
    expect(bad.body.detail[0]).toMatchObject({
      loc: ["path", "user_id"],
      msg: "value is not a valid integer",
      type: "type_error.integer",
    });
  });

  it("masks tokens in the detail view and stores only a hash", async () => {
    const u = await t.newUser();
    const detail = await t.call("GET", `/admin/users/${u.id}`, admin);
    const masked = detail.body.api_tokens[0].token as string;
    expect(masked).toHaveLength(40);
    expect(masked).not.toBe(u.key);
    expect(masked.slice(0, 4)).toBe(u.key.slice(0, 4));
    expect(masked).toContain("*");
    const stored = await t.deps.db.query<{ token: string }>(
      "SELECT token FROM api_tokens WHERE user_id = $1",
      [u.id],
    );
    expect(stored.rows[0]?.token).not.toBe(u.key);
    expect(stored.rows[0]?.token).toMatch(/^[0-9a-f]{64}$/);
  });

  it("PATCH applies only sent keys and refuses an email change", async () => {
    const u = await t.newUser();
    const res = await t.call("PATCH", `/admin/users/${u.id}`, { ...admin, body: { max_concurrent_bots: 7 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: u.id, max_concurrent_bots: 7, email: u.email, name: null });
    const renamed = await t.call("PATCH", `/admin/users/${u.id}`, {
      ...admin,
      body: { name: "Grace", email: u.email },
    });
    expect(renamed.body).toMatchObject({ name: "Grace", max_concurrent_bots: 7 });
    const email = await t.call("PATCH", `/admin/users/${u.id}`, {
      ...admin,
      body: { email: "x@example.com" },
    });
    expect([email.status, email.body]).toEqual([
      400,
      { detail: "Cannot change user email via this endpoint." },
    ]);
    const missing = await t.call("PATCH", "/admin/users/999999", { ...admin, body: { name: "x" } });
    expect([missing.status, missing.body]).toEqual([404, { detail: "User not found" }]);
  });

  it("creates a 40-character token that works as X-API-Key; delete gives 204 then 404 and stops it at once", async () => {
    const u = await t.newUser();
    const created = await t.call("POST", `/admin/users/${u.id}/tokens`, admin);
    expect(created.status).toBe(201);
    expect(Object.keys(created.body)).toEqual(["user_id", "id", "token", "created_at"]);
    expect(created.body.token).toMatch(/^[A-Za-z0-9]{40}$/);
    expect((await t.call("GET", "/meetings", { key: created.body.token })).status).toBe(200);
    const del = await t.call("DELETE", `/admin/tokens/${created.body.id}`, admin);
    expect([del.status, del.raw]).toEqual([204, ""]);
    const gone = await t.call("DELETE", `/admin/tokens/${created.body.id}`, admin);
    expect([gone.status, gone.body]).toEqual([404, { detail: "Token not found" }]);
    expect((await t.call("GET", "/meetings", { key: created.body.token })).body).toEqual({
      detail: "Invalid API token",
    });
    const noUser = await t.call("POST", "/admin/users/999999/tokens", admin);
    expect([noUser.status, noUser.body]).toEqual([404, { detail: "User not found" }]);
  });

  it("lists meeting stats with real ids", async () => {
    const res = await t.call("GET", "/admin/stats/meetings-users?skip=0&limit=10", admin);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ total: expect.any(Number), items: expect.any(Array) });
  });

  it.each([
    ["GET", "/admin/users"],
    ["POST", "/admin/users"],
    ["GET", "/admin/users/1"],
    ["PATCH", "/admin/users/1"],
    ["POST", "/admin/users/1/tokens"],
    ["DELETE", "/admin/tokens/1"],
    ["GET", "/admin/users/email/a@b.c"],
    ["GET", "/admin/stats/meetings-users"],
  ])("%s %s refuses a missing, wrong or user key with 403 on both ports", async (method, url) => {
    const u = await t.newUser();
    for (const app of ["gateway", "admin"] as const) {
      for (const adminKey of [undefined, "wrong", u.key]) {
        const res = await t.call(method, url, {
          app,
          body: method === "GET" || method === "DELETE" ? undefined : {},
          ...(adminKey ? { adminKey } : {}),
        });
        expect([res.status, res.body]).toEqual([403, { detail: "Invalid or missing admin token." }]);
      }
    }
  });
});

describe("admin API without ADMIN_API_TOKEN", () => {
  it("answers 500 with the baseline message", async () => {
    const t = await startTestApp("pglite", { ADMIN_API_TOKEN: "" });
    try {
      const res = await t.call("GET", "/admin/users", { adminKey: "anything" });
      expect([res.status, res.body]).toEqual([
        500,
        { detail: "Admin authentication is not configured on the server." },
      ]);
    } finally {
      await t.close();
    }
  });
});

describe("admin ids beyond Postgres integers", () => {
  it("are a 422, not a database error", async () => {
    const t = await startTestApp("pglite");
    try {
      for (const url of ["/admin/users/99999999999", "/admin/users/99999999999/tokens"]) {
        const res = await t.call(url.endsWith("tokens") ? "POST" : "GET", url, { adminKey: ADMIN_TOKEN });
        expect(res.status, url).toBe(422);
      }
      expect((await t.call("DELETE", "/admin/tokens/99999999999", { adminKey: ADMIN_TOKEN })).status).toBe(
        422,
      );
      expect((await t.call("GET", "/admin/users?skip=99999999999", { adminKey: ADMIN_TOKEN })).status).toBe(
        422,
      );
    } finally {
      await t.close();
    }
  });
});
