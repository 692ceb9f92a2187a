/**
 * Bad input (issue 8 item 4): fast-check sends thousands of random requests — every route of the gateway and admin
 * apps (taken from their OpenAPI documents) plus garbage paths, with random methods, headers, query strings and
 * bodies (malformed JSON, huge numbers, unicode, deep nesting, wrong types, path traversal, null bytes). The
 * wholesaler stays up. Never a 5xx, never a crash, bounded memory, and every error body in Vexa's shape:
 * `{"detail": "<string>"}`, or for 422 `{"detail": [{"loc": [...], "msg": "...", "type": "..."}, ...]}`.
 * Issue 12 added the classes that still got through: lone UTF-16 surrogates (values and keys, also in bodies that
 * pass validation), dates outside PostgreSQL's range, `Infinity`/`1e400` ids and pages, and JSON nested past the
 * limit; a body carrying a lone surrogate, a NUL or too deep a nesting never succeeds on any route.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH } from "../../src/http/input.js";
import { ADMIN_TOKEN, startTestApp, type TestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const heapMb = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
};

const RUNS: Record<string, number> = { pglite: 3000, pg: 5000 };
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const;
type Method = (typeof METHODS)[number];

interface Template {
  app: "gateway" | "admin";
  method: Method;
  path: string;
}

interface Req {
  app: "gateway" | "admin";
  method: Method;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
  template: string | undefined;
}

/** Every documented operation of both apps, plus the undocumented ones (docs, OpenAPI itself). */
async function templates(t: TestApp): Promise<Template[]> {
  const out: Template[] = [];
  for (const [app, instance] of [
    ["gateway", t.gateway],
    ["admin", t.admin],
  ] as const) {
    await instance.ready();
    const doc = instance.swagger() as { paths: Record<string, Record<string, unknown>> };
    for (const [path, ops] of Object.entries(doc.paths)) {
      // An SSE stream answers for as long as the client stays (an injected request never completes); its edges
      // are test/http/ws.test.ts's.
      if (path.endsWith("/stream")) continue;
      for (const m of Object.keys(ops)) out.push({ app, method: m.toUpperCase() as Method, path });
    }
    out.push({ app, method: "GET", path: "/openapi.json" }, { app, method: "GET", path: "/docs/{rest}" });
  }
  return out;
}

const enc = (s: string) => {
  try {
    return encodeURIComponent(s);
  } catch {
    return encodeURIComponent(s.replace(/[\ud800-\udfff]/g, "?")); // a lone surrogate cannot be encoded
  }
};

const printable = fc.stringMatching(/^[\x20-\x7e]{0,80}$/);

/** Path segments: valid values, edge numbers, traversal, bad escapes, null bytes, unicode, long strings. */
function segment(known: string[]) {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...known) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        "google_meet",
        "zoom",
        "teams",
        "0",
        "-1",
        "2147483648",
        "99999999999999999999",
        "1e308",
        "1e400",
        "-1e400",
        "Infinity",
        "-Infinity",
        "NaN",
        "1.5",
        "..",
        "%2e%2e",
        "..%2f..%2fetc%2fpasswd",
        "%00",
        "a%00b",
        "%2F",
        "%",
        "%zz",
        "%E0%A4%A",
        "%C0%AF",
        "null",
        "'%20OR%201=1--",
        "%3Cscript%3E",
        "x".repeat(3000),
        enc("日本語-会議"),
        enc("😀".repeat(50)),
      ),
    },
    { weight: 2, arbitrary: fc.string({ maxLength: 40 }).map(enc) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 20 }).map(enc) },
    { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.bigInt(), fc.double()).map((n) => enc(String(n))) },
  );
}

/** Text that is not valid Unicode: lone surrogates, high or low, alone or inside other text, reversed pairs. */
const loneSurrogate = fc.oneof(
  fc.constantFrom("\ud800", "\udfff", "a\udc00b", "\ude00\ud83d", "😀\ud83d"),
  fc
    .tuple(fc.string({ maxLength: 6 }), fc.integer({ min: 0xd800, max: 0xdfff }), fc.string({ maxLength: 6 }))
    .map(([a, c, b]) => `${a}${String.fromCharCode(c)}${b.replace(/^[\udc00-\udfff]/, "")}`)
    .filter((x) => /\p{Cs}/u.test(x)),
);

