import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { createSandbox } from "../../src/sandbox/index.js";
import { startReceiver } from "./helpers.js";

const count = (kind: string) => process.getActiveResourcesInfo().filter((r) => r === kind).length;

describe("sandbox lifecycle", () => {
  it("close() leaves no servers, sockets or timers behind (system clock, live meetings, pending stops)", async () => {
    const rx = await startReceiver();
    const before = { timers: count("Timeout"), tcp: count("TCPSocketWrap"), servers: count("TCPServerWrap") };
    const sandbox = createSandbox({ apiKey: "k", webhookUrl: rx.url, stopDelayMs: 60_000 });
    const url = await sandbox.listen();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const headers = { "x-api-key": "k", "content-type": "application/json" };
    for (const id of ["aaa-aaaa-aaa", "bbb-bbbb-bbb"]) {
      const res = await fetch(`${url}/bots`, {
        method: "POST",
        headers,
        body: JSON.stringify({ platform: "google_meet", native_meeting_id: id }),
      });
      expect(res.status).toBe(201);
    }
    await fetch(`${url}/bots/google_meet/aaa-aaaa-aaa`, { method: "DELETE", headers });
    sandbox.faults.set("GET /meetings", { latencyMs: 60_000 });
    const slow = fetch(`${url}/meetings`, { headers }).catch(() => "failed");
    await new Promise((r) => setTimeout(r, 50));
    await sandbox.close();
    await slow;
    await new Promise((r) => setTimeout(r, 50));
    expect(count("TCPServerWrap")).toBe(before.servers);
    expect(count("TCPSocketWrap")).toBeLessThanOrEqual(before.tcp);
    expect(count("Timeout")).toBeLessThanOrEqual(before.timers);
    expect(rx.received).toHaveLength(0);
  });

  it("works through inject too; an outage rejects the injected request", async () => {
    const sandbox = createSandbox({ apiKey: "k" });
    try {
      const root = await sandbox.app.inject({ url: "/" });
      expect(root.json()).toEqual({ message: "Welcome to the Vexa API Gateway" });
      sandbox.faults.set("GET /", { outage: true });
      await expect(sandbox.app.inject({ url: "/" })).rejects.toThrow();
    } finally {
      await sandbox.close();
    }
  });

  it.each([
    { flavor: "baseline", args: [] },
    { flavor: "current", args: ["--vexa", "current", "--clock-skew-ms=-30000"] },
  ])(
    "npm run sandbox ($flavor): the CLI prints its URL and key, serves, and exits cleanly on SIGTERM",
    async ({ flavor, args }) => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", "src/sandbox/cli.ts", "--port", "0", "--api-key", "cli-key", ...args],
        {
          cwd: process.cwd(),
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      try {
        let out = "";
        const url = await new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 20_000);
          child.stdout.on("data", (chunk: Buffer) => {
            out += chunk.toString();
            const m = /listening on (http:\/\/\S+)/.exec(out);
            if (m?.[1]) {
              clearTimeout(timer);
              resolve(m[1]);
            }
          });
          child.once("exit", (code) => reject(new Error(`exited ${code}: ${out}`)));
        });
        expect(out).toContain("X-API-Key: cli-key");
        expect(out).toContain(`(${flavor} Vexa)`);
        const res = await fetch(`${url}/meetings`, { headers: { "x-api-key": "cli-key" } });
        expect(await res.json()).toEqual({ meetings: [] });
        const me = await fetch(`${url}/auth/me`, { headers: { "x-api-key": "cli-key" } });
        expect(me.status).toBe(flavor === "current" ? 200 : 404);
        const skew = Date.parse(me.headers.get("date") ?? "") - Date.now();
        expect(Math.abs(skew - (flavor === "current" ? -30_000 : 0))).toBeLessThan(3000);
        const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        expect(await exited).toBe(0);
      } finally {
        if (child.exitCode === null) child.kill("SIGKILL");
      }
    },
  );
});
