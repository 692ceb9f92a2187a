import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { ADMIN_TOKEN, startTestApp, type TestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";

const TRUSTED = "https://console.example.com";
const STRANGER = "https://evil.example";

describe.each(await legs())(
  "CORS on %s: any origin reads the user API, only CORS_ORIGINS get credentials",
  (leg) => {
    let t: TestApp;
    let key: string;
    beforeAll(async () => {
      t = await startTestApp(leg, { CORS_ORIGINS: `${TRUSTED}/, http://localhost:5173` });
      key = (await t.newUser()).key;
    }, 120_000);
    afterAll(async () => t?.close());

    const preflight = (app: "gateway" | "admin", url: string, origin: string) =>
      t[app].inject({
        method: "OPTIONS",
        url,
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "x-api-key,content-type",
        },
      });

    it("a browser on any origin can call the user API with X-API-Key, without credentials", async () => {
      const pre = await preflight("gateway", "/bots", STRANGER);
      expect(pre.statusCode).toBe(200);
      expect(pre.headers).toMatchObject({
        "access-control-allow-origin": "*",
        "access-control-allow-headers": "x-api-key,content-type",
        "access-control-allow-methods": "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT",
      });
      expect(pre.headers["access-control-allow-credentials"]).toBeUndefined();
      const res = await t.call("GET", "/meetings", { key, headers: { origin: STRANGER } });
      expect(res.status, res.raw).toBe(200);
      expect(res.headers["access-control-allow-origin"]).toBe("*");
      expect(res.headers["access-control-allow-credentials"]).toBeUndefined();
      expect(res.headers.vary).toBe("Origin");
      // Errors carry the header too, so the page can read the detail.
      const denied = await t.call("GET", "/meetings", { headers: { origin: "null" } });
      expect(denied.status).toBe(403);
      expect(denied.headers["access-control-allow-origin"]).toBe("*");
    });

    it("an origin listed in CORS_ORIGINS is reflected with credentials (case-insensitively)", async () => {
      for (const origin of [TRUSTED, "HTTPS://Console.Example.com", "http://localhost:5173"]) {
        const pre = await preflight("gateway", "/bots", origin);
        expect(pre.statusCode).toBe(200);
        expect(pre.headers["access-control-allow-origin"]).toBe(origin);
        expect(pre.headers["access-control-allow-credentials"]).toBe("true");
        const res = await t.call("GET", "/meetings", { key, headers: { origin } });
        expect(res.headers["access-control-allow-origin"]).toBe(origin);
        expect(res.headers["access-control-allow-credentials"]).toBe("true");
      }
      // A listed host on another scheme or port is another origin.
      const other = await t.call("GET", "/meetings", {
        key,
        headers: { origin: "http://console.example.com" },
      });
      expect(other.headers["access-control-allow-origin"]).toBe("*");
      expect(other.headers["access-control-allow-credentials"]).toBeUndefined();
    });

    it("the admin API (its port, and /admin on the gateway) answers only listed origins", async () => {
      for (const app of ["admin", "gateway"] as const) {
        const pre = await preflight(app, "/admin/users", STRANGER);
        expect(pre.headers["access-control-allow-origin"], app).toBeUndefined();
        expect(pre.headers["access-control-allow-credentials"], app).toBeUndefined();
        const res = await t.call("GET", "/admin/users", {
          app,
          adminKey: ADMIN_TOKEN,
          headers: { origin: STRANGER },
        });
        expect(res.status).toBe(200);
        expect(res.headers["access-control-allow-origin"], app).toBeUndefined();
        const trusted = await preflight(app, "/admin/users", TRUSTED);
        expect(trusted.statusCode).toBe(200);
        expect(trusted.headers["access-control-allow-origin"]).toBe(TRUSTED);
        expect(trusted.headers["access-control-allow-credentials"]).toBe("true");
      }
      const root = await t.call("GET", "/", { app: "admin", headers: { origin: STRANGER } });
      expect(root.headers["access-control-allow-origin"]).toBeUndefined();
    });

    it("no Origin, no CORS headers", async () => {
      const res = await t.call("GET", "/meetings", { key });
      expect(res.headers["access-control-allow-origin"]).toBeUndefined();
      expect(res.headers.vary).toBeUndefined();
    });
  },
);

describe("CORS_ORIGINS configuration", () => {
  it("defaults to none: nobody gets credentials", () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
  });

  it("refuses wildcards, paths and bare hosts, naming the variable", () => {
    for (const bad of ["*", "https://a.example/app", "a.example", "https://a.example,*"]) {
      expect(() => loadConfig({ CORS_ORIGINS: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ CORS_ORIGINS: bad })).toThrow(/CORS_ORIGINS/);
    }
  });
});
