/**
 * Input the database or the wholesaler cannot take as given is refused at the edge with a Vexa-shaped 4xx: lone
 * UTF-16 surrogates, invalid UTF-8, NUL, non-finite numbers, dates outside PostgreSQL's range, JSON nested deeper
 * than MAX_JSON_DEPTH. Each case here answered 201 (stored differently from what went upstream) or 500 before.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH } from "../../src/http/input.js";
import { ADMIN_TOKEN, startTestApp, type TestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";

const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;

describe.each(await legs())("edge input checks on %s", (leg) => {
  let t: TestApp;
  let u: { id: number; key: string; email: string };
  beforeAll(async () => {
    t = await startTestApp(leg);
    u = await t.newUser({ max_concurrent_bots: 3 });
    const res = await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "google_meet", native_meeting_id: "edg-einp-uts" },
    });
    expect(res.status, res.raw).toBe(201);
  }, 120_000);
  afterAll(async () => t?.close());

  const item = (res: { status: number; body: any; raw: string }) => {
    expect(res.status, res.raw).toBe(422);
    expect(res.body.detail).toHaveLength(1);
    return res.body.detail[0];
  };

  it("a lone surrogate in POST /bots is a 422 before any upstream call, and no meeting is stored", async () => {
    const before = t.sandbox.calls()["POST /bots"];
    for (const id of ["\\ud800", "a\\udc00b", "\\ud83d"]) {
      const res = await t.call("POST", "/bots", {
        key: u.key,
        body: `{"platform":"google_meet","native_meeting_id":"${id}"}`,
      });
      expect(item(res)).toEqual({
        loc: ["body", "native_meeting_id"],
        msg: "string is not valid Unicode (lone UTF-16 surrogate)",
        type: "value_error.str.unicode",
      });
    }
    expect(t.sandbox.calls()["POST /bots"]).toBe(before);
    const stored = await t.deps.db.query("SELECT platform_specific_id FROM meetings WHERE user_id = $1", [
      u.id,
    ]);
    expect(stored.rows).toEqual([{ platform_specific_id: "edg-einp-uts" }]);
    // A proper pair (an emoji) is valid Unicode and passes.
    const emoji = await t.call("PATCH", "/meetings/google_meet/edg-einp-uts", {
      key: u.key,
      body: '{"data":{"name":"\\ud83d\\ude00 sync"}}',
    });
    expect(emoji.status, emoji.raw).toBe(200);
    expect(emoji.body.data.name).toBe("😀 sync");
  });

  it("lone surrogates in PATCH /meetings and POST /admin/users data (values and keys) are 422, not 500", async () => {
    const patch = await t.call("PATCH", "/meetings/google_meet/edg-einp-uts", {
      key: u.key,
      body: '{"data":{"notes":"x\\ud800"}}',
    });
    expect(item(patch).loc).toEqual(["body", "data", "notes"]);
    const key = await t.call("PATCH", "/meetings/google_meet/edg-einp-uts", {
      key: u.key,
      body: '{"data":{"name":"ok","\\udfff":1}}',
    });
    expect(item(key).loc).toEqual(["body", "data", "\udfff"]);
    const admin = await t.call("POST", "/admin/users", {
      adminKey: ADMIN_TOKEN,
      body: '{"email":"sur@example.com","data":{"x":["ok","\\ud800"]}}',
    });
    expect(item(admin)).toMatchObject({ loc: ["body", "data", "x", 1], type: "value_error.str.unicode" });
    const none = await t.call("GET", "/admin/users/email/sur%40example.com", { adminKey: ADMIN_TOKEN });
    expect(none.status).toBe(404);
  });

  it("a body that is not UTF-8 is a 422 naming the byte, not silently replaced", async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"platform":"google_meet","native_meeting_id":"ab'),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from('"}'),
    ]);
    const res = await t.gateway.inject({
      method: "POST",
      url: "/bots",
      headers: { "x-api-key": u.key, "content-type": "application/json" },
      payload: bytes,
    });
    expect(res.statusCode, res.body).toBe(422);
    expect(JSON.parse(res.body).detail).toEqual([
      { loc: ["body", 49], msg: "body is not valid UTF-8", type: "value_error.unicodedecode" },
    ]);
  });

  it("usage dates outside 1970..9999 are 422 naming the parameter", async () => {
    for (const [url, opts, name] of [
      ["/usage?from=0000-01-01", { key: u.key }, "from"],
      ["/usage?to=9999-12-31T23:59:59-14:00", { key: u.key }, "to"],
      ["/usage?from=1969-12-31T23:59:59Z", { key: u.key }, "from"],
      ["/admin/usage?from=0000-01-01", { adminKey: ADMIN_TOKEN }, "from"],
      ["/admin/usage?to=9999-12-31T23:59:59-14:00", { adminKey: ADMIN_TOKEN }, "to"],
    ] as const) {
      expect(item(await t.call("GET", url, opts)), url).toEqual({
        loc: ["query", name],
        msg: "ensure this value is between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z",
        type: "value_error.datetime.range",
      });
    }
    const edges = await t.call("GET", "/usage?from=1970-01-01&to=9999-12-31T23:59:59Z", { key: u.key });
    expect(edges.status, edges.raw).toBe(200);
    expect(edges.body).toMatchObject({ from: "1970-01-01T00:00:00.000Z", to: "9999-12-31T23:59:59.000Z" });
  });

  it("non-finite and out-of-range ids and pages are 422, not 500", async () => {
    for (const id of ["Infinity", "-Infinity", "1e400", "-1e400"]) {
      for (const [method, url, name] of [
        ["GET", `/admin/users/${id}`, "user_id"],
        ["PATCH", `/admin/users/${id}`, "user_id"],
        ["POST", `/admin/users/${id}/tokens`, "user_id"],
        ["DELETE", `/admin/tokens/${id}`, "token_id"],
        ["GET", `/admin/users?skip=${id}`, "skip"],
        ["GET", `/admin/stats/meetings-users?limit=${id}`, "limit"],
      ] as const) {
        for (const app of ["admin", "gateway"] as const) {
          const res = await t.call(method, url, { adminKey: ADMIN_TOKEN, app, body: {} });
          expect(item(res), `${app} ${method} ${url}`).toEqual({
            loc: [url.includes("?") ? "query" : "path", name],
            msg: "value is not a valid integer",
            type: "type_error.integer",
          });
        }
      }
    }
    const big = await t.call("GET", "/admin/users/2147483648", { adminKey: ADMIN_TOKEN });
    expect(item(big)).toMatchObject({ loc: ["path", "user_id"], type: "value_error.number.not_le" });
    // 1e400 inside free-form data is Infinity after JSON.parse: refused rather than stored as null.
    const data = await t.call("POST", "/admin/users", {
      adminKey: ADMIN_TOKEN,
      body: '{"email":"inf@example.com","data":{"n":1e400}}',
    });
    expect(item(data)).toEqual({
      loc: ["body", "data", "n"],
      msg: "ensure this value is a finite number",
      type: "value_error.number.not_finite",
    });
  });

  it(`JSON deeper than ${MAX_JSON_DEPTH} levels is a 422 before parsing; exactly ${MAX_JSON_DEPTH} is stored`, async () => {
    const email = `deep-${leg}@example.com`;
    const ok = await t.call("POST", "/admin/users", {
      adminKey: ADMIN_TOKEN,
      body: `{"email":"${email}","data":${deep(MAX_JSON_DEPTH - 1)}}`,
    });
    expect(ok.status, ok.raw).toBe(201);
    for (const levels of [MAX_JSON_DEPTH, 5000]) {
      const res = await t.call("POST", "/admin/users", {
        adminKey: ADMIN_TOKEN,
        body: `{"email":"${email}2","data":${deep(levels)}}`,
      });
      expect(item(res)).toMatchObject({
        msg: `JSON nested deeper than ${MAX_JSON_DEPTH} levels`,
        type: "value_error.jsondepth",
      });
    }
    // Brackets inside strings do not count; a megabyte of brackets is refused without parsing it.
    const inString = await t.call("PATCH", "/meetings/google_meet/edg-einp-uts", {
      key: u.key,
      body: JSON.stringify({ data: { notes: "[{".repeat(1000) } }),
    });
    expect(inString.status, inString.raw.slice(0, 200)).toBe(200);
    const started = performance.now();
    const brackets = await t.call("PATCH", "/meetings/google_meet/edg-einp-uts", {
      key: u.key,
      body: `${"[".repeat(500_000)}${"]".repeat(500_000)}`,
    });
    expect(item(brackets)).toMatchObject({ loc: ["body", MAX_JSON_DEPTH], type: "value_error.jsondepth" });
    expect(performance.now() - started).toBeLessThan(500);
  });
});
