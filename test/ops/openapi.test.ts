import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, buildApp } from "../../src/http/app.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

type Op = {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, unknown>[];
  parameters?: unknown[];
  requestBody?: unknown;
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
};

// Operations that still lack an example anywhere (parameters, body or 2xx answer); their route owners should add
// one. The test fails when a new route joins this list, and when one listed here gains an example.
const KNOWN_WITHOUT_EXAMPLES: string[] = [];

describe("OpenAPI document", () => {
  let t: TestApp;
  const routes: Record<string, string[]> = { gateway: [], admin: [] };
  const docs: Record<
    string,
    { info: { version: string }; paths: Record<string, Record<string, Op>>; components: any }
  > = {};
  beforeAll(async () => {
    t = await startTestApp("pglite");
    for (const kind of ["gateway", "admin"] as const) {
      // Records every route as it is registered, to compare with what the document shows.
      const collect = (app: App) =>
        app.addHook("onRoute", (r) => {
          const hidden = (r.schema as { hide?: boolean } | undefined)?.hide;
          if (hidden || r.url.startsWith("/docs")) return;
          for (const m of [r.method].flat())
            if (m !== "HEAD") routes[kind]!.push(`${m} ${r.url.replace(/:(\w+)/g, "{$1}")}`);
        });
      const app = await buildApp(kind, { ...t.deps, hooks: [...(t.deps.hooks ?? []), collect] });
      await app.ready();
      docs[kind] = (await app.inject({ url: "/openapi.json" })).json();
      await app.close();
    }
  });
  afterAll(async () => t.close());

  const operations = (kind: string) =>
    Object.entries(docs[kind]!.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ id: `${method.toUpperCase()} ${path}`, op })),
    );

  it("covers every registered route on both ports", () => {
    for (const kind of ["gateway", "admin"]) {
      const documented = operations(kind).map((o) => o.id);
      expect(routes[kind]!.length).toBeGreaterThan(10);
      expect(
        routes[kind]!.filter((r) => !documented.includes(r)),
        kind,
      ).toEqual([]);
    }
    expect(routes.gateway).toEqual(
      expect.arrayContaining(["GET /usage", "GET /admin/usage", "GET /ready", "GET /metrics"]),
    );
  });

  it("declares both auth schemes, and every secured operation names one of them", () => {
    for (const kind of ["gateway", "admin"]) {
      expect(docs[kind]!.components.securitySchemes).toEqual({
        ApiKeyAuth: { type: "apiKey", in: "header", name: "X-API-Key" },
        AdminApiKeyAuth: { type: "apiKey", in: "header", name: "X-Admin-API-Key" },
      });
      for (const { id, op } of operations(kind)) {
        for (const s of op.security ?? [])
          expect(Object.keys(s), id).toEqual([expect.stringMatching(/^(ApiKeyAuth|AdminApiKeyAuth)$/)]);
        const path = id.split(" ")[1] ?? "";
        if (path.startsWith("/admin/")) expect(op.security, id).toEqual([{ AdminApiKeyAuth: [] }]);
        if (/^\/(bots|meetings|transcripts|user|usage)\b/.test(path))
          expect(op.security, id).toEqual([{ ApiKeyAuth: [] }]);
      }
    }
  });

  it("gives every operation a summary, a tag and a response schema for its success status", () => {
    for (const kind of ["gateway", "admin"]) {
      for (const { id, op } of operations(kind)) {
        expect(op.summary, `${kind} ${id}: summary`).toMatch(/\w{3}/);
        expect(op.tags?.length, `${kind} ${id}: tags`).toBeGreaterThan(0);
        const ok = Object.entries(op.responses ?? {}).filter(([code]) => /^2/.test(code));
        expect(ok.length, `${kind} ${id}: a 2xx response`).toBeGreaterThan(0);
        for (const [code, r] of ok) {
          if (code === "204") continue;
          const schemas = Object.values(r.content ?? {}).map((c) => c.schema);
          expect(schemas.length > 0 && schemas.every(Boolean), `${kind} ${id}: ${code} schema`).toBe(true);
        }
        if (op.security?.length) {
          expect(Object.keys(op.responses ?? {}), `${kind} ${id}: documents the auth failure`).toContain(
            "403",
          );
        }
      }
    }
  });

  it("names every operation (unique operationIds, Vexa's handler names) and describes every response", () => {
    const version = JSON.parse(readFileSync("package.json", "utf8")).version;
    for (const kind of ["gateway", "admin"]) {
      expect(docs[kind]!.info.version).toBe(version);
      const ids = operations(kind).map(({ op }) => op.operationId);
      expect(ids.filter((id) => !/^[a-z][A-Za-z0-9]+$/.test(id ?? ""))).toEqual([]);
      expect(new Set(ids).size).toBe(ids.length);
      for (const { id, op } of operations(kind)) {
        for (const [code, r] of Object.entries(op.responses ?? {}))
          expect(r.description, `${kind} ${id} ${code}`).toMatch(/^(?!Default Response$)\w/);
      }
    }
    const gateway = Object.fromEntries(operations("gateway").map(({ id, op }) => [id, op.operationId]));
    expect(gateway["POST /bots"]).toBe("requestBot");
    expect(gateway["GET /transcripts/{platform}/{native_meeting_id}"]).toBe("getTranscript");
  });

  it("shows examples (parameters, body or answer) on every operation but the known few", () => {
    const without: string[] = [];
    for (const kind of ["gateway", "admin"]) {
      for (const { id, op } of operations(kind)) {
        const ok = Object.entries(op.responses ?? {}).filter(([code]) => /^2/.test(code));
        const text = JSON.stringify([op.parameters ?? [], op.requestBody ?? null, ok]);
        if (!/"examples?"/.test(text)) without.push(`${kind} ${id}`);
      }
    }
    expect(without).toEqual(KNOWN_WITHOUT_EXAMPLES);
  });

  it("serves the docs UI and the document it loads", async () => {
    const ui = await t.call("GET", "/docs/");
    expect(ui.status).toBe(200);
    expect(ui.headers["content-type"]).toMatch(/text\/html/);
    const json = await t.call("GET", "/docs/json");
    expect(json.status).toBe(200);
    expect(Object.keys(json.body.paths)).toEqual(Object.keys(docs.gateway!.paths));
  });
});
