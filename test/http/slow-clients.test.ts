/**
 * Slow, stuck and greedy clients over real sockets: trickled headers and bodies are cut at their timeouts with a
 * Vexa-shaped 408, connections past MAX_CONNECTIONS are refused, an overloaded process sheds with 503 +
 * Retry-After (never /health), and a client sending an oversized body reads the 413 instead of a reset.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HttpLimits } from "../../src/config.js";
import { type App, buildApp } from "../../src/http/app.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";
import { waitFor } from "../helpers/wait.js";

interface Exchange {
  socket: Socket;
  received: () => string;
  closed: Promise<{ at: number; error?: string }>;
}

function open(port: number): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    let error: string | undefined;
    socket.on("data", (d) => {
      data += d.toString("latin1");
    });
    socket.on("error", (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message;
    });
    const closed = new Promise<{ at: number; error?: string }>((r) =>
      socket.on("close", () => r({ at: performance.now(), ...(error ? { error } : {}) })),
    );
    socket.once("connect", () => resolve({ socket, received: () => data, closed }));
    socket.once("error", reject);
  });
}

const status = (url: string) =>
  fetch(url).then(
    (r) => r.status,
    () => 0,
  );
const portOf = (url: string) => Number(new URL(url).port);
const statusLine = (raw: string) => raw.split("\r\n")[0];
const bodyOf = (raw: string) => raw.slice(raw.indexOf("\r\n\r\n") + 4);

// Socket timeouts, connection caps and load shedding live in the HTTP layer, before any route touches the
// database: one leg (PostgreSQL where it answers) covers them.
describe.each((await legs()).slice(-1))("slow and greedy clients on %s", (leg) => {
  let t: TestApp;
  let port: number;
  const extra: App[] = [];
  /** Another gateway on the same dependencies with other limits, listening on its own port. */
  const gatewayWith = async (change: (l: HttpLimits) => HttpLimits) => {
    const app = await buildApp("gateway", {
      ...t.deps,
      config: { ...t.deps.config, http: change(t.deps.config.http) },
    });
    extra.push(app);
    return { app, port: portOf(await app.listen({ port: 0, host: "127.0.0.1" })) };
  };

  beforeAll(async () => {
    t = await startTestApp(
      leg,
      { HEADERS_TIMEOUT_MS: "500", REQUEST_TIMEOUT_MS: "1500", BODY_DRAIN_TIMEOUT_MS: "1000" },
      { listen: true },
    );
    port = portOf(t.gatewayUrl);
  }, 120_000);
  afterAll(async () => {
    for (const app of extra) await app.close();
    await t?.close();
  });

  it("20 sockets trickling a body byte every 200 ms get 408 and are closed at REQUEST_TIMEOUT_MS", async () => {
    const started = performance.now();
    const clients = await Promise.all(Array.from({ length: 20 }, () => open(port)));
    const timers = clients.map((c) => {
      c.socket.write(
        "POST /bots HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
      );
      return setInterval(() => c.socket.writable && c.socket.write("{"), 200);
    });
    const ends = await Promise.all(clients.map((c) => c.closed));
    for (const timer of timers) clearInterval(timer);
    const slowest = Math.max(...ends.map((e) => e.at)) - started;
    expect(slowest, "ms until the last slow body was cut").toBeLessThan(1500 + 2500);
    for (const c of clients) {
      expect(statusLine(c.received())).toBe("HTTP/1.1 408 Request Timeout");
      expect(JSON.parse(bodyOf(c.received()))).toEqual({ detail: "Request Timeout" });
    }
  });

  it("headers trickled a line every 100 ms are cut at HEADERS_TIMEOUT_MS", async () => {
    const c = await open(port);
    const started = performance.now();
    c.socket.write("GET /health HTTP/1.1\r\nHost: x\r\n");
    const timer = setInterval(() => c.socket.writable && c.socket.write("X-Slow: 1\r\n"), 100);
    const end = await c.closed;
    clearInterval(timer);
    expect(end.at - started, "ms until the slow headers were cut").toBeLessThan(500 + 2000);
    expect(statusLine(c.received())).toBe("HTTP/1.1 408 Request Timeout");
  });

  it("connections past MAX_CONNECTIONS are closed on accept; a freed slot is usable again", async () => {
    const capped = await gatewayWith((l) => ({ ...l, maxConnections: 3 }));
    const held = await Promise.all([1, 2, 3].map(() => open(capped.port)));
    await waitFor(
      () => new Promise<boolean>((r) => capped.app.server.getConnections((_e, n) => r(n === 3))),
      10_000,
      "three connections accepted",
    );
    const refused = await open(capped.port);
    refused.socket.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    await refused.closed;
    expect(refused.received()).toBe("");
    held[0]?.socket.destroy();
    // The server counts the freed slot once it sees the close.
    await waitFor(() => status(`http://127.0.0.1:${capped.port}/health`).then((s) => s === 200), 10_000);
    for (const c of held) c.socket.destroy();
  });

  it("under memory pressure every route but /health answers 503 + Retry-After in Vexa's shape", async () => {
    const key = (await t.newUser()).key;
    const pressed = await gatewayWith((l) => ({ ...l, overload: { ...l.overload, maxHeapPercent: 1 } }));
    const url = `http://127.0.0.1:${pressed.port}`;
    const shed = (await waitFor(async () => {
      const res = await fetch(`${url}/meetings`, { headers: { "x-api-key": key } });
      return res.status === 503 ? res : undefined;
    }, 10_000)) as Response;
    expect(shed.headers.get("retry-after")).toBe("5");
    expect(await shed.json()).toEqual({ detail: "The service is overloaded; retry shortly." });
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await fetch(`${url}/metrics`)).status).not.toBe(503);
    // A request shed before its body arrived keeps its keep-alive connection once the body is in.
    const c = await open(pressed.port);
    c.socket.write(
      "POST /bots HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n",
    );
    await waitFor(() => c.received().includes("503"), 10_000, "the 503");
    c.socket.write("{}");
    await new Promise((r) => setTimeout(r, 1500)); // past BODY_DRAIN_TIMEOUT_MS: the drain must not cut it
    c.socket.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => c.received().includes("HTTP/1.1 200"), 10_000, "the second answer on the connection");
    c.socket.destroy();
    // The main gateway, with the default limits, is unaffected.
    expect((await fetch(`${t.gatewayUrl}/meetings`, { headers: { "x-api-key": key } })).status).toBe(200);
  });

  it("a blocked event loop sheds requests until it recovers", async () => {
    const lagging = await gatewayWith((l) => ({
      ...l,
      overload: { ...l.overload, maxEventLoopDelayMs: 50 },
    }));
    const url = `http://127.0.0.1:${lagging.port}/`;
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      // Busy: the event loop stands still, as under a CPU-bound burst.
    }
    await waitFor(() => status(url).then((s) => s === 503), 10_000, "a 503 while lagging");
    await waitFor(() => status(url).then((s) => s === 200), 30_000, "recovery");
  });

  it("a 2 MB body gets its 413 read, not a reset: the rest of the body is drained first", async () => {
    for (let i = 0; i < 10; i++) {
      const c = await open(port);
      c.socket.write(
        "POST /bots HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2097152\r\nExpect: 100-continue\r\n\r\n",
      );
      await waitFor(() => c.received().includes("100 Continue"), 10_000, "100 Continue");
      c.socket.end(Buffer.alloc(2 * 1024 * 1024, 0x61));
      const end = await c.closed;
      expect(end.error, `attempt ${i}`).toBeUndefined();
      expect(c.received()).toContain("HTTP/1.1 413 Payload Too Large");
      expect(JSON.parse(bodyOf(c.received().slice(c.received().indexOf("HTTP/1.1 413"))))).toEqual({
        detail: "Request body too large",
      });
    }
  });

  it("curl posting 2 MB reads the 413 every time", async () => {
    const file = join(tmpdir(), `retailer-2mb-${process.pid}.json`);
    writeFileSync(file, Buffer.alloc(2 * 1024 * 1024, 0x61));
    const curl = () =>
      new Promise<string>((resolve) =>
        execFile(
          "curl",
          [
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-XPOST",
            "--data-binary",
            `@${file}`,
            `${t.gatewayUrl}/bots`,
          ],
          (err, out, stderr) => resolve(err ? `curl failed: ${stderr.trim()} (${out})` : out),
        ),
      );
    const results = [];
    for (let i = 0; i < 20; i++) results.push(await curl());
    expect(results).toEqual(Array(20).fill("413"));
  });

  it("the drain is bounded: a client that stalls after a rejected body is closed at BODY_DRAIN_TIMEOUT_MS", async () => {
    const c = await open(port);
    c.socket.write(
      "POST /bots HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2097152\r\n\r\n",
    );
    c.socket.write(Buffer.alloc(1024, 0x61));
    await waitFor(() => c.received().includes("413"), 10_000, "the 413");
    const answeredAt = performance.now();
    const end = await c.closed;
    expect(end.at - answeredAt, "ms from the 413 to the close").toBeLessThan(1000 + 1500);
  });

  it("the drain is bounded in bytes: past BODY_DRAIN_MAX_BYTES the connection is cut", async () => {
    const small = await gatewayWith((l) => ({ ...l, bodyDrain: { ...l.bodyDrain, maxBytes: 256 * 1024 } }));
    const c = await open(small.port);
    c.socket.write(
      "POST /bots HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 67108864\r\n\r\n",
    );
    let written = 0;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const pump = () => {
      while (written < 64 * 1024 * 1024 && !c.socket.destroyed) {
        written += chunk.length;
        if (!c.socket.write(chunk)) return void c.socket.once("drain", pump);
      }
    };
    pump();
    await c.closed;
    expect(c.received()).toContain("HTTP/1.1 413");
    expect(written, "bytes the client got to send before the cut").toBeLessThan(64 * 1024 * 1024);
  });
});
