import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

describe("loadConfig", () => {
  it("has the documented defaults: PGlite under ./data, sandbox without a key, gateway 8056, admin 8057", () => {
    const c = loadConfig({});
    expect(c.database).toEqual({ kind: "pglite", dataDir: "./data", variable: "DATA_DIR" });
    expect(c.wholesaler).toMatchObject({
      url: "sandbox",
      isSandbox: true,
      sandboxRequested: false,
      serviceLayerId: "retailer-1",
      timeoutMs: 1500,
    });
    expect([c.gatewayPort, c.adminPort, c.role]).toEqual([8056, 8057, "all"]);
    expect([c.reconcileIntervalSeconds, c.transcriptCacheTtlMs, c.allowPrivateWebhooks]).toEqual([
      60,
      1000,
      false,
    ]);
  });

  it("uses DATABASE_URL, or builds one from Vexa's DB_* variables", () => {
    expect(loadConfig({ DATABASE_URL: "postgresql://u@h:1/db" }).database).toMatchObject({
      kind: "pg",
      url: "postgresql://u@h:1/db",
    });
    const c = loadConfig({
      DB_HOST: "pg",
      DB_PORT: "5433",
      DB_NAME: "vexa",
      DB_USER: "postgres",
      DB_PASSWORD: "p@ss",
    });
    expect(c.database).toMatchObject({ kind: "pg", url: "postgresql://postgres:p%40ss@pg:5433/vexa" });
  });

  it("takes a real wholesaler only with a key, and splits rotating webhook secrets", () => {
    const c = loadConfig({ VEXA_INFRA_API_KEY: "k", WHOLESALER_WEBHOOK_SECRET: "new, old" });
    expect(c.wholesaler).toMatchObject({ isSandbox: false, url: "https://gateway.dev.vexa.ai" });
    expect(c.webhookSecrets).toEqual(["new", "old"]);
    expect(loadConfig({ VEXA_INFRA_API_KEY: "k", VEXA_INFRA_API_URL: "sandbox" }).wholesaler.isSandbox).toBe(
      true,
    );
  });

  it("refuses a wholesaler URL without its key rather than quietly running the simulator", () => {
    expect(() => loadConfig({ VEXA_INFRA_API_URL: "https://wholesaler.example.com" })).toThrow(
      /VEXA_INFRA_API_KEY=\(unset\): is required when VEXA_INFRA_API_URL/,
    );
    const asked = loadConfig({ VEXA_INFRA_API_URL: "sandbox" }).wholesaler;
    expect([asked.isSandbox, asked.sandboxRequested]).toEqual([true, true]);
  });

  it("requires an admin token of at least 32 characters, without echoing it", () => {
    expect(() => loadConfig({ ADMIN_API_TOKEN: "a".repeat(31) })).toThrow(
      /ADMIN_API_TOKEN=<redacted>: must be at least 32 characters \(generate one with: openssl rand -hex 32\)/,
    );
    expect(loadConfig({ ADMIN_API_TOKEN: "a".repeat(32) }).adminApiToken).toBe("a".repeat(32));
    expect(loadConfig({}).adminApiToken).toBeUndefined();
  });

  it("refuses the example file's placeholder secrets", () => {
    expect(() => loadConfig({ ADMIN_API_TOKEN: "change-me-to-the-output-of-openssl-rand-hex-32" })).toThrow(
      /ADMIN_API_TOKEN=<redacted>: is the example file's placeholder/,
    );
    expect(() => loadConfig({ WHOLESALER_WEBHOOK_SECRET: "real-secret,change-me-webhook-secret" })).toThrow(
      /WHOLESALER_WEBHOOK_SECRET=<redacted>: is the example file's placeholder/,
    );
  });

  it("lists the allowed values of an enum variable", () => {
    expect(() => loadConfig({ ROLE: "boss" })).toThrow(
      /ROLE="boss": must be one of: all, api-gateway, admin-api, bot-manager/,
    );
    expect(() => loadConfig({ ALLOW_PRIVATE_WEBHOOKS: "yes" })).toThrow(/must be one of: true, false/);
    expect(() => loadConfig({ LOG_LEVEL: "loud" })).toThrow(
      /must be one of: fatal, error, warn, info, debug, trace, silent/,
    );
  });

  it("reads the failed-authentication budget and the trusted proxies", () => {
    const d = loadConfig({});
    expect(d.authFailureLimit).toEqual({ perSecond: 10 / 60, burst: 20 });
    expect(d.trustProxy).toBe(false);
    const c = loadConfig({
      TRUSTED_PROXIES: "10.0.0.0/8, 127.0.0.1,loopback,::1",
      AUTH_FAILURES_PER_MINUTE: "0",
    });
    expect(c.trustProxy).toEqual(["10.0.0.0/8", "127.0.0.1", "loopback", "::1"]);
    expect(c.authFailureLimit.perSecond).toBe(0);
    expect(() => loadConfig({ TRUSTED_PROXIES: "10.0.0.0/33,proxy.example.com" })).toThrow(
      /TRUSTED_PROXIES=.*10\.0\.0\.0\/33, proxy\.example\.com/,
    );
  });

  it("reads the role from --role", () => {
    expect(loadConfig({}, ["--role", "bot-manager"]).role).toBe("bot-manager");
    expect(loadConfig({}, ["--role=admin-api"]).role).toBe("admin-api");
  });

  it("rejects bad values naming every bad variable, without echoing secrets", () => {
    let err: unknown;
    try {
      loadConfig({
        API_GATEWAY_PORT: "eighty",
        ROLE: "boss",
        DATABASE_URL: "mysql://x",
        ADMIN_API_TOKEN: "",
        VEXA_INFRA_API_URL: "ftp://x",
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    for (const name of ["API_GATEWAY_PORT", "ROLE", "DATABASE_URL", "VEXA_INFRA_API_URL"])
      expect(msg).toContain(name);
  });

  it("stops the process with a message naming the variable", () => {
    const res = spawnSync(process.execPath, ["--import", "tsx", "src/main.ts"], {
      env: { ...process.env, API_GATEWAY_PORT: "not-a-port", DATA_DIR: "/tmp/unused" },
      encoding: "utf8",
      timeout: 90_000,
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain("API_GATEWAY_PORT");
  }, 120_000);
});
