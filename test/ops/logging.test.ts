import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, buildApp } from "../../src/http/app.js";
import { createLogger } from "../../src/observability/logger.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

function memoryLogger() {
  const lines: Record<string, any>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { logger: createLogger("info", stream), lines };
}

describe("structured logs", () => {
  let t: TestApp;
  let app: App;
  const { logger, lines } = memoryLogger();
  beforeAll(async () => {
    t = await startTestApp("pglite");
    app = await buildApp("gateway", t.deps, { logger });
  });
  afterAll(async () => {
    await app.close();
    await t.close();
  });

  it("writes JSON lines carrying the request id that the response returns in x-request-id", async () => {
    const res = await app.inject({ url: "/meetings", headers: { "x-api-key": "k".repeat(40) } });
    const id = res.headers["x-request-id"];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const mine = lines.filter((l) => l.reqId === id);
    expect(mine.map((l) => l.msg)).toEqual(["incoming request", "request completed"]);
    expect(mine[1]).toMatchObject({ level: 30, service: "vexa-retailer", res: { statusCode: 403 } });
    expect(mine[0]!.time).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it("keeps a caller's well-formed x-request-id, and replaces a malformed one", async () => {
    const given = await app.inject({ url: "/health", headers: { "x-request-id": "trace-abc.123" } });
    expect(given.headers["x-request-id"]).toBe("trace-abc.123");
    expect(lines.some((l) => l.reqId === "trace-abc.123")).toBe(true);
    const bad = await app.inject({ url: "/health", headers: { "x-request-id": "<script>" } });
    expect(bad.headers["x-request-id"]).not.toBe("<script>");
  });

  it("never writes API keys, admin tokens or configured secrets", async () => {
    const key = "secretkey-".repeat(4);
    await app.inject({
      url: "/meetings",
      headers: { "x-api-key": key, "x-admin-api-key": "admin-secret-xyz" },
    });
    logger.info({ req: { headers: { "x-api-key": key, authorization: "Bearer abc-secret" } } }, "headers");
    logger.info({ apiKey: key, wholesaler: { apiKey: key }, VEXA_INFRA_API_KEY: key, token: key }, "config");
    logger.warn(
      { user: { webhook_secret: key }, ADMIN_API_TOKEN: "admin-secret-xyz", DB_PASSWORD: "pw-secret" },
      "more",
    );
    const text = lines.map((l) => JSON.stringify(l)).join("\n");
    for (const secret of [key, "admin-secret-xyz", "abc-secret", "pw-secret"])
      expect(text).not.toContain(secret);
    expect(text).toContain("<redacted>");
  });
});
