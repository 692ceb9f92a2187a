import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

describe("CORS on the gateway, wide open like Vexa's", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp("pglite");
  });
  afterAll(async () => t.close());

  it("answers a preflight for any origin, method and header", async () => {
    const res = await t.gateway.inject({
      method: "OPTIONS",
      url: "/bots",
      headers: {
        origin: "https://app.example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "x-api-key,content-type",
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["access-control-allow-origin"]).toBe("https://app.example.com");
    expect(res.headers["access-control-allow-credentials"]).toBe("true");
    expect(res.headers["access-control-allow-headers"]).toBe("x-api-key,content-type");
  });

  it("adds the allow-origin header to ordinary responses, errors included", async () => {
    const res = await t.gateway.inject({
      method: "GET",
      url: "/meetings",
      headers: { origin: "https://app.example.com" },
    });
    expect(res.statusCode).toBe(403);
    expect(res.headers["access-control-allow-origin"]).toBe("https://app.example.com");
  });
});