/** Instants in and out of the range a PostgreSQL timestamp holds, in the formats /usage parses. */
const extremeDate = fc.oneof(
  fc.constantFrom(
    "0000-01-01",
    "0001-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "1970-01-01",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T10:00:00%2B14:00",
    "-271821-04-20",
    "%2B275760-09-13",
    "2025-02-30",
    "2024-02-29T24:00:00",
  ),
  fc
    .tuple(
      fc.integer({ min: 0, max: 9999 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 28 }),
      fc.constantFrom("", "T23:59:59", "T00:00:00Z", "T12:00:00-14:00", "T12:00:00%2B14:00"),
    )
    .map(
      ([y, m, d, tail]) =>
        `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}${tail}`,
    ),
);

/** A JSON object nested `levels` deep. */
const nested = (levels: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
};
const deepData = fc.integer({ min: MAX_JSON_DEPTH - 3, max: MAX_JSON_DEPTH + 40 }).map(nested);

/** A JSON value of the wrong type, or at an edge. */
const weird = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    "\u0000",
    "a\u0000b",
    "x".repeat(100_000),
    1e308,
    -1,
    2 ** 53 + 1,
    2147483648,
    "google_meet",
    "abc-defg-hij",
    "https://example.com/x",
    "http://127.0.0.1/x",
    "javascript:alert(1)",
    "a@b.c",
    "\ud800",
  ),
  loneSurrogate,
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

/** Objects with the keys the routes read, holding anything. */
const shaped = fc
  .record(
    {
      platform: weird,
      native_meeting_id: weird,
      bot_name: weird,
      language: weird,
      task: weird,
      webhook_url: weird,
      data: fc.oneof(
        weird,
        fc.record(
          { name: weird, notes: weird, participants: fc.oneof(weird, fc.array(weird)), languages: weird },
          { requiredKeys: [] },
        ),
      ),
      email: weird,
      name: weird,
      image_url: weird,
      max_concurrent_bots: weird,
      id: weird,
      meeting_id: weird,
      status: weird,
      event_id: weird,
    },
    { requiredKeys: [] },
  )
  .map((o) => JSON.stringify(o));

/** Bodies that pass validation, so the handlers (and the database) see the odd values too. */
const str = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constant("a\u0000b") },
  { weight: 1, arbitrary: loneSurrogate },
);
const validish = fc
  .oneof(
    fc.record(
      {
        platform: fc.constantFrom("google_meet", "zoom", "teams"),
        native_meeting_id: str,
        bot_name: fc.option(str),
        language: fc.option(str),
        task: fc.option(str),
      },
      { requiredKeys: ["platform", "native_meeting_id"] },
    ),
    fc.record({ language: fc.option(str), task: fc.option(str) }, { requiredKeys: [] }),
    fc.record({
      data: fc.record(
        {
          name: fc.option(str),
          notes: fc.option(str),
          participants: fc.option(fc.array(str, { maxLength: 3 })),
          languages: fc.option(fc.array(str, { maxLength: 3 })),
          [String.fromCharCode(0xdc00)]: fc.option(str),
          extra: fc.option(deepData),
        },
        { requiredKeys: [] },
      ),
    }),
    fc.record({ webhook_url: fc.webUrl({ withQueryParameters: true, withFragments: true }) }),
    fc.record(
      {
        email: fc.emailAddress(),
        name: fc.option(fc.string({ maxLength: 100 })),
        image_url: fc.option(str),
        max_concurrent_bots: fc.option(fc.integer({ min: 0, max: 1000 })),
        data: fc.option(
          fc.oneof(fc.dictionary(str, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }), deepData),
        ),
      },
      { requiredKeys: ["email"] },
    ),
  )
  .map((o) => JSON.stringify(o));

const body = fc.oneof(
  { weight: 3, arbitrary: validish },
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: shaped },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? "null") },
  { weight: 2, arbitrary: fc.string({ maxLength: 60 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "",
      "{",
      "[",
      '{"a":',
      "nul",
      "\u0000",
      "{}",
      "[]",
      "null",
      "1e999999",
      "-0",
      '"\\ud800"',
      '{"platform":"google_meet","native_meeting_id":"\\u0000"}',
      '{"platform":"teams","native_meeting_id":"a\\u0000b","bot_name":"\\u0000"}',
      '{"webhook_url":"http://exa\\u0000mple.com/"}',
      '{"email":"a\\u0000@b.co"}',
      '{"data":{"name":"\\u0000","notes":"x"}}',
      `${"[".repeat(5000)}${"]".repeat(5000)}`,
      `{"data":${'{"a":'.repeat(3000)}1${"}".repeat(3000)}}`,
      `{"max_concurrent_bots":${"9".repeat(400)}}`,
      '{"email":"inf@example.com","data":{"n":1e400,"m":-1e400}}',
      '{"data":{"name":"\\ud800"}}',
      '{"platform":"zoom","native_meeting_id":"\\udfff12345"}',
      '{"email":"s@example.com","data":{"\\ud800":1}}',
      '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}',
    ),
  },
);

