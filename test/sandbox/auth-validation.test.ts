import { describe, expect, it } from "vitest";
import { startSandbox } from "./helpers.js";

const PLATFORM_ENUM = {
  msg: "value is not a valid enumeration member; permitted: 'google_meet', 'zoom', 'teams'",
  type: "type_error.enum",
  ctx: { enum_values: ["google_meet", "zoom", "teams"] },
};

describe("sandbox auth (baseline §2.1)", () => {
  const routes: [string, string, unknown, string, string, number, string][] = [
    [
      "POST",
      "/bots",
      { platform: "google_meet", native_meeting_id: "x" },
      "Missing API token (X-API-Key header)",
      "Invalid API token",
      403,
      "bots",
    ],
    [
      "DELETE",
      "/bots/google_meet/x",
      undefined,
      "Missing API token (X-API-Key header)",
      "Invalid API token",
      403,
      "bots",
    ],
    [
      "PUT",
      "/bots/google_meet/x/config",
      {},
      "Missing API token (X-API-Key header)",
      "Invalid API token",
      403,
      "bots",
    ],
    [
      "GET",
      "/bots/status",
      undefined,
      "Missing API token (X-API-Key header)",
      "Invalid API token",
      403,
      "bots",
    ],
    ["GET", "/meetings", undefined, "Missing API token", "Invalid API token", 403, "collector"],
    [
      "GET",
      "/transcripts/google_meet/x",
      undefined,
      "Missing API token",
      "Invalid API token",
      403,
      "collector",
    ],
    [
      "PATCH",
      "/meetings/google_meet/x",
      { data: { name: "n" } },
      "Missing API token",
      "Invalid API token",
      403,
      "collector",
    ],
    [
      "DELETE",
      "/meetings/google_meet/x",
      undefined,
      "Missing API token",
      "Invalid API token",
      403,
      "collector",
    ],
    [
      "PUT",
      "/user/webhook",
      { webhook_url: "https://example.com/h" },
      "Missing API Key",
      "Invalid API Key",
      401,
      "admin",
    ],
  ];

  it.each(routes)(
    "%s %s: missing and wrong key",
    async (method, path, body, missingMsg, invalidMsg, missingStatus) => {
      const h = await startSandbox();
      const missing = await h.api(method, path, { body, key: null });
      expect(missing.status, missing.text).toBe(missingStatus);
      expect(missing.body).toEqual({ detail: missingMsg });
      const wrong = await h.api(method, path, { body, key: "not-the-key" });
      expect(wrong.status, wrong.text).toBe(403);
      expect(wrong.body).toEqual({ detail: invalidMsg });
      const empty = await h.api(method, path, { body, key: "" });
      expect(empty.status).toBe(missingStatus);
    },
  );

  it("GET / answers without a key", async () => {
    const h = await startSandbox();
    const res = await h.api("GET", "/", { key: null });
    expect(res.status).toBe(200);
    expect(res.text).toBe('{"message":"Welcome to the Vexa API Gateway"}');
  });

  it("the control API needs the same key", async () => {
    const h = await startSandbox();
    expect((await h.api("GET", "/_sandbox/calls", { key: null })).status).toBe(403);
    expect((await h.api("GET", "/_sandbox/calls", { key: "nope" })).body).toEqual({
      detail: "Invalid API token",
    });
    expect((await h.api("GET", "/_sandbox/calls")).status).toBe(200);
  });

  it("unknown paths are FastAPI's 404", async () => {
    const h = await startSandbox();
    const res = await h.api("GET", "/nope");
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ detail: "Not Found" });
  });
});

describe("sandbox validation (baseline §2.2, pydantic v1 shapes)", () => {
  it("a bad platform in the path is the gateway's 422, even before auth", async () => {
    const h = await startSandbox();
    for (const [method, path] of [
      ["DELETE", "/bots/skype/x"],
      ["GET", "/transcripts/skype/x"],
      ["PATCH", "/meetings/skype/x"],
    ] as const) {
      const res = await h.api(method, path, { key: null });
      expect(res.status, `${method} ${path}`).toBe(422);
      expect(res.body).toEqual({ detail: [{ loc: ["path", "platform"], ...PLATFORM_ENUM }] });
    }
  });

  it("POST /bots: enum, missing and type errors in field order", async () => {
    const h = await startSandbox();
    const bad = await h.api("POST", "/bots", { body: { platform: "skype", bot_name: ["x"] } });
    expect(bad.status).toBe(422);
    expect(bad.body).toEqual({
      detail: [
        { loc: ["body", "platform"], ...PLATFORM_ENUM },
        { loc: ["body", "native_meeting_id"], msg: "field required", type: "value_error.missing" },
        { loc: ["body", "bot_name"], msg: "str type expected", type: "type_error.str" },
      ],
    });
    expect(JSON.stringify(bad.body.detail[0])).toBe(
      '{"loc":["body","platform"],"msg":"value is not a valid enumeration member; permitted: \'google_meet\', \'zoom\', \'teams\'","type":"type_error.enum","ctx":{"enum_values":["google_meet","zoom","teams"]}}',
    );
    const noBody = await h.api("POST", "/bots");
    expect(noBody.body).toEqual({
      detail: [{ loc: ["body"], msg: "field required", type: "value_error.missing" }],
    });
    const list = await h.api("POST", "/bots", { body: [1] });
    expect(list.body).toEqual({
      detail: [{ loc: ["body"], msg: "value is not a valid dict", type: "type_error.dict" }],
    });
    const notJson = await h.api("POST", "/bots", { raw: "{nope" });
    expect(notJson.status).toBe(422);
    expect(notJson.body.detail[0].type).toBe("value_error.jsondecode");
  });

  it("POST /bots coerces a numeric native id to a string, as pydantic v1 does", async () => {
    const h = await startSandbox();
    const res = await h.api("POST", "/bots", { body: { platform: "zoom", native_meeting_id: 1234567890 } });
    expect(res.status, res.text).toBe(201);
    expect(res.body.native_meeting_id).toBe("1234567890");
    expect(res.body.constructed_meeting_url).toBe("https://*.zoom.us/j/1234567890");
  });

  it("PUT /user/webhook: URL checks", async () => {
    const h = await startSandbox();
    const loc = ["body", "webhook_url"];
    expect((await h.api("PUT", "/user/webhook", { body: {} })).body).toEqual({
      detail: [{ loc, msg: "field required", type: "value_error.missing" }],
    });
    expect((await h.api("PUT", "/user/webhook", { body: { webhook_url: "not a url" } })).body).toEqual({
      detail: [{ loc, msg: "invalid or missing URL scheme", type: "value_error.url.scheme" }],
    });
    expect(
      (await h.api("PUT", "/user/webhook", { body: { webhook_url: "ftp://x.org" } })).body.detail[0].msg,
    ).toBe("URL scheme not permitted");
  });

  it("PATCH /meetings: data is required and typed", async () => {
    const h = await startSandbox();
    await h.bot();
    const missing = await h.api("PATCH", "/meetings/google_meet/abc-defg-hij", { body: {} });
    expect(missing.body).toEqual({
      detail: [{ loc: ["body", "data"], msg: "field required", type: "value_error.missing" }],
    });
    const badList = await h.api("PATCH", "/meetings/google_meet/abc-defg-hij", {
      body: { data: { participants: "x" } },
    });
    expect(badList.body).toEqual({
      detail: [
        { loc: ["body", "data", "participants"], msg: "value is not a valid list", type: "type_error.list" },
      ],
    });
  });
});
