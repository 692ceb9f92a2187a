import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { onTestFinished } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { createSandbox, type Sandbox, type SandboxOptions } from "../../src/sandbox/index.js";

export const KEY = "test-sandbox-key";
export { MEETING_KEYS } from "../helpers/vexa-shapes.js";
export const NAIVE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/;
export const AWARE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/;

export interface Res {
  status: number;
  body: any;
  headers: Headers;
  text: string;
}

export interface Harness {
  sandbox: Sandbox;
  clock: ManualClock;
  url: string;
  /** A request over real HTTP; `key: null` sends no X-API-Key. */
  api(
    method: string,
    path: string,
    opts?: { body?: unknown; key?: string | null; raw?: string },
  ): Promise<Res>;
  bot(nativeId?: string, platform?: string): Promise<Res>;
}

/** A sandbox on a ManualClock, listening on a free port, closed when the test ends. */
export async function startSandbox(opts: Partial<SandboxOptions> = {}): Promise<Harness> {
  const clock = new ManualClock();
  const sandbox = createSandbox({ apiKey: KEY, clock, ...opts });
  const url = await sandbox.listen(0);
  onTestFinished(() => sandbox.close());
  const api: Harness["api"] = async (method, path, o = {}) => {
    const headers: Record<string, string> = {};
    const key = o.key === undefined ? KEY : o.key;
    if (key !== null) headers["x-api-key"] = key;
    let body: string | undefined = o.raw;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers["content-type"] = "application/json";
    }
    const res = await fetch(url + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, body: parsed, headers: res.headers, text };
  };
  const bot = (nativeId = "abc-defg-hij", platform = "google_meet") =>
    api("POST", "/bots", { body: { platform, native_meeting_id: nativeId } });
  return { sandbox, clock, url, api, bot };
}

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A tiny webhook receiver on a free port; answers `status` (default 200). */
export async function startReceiver(
  status = 200,
): Promise<{ url: string; received: Received[]; setStatus(s: number): void }> {
  const received: Received[] = [];
  let answer = status;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(answer, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    setStatus: (s) => {
      answer = s;
    },
  };
}