function request(tpls: Template[], known: string[], keys: { user: string; other: string }) {
  const seg = segment(known);
  const fromTemplate = fc
    .tuple(fc.constantFrom(...tpls), fc.array(seg, { minLength: 4, maxLength: 4 }), fc.boolean())
    .map(([tpl, segs, keepMethod]) => {
      let i = 0;
      const path = tpl.path.replace(/\{[^}]+\}/g, () => segs[i++] ?? "x");
      return {
        app: tpl.app,
        path,
        method: keepMethod ? tpl.method : undefined,
        template: `${tpl.app} ${tpl.method} ${tpl.path}`,
      };
    });
  const garbage = fc
    .tuple(
      fc.constantFrom("gateway", "admin") as fc.Arbitrary<"gateway" | "admin">,
      fc.array(seg, { maxLength: 5 }),
      fc.constantFrom("", "/", "//"),
    )
    .map(([app, segs, tail]) => ({
      app,
      path: `/${segs.join("/")}${tail}`,
      method: undefined,
      template: undefined,
    }));
  const query = fc
    .array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom("skip", "limit", "user_id", "from", "to", "start", "end", "meeting_id", "x"),
          fc.string({ maxLength: 8 }).map(enc),
        ),
        fc.oneof({ weight: 3, arbitrary: seg }, { weight: 2, arbitrary: extremeDate }),
      ),
      { maxLength: 4 },
    )
    .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}` : ""));
  const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
  const headers = fc.record(
    {
      "x-api-key": opt(
        fc.oneof(
          { weight: 6, arbitrary: fc.constant(keys.user) },
          { weight: 1, arbitrary: fc.constant(keys.other) },
          { weight: 1, arbitrary: fc.constant(ADMIN_TOKEN) },
          { weight: 2, arbitrary: printable },
        ),
      ),
      "x-admin-api-key": opt(
        fc.oneof(
          { weight: 6, arbitrary: fc.constant(ADMIN_TOKEN) },
          { weight: 1, arbitrary: fc.constant(keys.user) },
          { weight: 2, arbitrary: printable },
        ),
      ),
      "content-type": opt(
        fc.oneof(
          fc.constantFrom(
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=latin1",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/octet-stream",
            "",
          ),
          printable,
        ),
      ),
      "x-request-id": opt(printable),
      accept: opt(fc.constantFrom("application/json", "text/html", "*/*", "application/xml", "")),
      authorization: opt(fc.oneof(printable, fc.constant("Bearer test-webhook-secret"))),
      "x-webhook-signature": opt(printable),
      "x-webhook-timestamp": opt(fc.oneof(printable, fc.constant(String(Math.floor(Date.now() / 1000))))),
      "webhook-id": opt(printable),
      "webhook-signature": opt(printable),
      "webhook-timestamp": opt(printable),
      origin: opt(fc.constantFrom("https://evil.example", "null")),
      "access-control-request-method": opt(fc.constantFrom(...METHODS)),
      "accept-encoding": opt(fc.constantFrom("gzip", "br", "identity", "*")),
    },
    { requiredKeys: [] },
  );
  return fc
    .record({
      target: fc.oneof({ weight: 5, arbitrary: fromTemplate }, { weight: 1, arbitrary: garbage }),
      method: fc.constantFrom(...METHODS),
      query,
      headers,
      body,
    })
    .map(({ target, method, query: q, headers: h, body: b }): Req => {
      const clean: Record<string, string> = {};
      for (const [k, v] of Object.entries(h)) if (v !== undefined) clean[k] = v;
      return {
        app: target.app,
        method: target.method ?? method,
        url: `${target.path}${q}`,
        headers: clean,
        body: b,
        template: target.method ? target.template : undefined,
      };
    });
}

/** A lone surrogate or NUL anywhere in a body (keys too), or nesting past the limit: such a body never succeeds. */
function unstorable(body: string | undefined): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? "");
  } catch {
    return false;
  }
  const bad = (v: unknown, depth: number): boolean => {
    if (typeof v === "string") return v.includes("\u0000") || /\p{Cs}/u.test(v);
    if (v === null || typeof v !== "object") return false;
    if (depth >= MAX_JSON_DEPTH) return true;
    return Object.entries(v).some(([k, x]) => (!Array.isArray(v) && bad(k, 0)) || bad(x, depth + 1));
  };
  return bad(parsed, 0);
}

/** Vexa's error shapes; null when the response is acceptable. */
function problem(
  req: Req,
  res: { statusCode: number; body: string; headers: Record<string, unknown> },
): string | null {
  if (res.statusCode >= 500) {
    // A deliberate "retry shortly" (the previous bot in that meeting is still leaving) is not a failure.
    const retry = res.statusCode === 503 && res.headers["retry-after"] !== undefined;
    if (!retry || !/still leaving/.test(res.body)) return `${res.statusCode}: ${res.body.slice(0, 300)}`;
  }
  if (res.statusCode < 300 && ["POST", "PUT", "PATCH", "DELETE"].includes(req.method) && unstorable(req.body))
    return `${res.statusCode} for an unstorable body: ${String(req.body).slice(0, 200)}`;
  if (req.method === "HEAD" || res.statusCode < 400) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body);
  } catch {
    return `error body is not JSON: ${res.body.slice(0, 200)}`;
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return "error body is not an object";
  const keys = Object.keys(parsed);
  if (keys.length !== 1 || keys[0] !== "detail")
    return `error body keys ${JSON.stringify(keys)}: ${res.body.slice(0, 200)}`;
  const detail = (parsed as { detail: unknown }).detail;
  if (res.statusCode === 422) {
    if (!Array.isArray(detail) || detail.length === 0)
      return `422 detail is not a list: ${res.body.slice(0, 200)}`;
    for (const item of detail) {
      const ok =
        item &&
        typeof item === "object" &&
        Array.isArray(item.loc) &&
        item.loc.every((l: unknown) => typeof l === "string" || typeof l === "number") &&
        typeof item.msg === "string" &&
        typeof item.type === "string";
      if (!ok) return `422 item not {loc, msg, type}: ${JSON.stringify(item).slice(0, 200)}`;
    }
    return null;
  }
  return typeof detail === "string" ? null : `detail is not a string: ${res.body.slice(0, 200)}`;
}

describe.each(await legs())("random bad input on %s", (leg) => {
  let t: TestApp;
  let known: string[];
  let keys: { user: string; other: string };
  let protectedTokens: Set<string>;

  beforeAll(async () => {
    t = await startTestApp(leg, { RATE_LIMIT_PER_SECOND: "0" }, { sandbox: { stopDelayMs: 50 } });
    const u = await t.newUser({ max_concurrent_bots: 3 });
    const other = await t.newUser();
    keys = { user: u.key, other: other.key };
    // Real data for the valid-looking requests to hit: a live meeting, a finished one, a webhook URL.
    await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "google_meet", native_meeting_id: "fuz-zliv-eee" },
    });
    await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "zoom", native_meeting_id: "1234567890" },
    });
    await t.call("DELETE", "/bots/zoom/1234567890", { key: u.key });
    await t.call("PUT", "/user/webhook", {
      key: u.key,
      body: { webhook_url: "https://hooks.example.com/x" },
    });
    const tokens = await t.deps.db.query<{ id: number }>("SELECT id FROM api_tokens");
    protectedTokens = new Set(tokens.rows.map((r) => String(r.id)));
    known = ["fuz-zliv-eee", "1234567890", String(u.id), String(other.id), enc(u.email)];
  }, 120_000);
  afterAll(async () => t?.close());

  it("the inputs the fuzzer first broke us with: NUL characters, malformed escapes, over-long segments", async () => {
    const cases: [string, string, unknown, number, unknown][] = [
      [
        "POST",
        "/bots",
        { platform: "google_meet", native_meeting_id: "\u0000" },
        422,
        ["body", "native_meeting_id"],
      ],
      [
        "POST",
        "/bots",
        { platform: "teams", native_meeting_id: "x", bot_name: "a\u0000" },
        422,
        ["body", "bot_name"],
      ],
      ["GET", "/transcripts/google_meet/a%00b", undefined, 422, ["path", "native_meeting_id"]],
      [
        "PATCH",
        "/meetings/google_meet/fuz-zliv-eee",
        { data: { notes: "\u0000" } },
        422,
        ["body", "data", "notes"],
      ],
      [
        "PATCH",
        "/meetings/google_meet/fuz-zliv-eee",
        { data: { participants: ["ok", "n\u0000"] } },
        422,
        ["body", "data", "participants", 1],
      ],
      ["PUT", "/bots/google_meet/fuz-zliv-eee/config", { language: "e\u0000n" }, 422, ["body", "language"]],
      ["GET", "/%zz", undefined, 400, "Invalid URL"],
      ["GET", "/meetings/%E0%A4%A", undefined, 400, "Invalid URL"],
      ["GET", `/transcripts/google_meet/${"x".repeat(3000)}`, undefined, 414, "Request-URI Too Long"],
    ];
    for (const [method, url, payload, status, where] of cases) {
      const res = await t.call(method, url, {
        key: keys.user,
        ...(payload === undefined ? {} : { body: payload }),
      });
      expect(res.status, `${method} ${url.slice(0, 60)}: ${res.raw.slice(0, 200)}`).toBe(status);
      if (status === 422)
        expect(res.body.detail[0]).toMatchObject({ loc: where, type: "value_error.str.nul" });
      else expect(res.body).toEqual({ detail: where });
    }
    const admin = await t.call("GET", "/admin/users/email/a%00b", { adminKey: ADMIN_TOKEN });
    expect(admin.status, admin.raw).toBe(422);
    const created = await t.call("POST", "/admin/users", {
      adminKey: ADMIN_TOKEN,
      body: { email: "nul@example.com", data: { "k\u0000": 1 } },
    });
    expect(created.status, created.raw).toBe(422);
    expect(created.body.detail[0].loc).toEqual(["body", "data", "k\u0000"]);
  });

  it(`never answers 5xx, keeps Vexa's error shapes and bounded memory (${RUNS[leg]} requests)`, async () => {
    const tpls = await templates(t);
    const hit = new Set<string>();
    const statuses: Record<number, number> = {};
    let sent = 0;
    let baseline = 0;
    const send = async (req: Req) => {
      // The fuzzed user's own tokens stay, or every later request would only test the 403.
      const m = /^\/admin\/tokens\/([^/?]+)/.exec(req.url);
      if (req.method === "DELETE" && m && [...protectedTokens].some((id) => (m[1] ?? "").includes(id)))
        return;
      let res: Awaited<ReturnType<TestApp["gateway"]["inject"]>>;
      try {
        res = await (req.app === "admin" ? t.admin : t.gateway).inject({
          method: req.method,
          url: req.url,
          headers: req.headers,
          ...(req.body === undefined ? {} : { payload: req.body }),
        });
      } catch (err) {
        // light-my-request refuses some inputs itself (e.g. an invalid header value): the client, not the server.
        if (err instanceof TypeError || (err as { code?: string }).code?.startsWith("ERR_")) return;
        throw err;
      }
      sent++;
      if (sent === 200) baseline = heapMb();
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      if (req.template && res.statusCode !== 403 && res.statusCode !== 401) hit.add(req.template);
      const p = problem(req, res);
      if (p) throw new Error(`${req.method} ${req.app}${req.url.slice(0, 200)} → ${p}`);
    };
    const started = performance.now();
    await fc.assert(fc.asyncProperty(request(tpls, known, keys), send), {
      numRuns: RUNS[leg] ?? 1000,
      endOnFailure: true,
    });
    const seconds = (performance.now() - started) / 1000;
    const growth = heapMb() - baseline;
    // Every documented operation was reached past authentication at least once.
    const missing = tpls.map((x) => `${x.app} ${x.method} ${x.path}`).filter((x) => !hit.has(x));
    expect(missing).toEqual([]);
    expect(growth, "heap growth over the run (MB)").toBeLessThan(64);
    // Still healthy afterwards.
    expect((await t.call("GET", "/health")).status).toBe(200);
    expect((await t.call("GET", "/meetings", { key: keys.user })).status).toBe(200);
    console.log(
      `[fuzz] ${leg}: ${sent} requests in ${seconds.toFixed(1)} s; heap +${growth.toFixed(1)} MB; statuses ${JSON.stringify(statuses)}`,
    );
  }, 240_000);
});
