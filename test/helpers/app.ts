import { expect } from "vitest";
import { type Clock, systemClock } from "../../src/clock.js";
import { loadConfig } from "../../src/config.js";
import { createDeps, type Deps, type DepsOptions } from "../../src/deps.js";
import { type App, buildApp } from "../../src/http/app.js";
import {
  createSandbox,
  type Sandbox,
  type SandboxFlavor,
  type SandboxOptions,
} from "../../src/sandbox/index.js";
import { createTestDb, type Leg } from "./db.js";

export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

/** Both wholesaler generations, for `describe.each(VEXA_FLAVORS)` over the end-to-end flows. */
export const VEXA_FLAVORS: readonly SandboxFlavor[] = ["baseline", "current"];

/** The suite's default wholesaler generation: `TEST_VEXA=current npm test` runs every suite against current Vexa. */
export const DEFAULT_VEXA: SandboxFlavor = process.env.TEST_VEXA === "current" ? "current" : "baseline";

export interface TestApp {
  leg: Leg;
  gateway: App;
  admin: App;
  deps: Deps;
  /** The simulated wholesaler, reached over real HTTP. */
  sandbox: Sandbox;
  /** Which Vexa the sandbox imitates. */
  vexa: SandboxFlavor;
  sandboxKey: string;
  sandboxUrl: string;
  /** Set when started with `listen: true`. */
  gatewayUrl: string;
  /** The environment the retailer was configured from, to start a second instance on the same database. */
  env: Record<string, string>;
  dbUrl?: string;
  /** Sends a request to the gateway (default) or admin app through inject; parses JSON bodies. */
  call(
    method: string,
    url: string,
    opts?: {
      body?: unknown;
      key?: string;
      adminKey?: string;
      app?: "gateway" | "admin";
      headers?: Record<string, string>;
    },
  ): Promise<{ status: number; body: any; headers: Record<string, unknown>; raw: string }>;
  /** A brand-new user with a fresh API key: every test gets its own tenant. */
  newUser(opts?: { max_concurrent_bots?: number }): Promise<{ id: number; key: string; email: string }>;
  close(): Promise<void>;
}

let seq = 0;

export async function startTestApp(
  leg: Leg,
  env: Record<string, string> = {},
  opts: {
    clock?: Clock;
    /** The wholesaler's generation (default DEFAULT_VEXA); `sandbox.flavor` is the same thing. */
    vexa?: SandboxFlavor;
    sandbox?: Partial<SandboxOptions>;
    deps?: DepsOptions;
    listen?: boolean;
  } = {},
): Promise<TestApp> {
  const { db, url, queueSchema, drop } = await createTestDb(leg);
  const clock = opts.clock ?? systemClock;
  const sandboxKey = `sbx-${Math.random().toString(36).slice(2)}`;
  const vexa = opts.vexa ?? opts.sandbox?.flavor ?? DEFAULT_VEXA;
  const sandbox = createSandbox({ apiKey: sandboxKey, clock, ...opts.sandbox, flavor: vexa });
  const sandboxUrl = await sandbox.listen(0, "127.0.0.1");
  const fullEnv: Record<string, string> = {
    ADMIN_API_TOKEN: ADMIN_TOKEN,
    LOG_LEVEL: "silent",
    VEXA_INFRA_API_URL: sandboxUrl,
    VEXA_INFRA_API_KEY: sandboxKey,
    WHOLESALER_WEBHOOK_SECRET: "test-webhook-secret",
    ALLOW_PRIVATE_WEBHOOKS: "true",
    // Suites that probe auth send many wrong keys from one address; test/ops/auth-throttle.test.ts turns it on.
    AUTH_FAILURES_PER_MINUTE: "0",
    // A second instance configured from `env` then shares this test's job queue schema.
    QUEUE_SCHEMA: queueSchema,
    ...env,
  };
  const config = loadConfig(fullEnv);
  const deps = await createDeps(config, { db, clock, queueSchema, ...opts.deps });
  const gateway = await buildApp("gateway", deps);
  const admin = await buildApp("admin", deps);
  let gatewayUrl = "";
  if (opts.listen) {
    // The sandbox's webhooks need a real receiver to reach.
    gatewayUrl = await gateway.listen({ port: 0, host: "127.0.0.1" });
    await deps.registerReceiver(gatewayUrl);
  }
  const call: TestApp["call"] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.key !== undefined) headers["x-api-key"] = o.key;
    if (o.adminKey !== undefined) headers["x-admin-api-key"] = o.adminKey;
    const payload =
      o.body === undefined ? undefined : typeof o.body === "string" ? o.body : JSON.stringify(o.body);
    if (payload !== undefined && !headers["content-type"]) headers["content-type"] = "application/json";
    const res = await (o.app === "admin" ? admin : gateway).inject({
      method: method as "GET",
      url: path,
      headers,
      payload,
    });
    let body: unknown = res.body;
    try {
      body = res.body ? JSON.parse(res.body) : null;
    } catch {}
    return { status: res.statusCode, body, headers: res.headers, raw: res.body };
  };
  const newUser: TestApp["newUser"] = async (o = {}) => {
    const email = `user${Date.now()}-${process.pid}-${++seq}@example.com`;
    const u = await call("POST", "/admin/users", { adminKey: ADMIN_TOKEN, body: { email, ...o } });
    const t = await call("POST", `/admin/users/${u.body.id}/tokens`, { adminKey: ADMIN_TOKEN });
    return { id: u.body.id, key: t.body.token, email };
  };
  return {
    leg,
    gateway,
    admin,
    deps,
    sandbox,
    vexa,
    sandboxKey,
    sandboxUrl,
    gatewayUrl,
    env: fullEnv,
    ...(url ? { dbUrl: url } : {}),
    call,
    newUser,
    async close() {
      await gateway.close();
      await admin.close();
      await deps.close();
      await sandbox.close();
      await drop();
    },
  };
}

/** POST /bots for `key` in a Google Meet room, expecting 201; returns the meeting Vexa-shaped. */
export async function startBot(t: TestApp, key: string, native: string): Promise<any> {
  const res = await t.call("POST", "/bots", {
    key,
    body: { platform: "google_meet", native_meeting_id: native },
  });
  expect(res.status, res.raw).toBe(201);
  return res.body;
}
