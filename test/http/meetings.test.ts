import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";

const PLATFORM_ENUM = {
  loc: ["path", "platform"],
  msg: "value is not a valid enumeration member; permitted: 'google_meet', 'zoom', 'teams'",
  type: "type_error.enum",
  ctx: { enum_values: ["google_meet", "zoom", "teams"] },
};

describe.each(await legs())("meetings, user webhook and request plumbing on %s", (leg) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(leg);
  });
  afterAll(async () => t.close());

  const bot = (key: string, native: string, platform = "google_meet") =>
    t.call("POST", "/bots", { key, body: { platform, native_meeting_id: native } });

  it("answers the gateway root", async () => {
    expect((await t.call("GET", "/")).body).toEqual({ message: "Welcome to the Vexa API Gateway" });
  });

  it("GET /meetings lists only the caller's meetings, newest first", async () => {
    const a = await t.newUser({ max_concurrent_bots: 5 });
    const b = await t.newUser();
    await bot(a.key, "lst-aaaa-one");
    await bot(a.key, "1234567890", "zoom");
    await bot(b.key, "lst-bbbb-two");
    const res = await t.call("GET", "/meetings", { key: a.key });
    expect(res.status).toBe(200);
    expect(res.body.meetings.map((m: { native_meeting_id: string }) => m.native_meeting_id)).toEqual([
      "1234567890",
      "lst-aaaa-one",
    ]);
    expect(res.body.meetings[0].constructed_meeting_url).toBe("https://*.zoom.us/j/1234567890");
    expect(res.body.meetings.every((m: { user_id: number }) => m.user_id === a.id)).toBe(true);
    const teams = await bot(a.key, "19:meeting_abc@thread.v2", "teams");
    expect(teams.body.constructed_meeting_url).toBeNull();
  });

  it("PATCH shallow-merges into the newest meeting, drops nulls, 400 when nothing is left", async () => {
    const u = await t.newUser();
    await bot(u.key, "pat-chme-now");
    const first = await t.call("PATCH", "/meetings/google_meet/pat-chme-now", {
      key: u.key,
      body: { data: { name: "Sync", notes: "n1", ignored: 1 } },
    });
    expect(first.status, first.raw).toBe(200);
    expect(first.body.data).toEqual({ name: "Sync", notes: "n1" });
    const second = await t.call("PATCH", "/meetings/google_meet/pat-chme-now", {
      key: u.key,
      body: { data: { notes: "n2", participants: ["Ada"], name: null } },
    });
    expect(second.body.data).toEqual({ name: "Sync", notes: "n2", participants: ["Ada"] });
    expect(second.body.updated_at >= first.body.updated_at).toBe(true);
    const empty = await t.call("PATCH", "/meetings/google_meet/pat-chme-now", {
      key: u.key,
      body: { data: { name: null } },
    });
    expect([empty.status, empty.body]).toEqual([400, { detail: "No data provided for update." }]);
    const missing = await t.call("PATCH", "/meetings/google_meet/pat-chme-now", { key: u.key, body: {} });
    expect(missing.status).toBe(422);
    expect(missing.body.detail).toEqual([
      { loc: ["body", "data"], msg: "field required", type: "value_error.missing" },
    ]);
    const unknown = await t.call("PATCH", "/meetings/google_meet/zzz-zzzz-zzz", {
      key: u.key,
      body: { data: { name: "x" } },
    });
    expect([unknown.status, unknown.body]).toEqual([
      404,
      { detail: "Meeting not found for platform google_meet and ID zzz-zzzz-zzz" },
    ]);
  });

  it("DELETE /meetings removes the meeting and its transcript; afterwards it is a 404", async () => {
    const u = await t.newUser();
    await bot(u.key, "del-etem-eet");
    await t.call("DELETE", "/bots/google_meet/del-etem-eet", { key: u.key });
    const del = await t.call("DELETE", "/meetings/google_meet/del-etem-eet", { key: u.key });
    expect([del.status, del.body]).toEqual([
      200,
      { message: "Meeting google_meet/del-etem-eet and all its transcripts have been deleted" },
    ]);
    expect((await t.call("GET", "/transcripts/google_meet/del-etem-eet", { key: u.key })).status).toBe(404);
    expect((await t.call("DELETE", "/meetings/google_meet/del-etem-eet", { key: u.key })).status).toBe(404);
  });

  it("isolates tenants: another user's meeting is a 404 for every meeting route", async () => {
    const a = await t.newUser();
    const b = await t.newUser();
    await bot(a.key, "iso-lati-onx");
    const nf = { detail: "Meeting not found for platform google_meet and ID iso-lati-onx" };
    expect(
      (
        await t.call("PATCH", "/meetings/google_meet/iso-lati-onx", {
          key: b.key,
          body: { data: { name: "x" } },
        })
      ).body,
    ).toEqual(nf);
    expect((await t.call("DELETE", "/meetings/google_meet/iso-lati-onx", { key: b.key })).body).toEqual(nf);
    expect((await t.call("GET", "/transcripts/google_meet/iso-lati-onx", { key: b.key })).body).toEqual(nf);
    expect((await t.call("DELETE", "/bots/google_meet/iso-lati-onx", { key: b.key })).body).toEqual({
      detail: "Active meeting not found.",
    });
    expect((await t.call("GET", "/meetings", { key: b.key })).body.meetings).toEqual([]);
    expect((await t.call("GET", "/bots/status", { key: b.key })).body.running_bots).toEqual([]);
    expect((await t.call("GET", "/meetings", { key: a.key })).body.meetings).toHaveLength(1);
  });

  it("answers each route family's auth errors with Vexa's exact codes and messages", async () => {
    const cases: [string, string, number, string, number, string][] = [
      ["GET", "/meetings", 403, "Missing API token", 403, "Invalid API token"],
      ["GET", "/transcripts/google_meet/abc-defg-hij", 403, "Missing API token", 403, "Invalid API token"],
      ["PATCH", "/meetings/google_meet/abc-defg-hij", 403, "Missing API token", 403, "Invalid API token"],
      ["DELETE", "/meetings/google_meet/abc-defg-hij", 403, "Missing API token", 403, "Invalid API token"],
      ["GET", "/bots/status", 403, "Missing API token (X-API-Key header)", 403, "Invalid API token"],
      [
        "PUT",
        "/bots/google_meet/abc-defg-hij/config",
        403,
        "Missing API token (X-API-Key header)",
        403,
        "Invalid API token",
      ],
      [
        "DELETE",
        "/bots/google_meet/abc-defg-hij",
        403,
        "Missing API token (X-API-Key header)",
        403,
        "Invalid API token",
      ],
      ["PUT", "/user/webhook", 401, "Missing API Key", 403, "Invalid API Key"],
    ];
    for (const [method, url, missingStatus, missing, invalidStatus, invalid] of cases) {
      const body = method === "GET" || method === "DELETE" ? undefined : {};
      const m = await t.call(method, url, { body });
      expect([m.status, m.body], `${method} ${url} without key`).toEqual([
        missingStatus,
        { detail: missing },
      ]);
      const i = await t.call(method, url, { body, key: "not-a-real-key" });
      expect([i.status, i.body], `${method} ${url} bad key`).toEqual([invalidStatus, { detail: invalid }]);
    }
  });

  it("rejects an invalid platform in the path before auth, on every platform route", async () => {
    for (const [method, url] of [
      ["GET", "/transcripts/webex/x"],
      ["PATCH", "/meetings/webex/x"],
      ["DELETE", "/meetings/webex/x"],
      ["DELETE", "/bots/webex/x"],
      ["PUT", "/bots/webex/x/config"],
    ] as const) {
      const res = await t.call(method, url, {
        body: method === "PATCH" || method === "PUT" ? {} : undefined,
      });
      expect([res.status, res.body], `${method} ${url}`).toEqual([422, { detail: [PLATFORM_ENUM] }]);
    }
  });

  it("413 over 1 MB, 422 for malformed JSON or a non-object body, never a 5xx", async () => {
    const u = await t.newUser({ max_concurrent_bots: 5 });
    const big = await t.call("POST", "/bots", {
      key: u.key,
      body: JSON.stringify({ platform: "zoom", native_meeting_id: "x".repeat(1_100_000) }),
    });
    expect(big.status).toBe(413);
    expect(big.body).toEqual({ detail: "Request body too large" });
    const broken = await t.call("POST", "/bots", { key: u.key, body: '{"platform": "zoom", ' });
    expect(broken.status).toBe(422);
    expect(broken.body.detail[0]).toMatchObject({
      loc: ["body", expect.any(Number)],
      type: "value_error.jsondecode",
    });
    const array = await t.call("POST", "/bots", { key: u.key, body: "[1,2]" });
    expect(array.status).toBe(422);
    expect(array.body.detail[0]).toMatchObject({
      loc: ["body"],
      msg: "value is not a valid dict",
      type: "type_error.dict",
    });
    const wrongType = await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "zoom", native_meeting_id: 123 },
    });
    expect(wrongType.status).toBeLessThan(500);
    const form = await t.gateway.inject({
      method: "POST",
      url: "/bots",
      headers: { "x-api-key": u.key, "content-type": "application/x-www-form-urlencoded" },
      payload: JSON.stringify({ platform: "zoom", native_meeting_id: "123456789" }),
    });
    expect(form.statusCode, form.body).toBe(201);
  });

  it("PUT /user/webhook stores the URL in data, keeps other keys, and validates it", async () => {
    const u = await t.newUser();
    const res = await t.call("PUT", "/user/webhook", {
      key: u.key,
      body: { webhook_url: "https://hooks.example.com/a" },
    });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).slice(0, 7)).toEqual([
      "email",
      "name",
      "image_url",
      "max_concurrent_bots",
      "data",
      "id",
      "created_at",
    ]);
    expect(res.body.data).toEqual({ webhook_url: "https://hooks.example.com/a" });
    const bad = await t.call("PUT", "/user/webhook", { key: u.key, body: { webhook_url: "not a url" } });
    expect(bad.status).toBe(422);
    expect(bad.body.detail[0].loc).toEqual(["body", "webhook_url"]);
    const rotated = await t.call("POST", "/user/webhook/secret", { key: u.key });
    expect(rotated.body.webhook_secret).toMatch(/^whsec_/);
  });
});
