import { fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, buildApp } from "../../src/http/app.js";
import { createLogger, stdoutInBatches } from "../../src/observability/logger.js";
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
    // One line per request, written when it is answered.
    expect(mine.map((l) => l.msg)).toEqual(["request"]);
    expect(mine[0]).toMatchObject({
      level: 30,
      service: "vexa-retailer",
      method: "GET",
      url: "/meetings",
      route: "/meetings",
      status: 403,
    });
    expect(mine[0]!.ms).toBeGreaterThanOrEqual(0);
    expect(mine[0]!.time).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it("writes nothing for health probes and metrics scrapes", async () => {
    const before = lines.length;
    for (const url of ["/health", "/ready", "/metrics"]) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBeLessThan(500);
    }
    expect(lines.slice(before)).toEqual([]);
  });

  it("keeps a caller's well-formed x-request-id, and replaces a malformed one", async () => {
    const given = await app.inject({ url: "/", headers: { "x-request-id": "trace-abc.123" } });
    expect(given.headers["x-request-id"]).toBe("trace-abc.123");
    expect(lines.some((l) => l.reqId === "trace-abc.123")).toBe(true);
    const bad = await app.inject({ url: "/", headers: { "x-request-id": "<script>" } });
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
    logger.info({
      headers: { authorization: "Bearer hdr-secret" },
      res: { headers: { "set-cookie": "ck-secret" } },
    });
    logger.info({ route: "/bots" }, "no secrets");
    const text = lines.map((l) => JSON.stringify(l)).join("\n");
    expect(text).toContain('"route":"/bots"');
    for (const secret of [key, "admin-secret-xyz", "abc-secret", "pw-secret", "hdr-secret", "ck-secret"])
      expect(text).not.toContain(secret);
    expect(text).toContain("<redacted>");
  });
});

describe("LOG_FORMAT=pretty", () => {
  it("writes one readable line per entry, secrets still censored", () => {
    let text = "";
    const stream = new Writable({
      write(chunk, _enc, done) {
        text += String(chunk);
        done();
      },
    });
    const logger = createLogger("info", stream, "pretty");
    logger.info({ route: "/bots", apiKey: "secret-key-123" }, "request");
    expect(text).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: request\n/);
    expect(text).toContain('route: "/bots"');
    expect(text).not.toContain("secret-key-123");
    expect(text).toContain("<redacted>");
    expect(() => JSON.parse(text.split("\n")[0] ?? "")).toThrow();
  });
});

describe("the JSON log destination", () => {
  it("holds at most one 4 KB batch: lines logged faster than writes complete are not piled up in memory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "retailer-log-"));
    const fd = openSync(join(dir, "out.log"), "w");
    const dest = stdoutInBatches(fd);
    const logger = createLogger("info", dest);
    const line = { route: "/transcripts/google_meet/abc-defg-hij", status: 200, pad: "x".repeat(300) };
    // A burst that never yields to the event loop, as a saturated server logs: asynchronous writes would leave
    // all but the first batch in memory until the loop turned.
    for (let i = 0; i < 2000; i++) logger.info(line, "request");
    const written = fstatSync(fd).size;
    const logged = 2000 * (JSON.stringify(line).length + 100);
    expect(written).toBeGreaterThan(logged * 0.9 - 8192);
    const sonic = dest as unknown as { flushSync(): void; destroy(): void };
    sonic.flushSync();
    // Closes the file (and stops the periodic flush).
    sonic.destroy();
    const lines = readFileSync(join(dir, "out.log"), "utf8").trim().split("\n");
    expect(lines).toHaveLength(2000);
    expect(JSON.parse(lines[1999] ?? "")).toMatchObject({ msg: "request", status: 200 });
    rmSync(dir, { recursive: true });
  });
});
