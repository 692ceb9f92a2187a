/**
 * Guessing keys is throttled per client address (issue 12 item 3): wrong user keys and wrong admin keys, on the
 * gateway (which serves /admin too) and the admin port, spend the address's failure budget; once it is spent every
 * request from there presenting a key gets 429 with Retry-After and Vexa's `{"detail"}`, the right key included.
 * X-Forwarded-For counts only from TRUSTED_PROXIES; with Redis the budget is shared by every instance.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/http/app.js";
import { clientBucket } from "../../src/cache/rate-limiter.js";
import { ADMIN_TOKEN, startTestApp, type TestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";
import { REDIS_URL, redisAnswers } from "../helpers/services.js";

const THROTTLE = { AUTH_FAILURES_PER_MINUTE: "6", AUTH_FAILURE_BURST: "3", RATE_LIMIT_PER_SECOND: "0" };

let ipSeq = 0;
/** A fresh client address per test, so budgets never leak between tests. */
const newIp = () => `198.51.100.${++ipSeq}`;
const randomKey = () => randomBytes(20).toString("hex");

async function hit(
  app: App,
  ip: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: any; retryAfter: unknown }> {
  const res = await app.inject({ method: "GET", url: path, headers, remoteAddress: ip });
  return { status: res.statusCode, body: res.json(), retryAfter: res.headers["retry-after"] };
}

describe.each(await legs())("failed-authentication throttle on %s", (leg) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(leg, THROTTLE);
  });
  afterAll(async () => t?.close());

  it("random wrong user keys share one budget per address, then 429 with Retry-After, the right key too", async () => {
    const ip = newIp();
    const u = await t.newUser();
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await hit(t.gateway, ip, "/meetings", { "x-api-key": randomKey() })).status);
    expect(statuses).toEqual([403, 403, 403]);
    const limited = await hit(t.gateway, ip, "/meetings", { "x-api-key": randomKey() });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({
      detail: expect.stringMatching(/^Too many failed authentication attempts/),
    });
    expect(Number(limited.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(limited.retryAfter)).toBeLessThanOrEqual(10);
    // A correct guess cannot be told apart while the budget is spent.
    expect((await hit(t.gateway, ip, "/meetings", { "x-api-key": u.key })).status).toBe(429);
    // Another address is unaffected; a request without a key is not a guess and is answered as before.
    expect((await hit(t.gateway, newIp(), "/meetings", { "x-api-key": u.key })).status).toBe(200);
    expect((await hit(t.gateway, ip, "/meetings", {})).status).toBe(403);
  });

  it("wrong keys sent as Authorization: Bearer spend the same budget as X-API-Key guesses", async () => {
    const ip = newIp();
    const u = await t.newUser();
    const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
    expect((await hit(t.gateway, ip, "/meetings", { "x-api-key": randomKey() })).status).toBe(403);
    expect((await hit(t.gateway, ip, "/meetings", bearer(randomKey()))).status).toBe(403);
    expect((await hit(t.gateway, ip, "/meetings/1", bearer(randomKey()))).status).toBe(403);
    // Spent: the right key is refused either way, before it is looked at.
    expect((await hit(t.gateway, ip, "/meetings", bearer(u.key))).status).toBe(429);
    expect((await hit(t.gateway, ip, "/meetings", { "x-api-key": u.key })).status).toBe(429);
    // Bearer alone spends it too, from a fresh address.
    const other = newIp();
    for (let i = 0; i < 3; i++)
      expect((await hit(t.gateway, other, "/transcripts/by-id/1", bearer(randomKey()))).status).toBe(403);
    expect((await hit(t.gateway, other, "/meetings", { "x-api-key": u.key })).status).toBe(429);
    expect((await hit(t.gateway, newIp(), "/meetings", bearer(u.key))).status).toBe(200);
  });

  it("wrong admin keys are throttled on the gateway's /admin and on the admin port, one budget per address", async () => {
    const ip = newIp();
    const wrong = { "x-admin-api-key": "x".repeat(40) };
    expect((await hit(t.gateway, ip, "/admin/users", wrong)).status).toBe(403);
    expect((await hit(t.admin, ip, "/admin/users", wrong)).status).toBe(403);
    expect((await hit(t.admin, ip, "/admin/stats/meetings-users", wrong)).status).toBe(403);
    for (const app of [t.gateway, t.admin]) {
      const res = await hit(app, ip, "/admin/users", { "x-admin-api-key": ADMIN_TOKEN });
      expect(res.status).toBe(429);
      expect(Number(res.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    expect((await hit(t.admin, newIp(), "/admin/users", { "x-admin-api-key": ADMIN_TOKEN })).status).toBe(
      200,
    );
  });

  it("successful requests spend nothing; probes and docs are never throttled", async () => {
    const ip = newIp();
    const u = await t.newUser();
    for (let i = 0; i < 10; i++)
      expect((await hit(t.gateway, ip, "/meetings", { "x-api-key": u.key })).status).toBe(200);
    for (let i = 0; i < 3; i++) await hit(t.gateway, ip, "/meetings", { "x-api-key": randomKey() });
    for (const path of ["/health", "/ready", "/openapi.json"])
      expect((await hit(t.gateway, ip, path, { "x-api-key": randomKey() })).status, path).toBe(200);
  });

  it("ignores X-Forwarded-For from an untrusted peer (a spoofed header buys no fresh budget)", async () => {
    const ip = newIp();
    for (let i = 0; i < 3; i++)
      await hit(t.gateway, ip, "/meetings", { "x-api-key": randomKey(), "x-forwarded-for": newIp() });
    const res = await hit(t.gateway, ip, "/meetings", {
      "x-api-key": randomKey(),
      "x-forwarded-for": newIp(),
    });
    expect(res.status).toBe(429);
  });
});

describe("client addresses", () => {
  it("get one budget per IPv4 address and per IPv6 /64 (IPv4-mapped counts as IPv4)", () => {
    expect(clientBucket("203.0.113.5")).toBe("203.0.113.5");
    expect(clientBucket("::ffff:203.0.113.5")).toBe("203.0.113.5");
    expect(clientBucket("2001:db8:1:2::1")).toBe(clientBucket("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    expect(clientBucket("2001:db8:1:2::1")).not.toBe(clientBucket("2001:db8:1:3::1"));
  });
});

describe("behind a trusted proxy", () => {
  it("limits each forwarded client separately, and the proxy itself never", async () => {
    const t = await startTestApp("pglite", { ...THROTTLE, TRUSTED_PROXIES: "127.0.0.1" });
    try {
      const proxy = "127.0.0.1";
      const a = newIp();
      for (let i = 0; i < 3; i++)
        await hit(t.gateway, proxy, "/meetings", { "x-api-key": randomKey(), "x-forwarded-for": a });
      expect(
        (await hit(t.gateway, proxy, "/meetings", { "x-api-key": randomKey(), "x-forwarded-for": a })).status,
      ).toBe(429);
      const u = await t.newUser();
      const other = await hit(t.gateway, proxy, "/meetings", {
        "x-api-key": u.key,
        "x-forwarded-for": newIp(),
      });
      expect(other.status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe("AUTH_FAILURES_PER_MINUTE=0", () => {
  it("turns the throttle off", async () => {
    const t = await startTestApp("pglite", { ...THROTTLE, AUTH_FAILURES_PER_MINUTE: "0" });
    try {
      const ip = newIp();
      for (let i = 0; i < 10; i++)
        expect((await hit(t.gateway, ip, "/meetings", { "x-api-key": randomKey() })).status).toBe(403);
    } finally {
      await t.close();
    }
  });
});

describe.skipIf(!(await redisAnswers()))("shared through Redis", () => {
  it("failures on one instance spend the budget on the other", async () => {
    const env = { ...THROTTLE, REDIS_URL };
    const a = await startTestApp("pglite", env);
    const b = await startTestApp("pglite", env);
    try {
      const ip = newIp();
      const wrong = { "x-admin-api-key": "y".repeat(40) };
      expect((await hit(a.admin, ip, "/admin/users", wrong)).status).toBe(403);
      expect((await hit(b.admin, ip, "/admin/users", wrong)).status).toBe(403);
      expect((await hit(a.gateway, ip, "/meetings", { "x-api-key": randomKey() })).status).toBe(403);
      expect((await hit(b.gateway, ip, "/meetings", { "x-api-key": randomKey() })).status).toBe(429);
      expect((await hit(a.admin, ip, "/admin/users", { "x-admin-api-key": ADMIN_TOKEN })).status).toBe(429);
    } finally {
      await a.close();
      await b.close();
    }
    // Two app starts: timed out at 30 s on a loaded machine.
  }, 60_000);
});
