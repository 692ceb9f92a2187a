import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { createWholesalerClient, type UpstreamCallEvent, type WholesalerClientOptions } from "./client.js";
import { UpstreamError } from "./errors.js";

const KEY = "svc-key-Zq9xT3secretVALUE0123456789abcdef";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}
type Handler = (req: Seen, res: ServerResponse) => void;

let server: Server;
let baseUrl: string;
let handler: Handler;
let seen: Seen[] = [];

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const s: Seen = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      seen.push(s);
      handler(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const clients: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  server.closeAllConnections(); // drop sockets left hanging by timeout tests
  seen = [];
});

function makeClient(over: Partial<WholesalerClientOptions> = {}) {
  const events: UpstreamCallEvent[] = [];
  const logs: { level: string; o: object; msg: string }[] = [];
  const client = createWholesalerClient({
    baseUrl,
    apiKey: KEY,
    serviceLayerId: "retailer-test",
    timeoutMs: 1000,
    onCall: (e) => events.push(e),
    logger: {
      warn: (o, msg) => logs.push({ level: "warn", o, msg }),
      error: (o, msg) => logs.push({ level: "error", o, msg }),
    },
    ...over,
    retry: { sleep: async () => {}, ...over.retry },
  });
  clients.push(client);
  return { client, events, logs };
}

const meeting = (over: Record<string, unknown> = {}) => ({
  id: 7,
  user_id: 1,
  platform: "google_meet",
  native_meeting_id: "abc-defg-hij",
  constructed_meeting_url: "https://meet.google.com/abc-defg-hij",
  status: "active",
  bot_container_id: "c0ffee",
  start_time: "2025-06-08T17:11:32.049728",
  end_time: null,
  data: {},
  created_at: "2025-06-08T17:11:31.794491",
  updated_at: "2025-06-08T17:11:31.802388",
  ...over,
});

async function catchErr(p: Promise<unknown>): Promise<UpstreamError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(UpstreamError);
    return e as UpstreamError;
  }
  throw new Error("expected a rejection");
}

describe("wholesaler client: requests and validation", () => {
  it("POST /bots sends the key, the service layer id (header and body) and validates the meeting", async () => {
    handler = (_req, res) =>
      json(res, 201, meeting({ status: "requested", start_time: null, extra_field: 1 }));
    const { client, events } = makeClient();
    const m = await client.requestBot({
      platform: "google_meet",
      native_meeting_id: "abc-defg-hij",
      language: "en",
    });
    expect(m).toMatchObject({ id: 7, status: "requested", start_time: null });
    expect(seen).toHaveLength(1);
    const req = seen[0]!;
    expect(req.method).toBe("POST");
    expect(req.url).toBe("/bots");
    expect(req.headers["x-api-key"]).toBe(KEY);
    expect(req.headers["x-service-layer-id"]).toBe("retailer-test");
    expect(req.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(req.body)).toEqual({
      platform: "google_meet",
      native_meeting_id: "abc-defg-hij",
      service_layer_id: "retailer-test",
      language: "en",
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ route: "POST /bots", method: "POST", outcome: "ok", status: 201 });
    expect(events[0]!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("URL-encodes path segments, honours a base path, and returns the raw transcript body", async () => {
    const body = JSON.stringify({
      id: 7,
      platform: "teams",
      native_meeting_id: "a/b c?",
      constructed_meeting_url: null,
      status: "active",
      start_time: "2025-06-08T17:11:32.049728",
      end_time: null,
      segments: [
        {
          start: 2.04,
          end: 4.64,
          text: "16, 17",
          language: "ru",
          created_at: null,
          speaker: "Dmitriy",
          absolute_start_time: "2025-06-08T17:11:56.004872+00:00",
          absolute_end_time: "2025-06-08T17:11:58.604872+00:00",
          completed: true,
        },
      ],
      recordings: [],
    });
    handler = (_req, res) => json(res, 200, body);
    const { client, events } = makeClient({ baseUrl: `${baseUrl}/vexa/` });
    const r = await client.getTranscriptRaw("teams", "a/b c?");
    expect(seen[0]!.url).toBe("/vexa/transcripts/teams/a%2Fb%20c%3F");
    expect(r.raw.toString()).toBe(body);
    expect(r.transcript.segments[0]).toMatchObject({ start: 2.04, completed: true });
    expect(events[0]!.route).toBe("GET /transcripts/{platform}/{native_meeting_id}");
    const t = await client.getTranscript("teams", "a/b c?");
    expect(t.id).toBe(7);
    // The same bytes again: the earlier answer itself (callers key their shared serialisation on it).
    expect(await client.getTranscriptRaw("teams", "a/b c?", { known: r })).toBe(r);
    // Changed bytes are parsed and validated afresh; an invalid body is never taken for the known one.
    handler = (_req, res) => json(res, 200, { ...JSON.parse(body), segments: [] });
    const changed = await client.getTranscriptRaw("teams", "a/b c?", { known: r });
    expect(changed).not.toBe(r);
    expect(changed.transcript.segments).toEqual([]);
    handler = (_req, res) => json(res, 200, { segments: "not a list" });
    await expect(client.getTranscriptRaw("teams", "a/b c?", { known: changed })).rejects.toThrow(
      /invalid upstream response/,
    );
  });

  it("covers the other routes", async () => {
    handler = (req, res) => {
      const key = `${req.method} ${req.url}`;
      if (key === "DELETE /bots/zoom/123")
        return json(res, 202, { message: "Stop request accepted and is being processed." });
      if (key === "PUT /bots/zoom/123/config")
        return json(res, 202, { message: "Reconfiguration request accepted and sent to the bot." });
      if (key === "GET /bots/status")
        return json(res, 200, { running_bots: [{ container_id: "x", platform: null, labels: { a: "1" } }] });
      if (key === "GET /meetings")
        return json(res, 200, { meetings: [meeting(), meeting({ id: 8, status: "completed" })] });
      if (key === "DELETE /meetings/zoom/123") return json(res, 200, { message: "deleted" });
      if (key === "DELETE /meetings/zoom/gone") return json(res, 404, { detail: "Meeting not found" });
      if (key === "PUT /user/webhook") return json(res, 200, { email: "a@b.c", data: { webhook_url: "x" } });
      json(res, 500, { detail: `unexpected ${key}` });
    };
    const { client } = makeClient();
    expect(await client.stopBot("zoom", "123")).toEqual({
      message: "Stop request accepted and is being processed.",
    });
    expect((await client.updateBotConfig("zoom", "123", { language: "de", task: null })).message).toContain(
      "Reconfig",
    );
    expect(JSON.parse(seen.at(-1)!.body)).toEqual({ language: "de", task: null });
    expect((await client.getBotsStatus()).running_bots).toHaveLength(1);
    expect((await client.listMeetings()).map((m) => m.id)).toEqual([7, 8]);
    await expect(client.deleteMeeting("zoom", "123")).resolves.toBeUndefined();
    await expect(client.deleteMeeting("zoom", "gone")).resolves.toBeUndefined();
    expect(
      await client.setUserWebhook("https://r.example/webhooks/meeting-finished", "s3cret"),
    ).toMatchObject({
      email: "a@b.c",
    });
    expect(JSON.parse(seen.at(-1)!.body)).toEqual({
      webhook_url: "https://r.example/webhooks/meeting-finished",
      webhook_secret: "s3cret",
    });
  });

  it("an invalid payload is 'unavailable' and not retried", async () => {
    handler = (_req, res) => json(res, 200, { meetings: [{ id: "not-a-number", platform: "zoom" }] });
    const { client, logs } = makeClient();
    const e = await catchErr(client.listMeetings());
    expect(e).toMatchObject({ kind: "unavailable", retryable: false, status: 200 });
    expect(e.message).toContain("invalid upstream response");
    expect(seen).toHaveLength(1);
    expect(logs.some((l) => l.msg === "invalid upstream response")).toBe(true);

    handler = (_req, res) => json(res, 200, "<html>gateway</html>");
    expect(await catchErr(client.getBotsStatus())).toMatchObject({ kind: "unavailable" });
  });
});

describe("wholesaler client: current Vexa shapes", () => {
  it("takes DELETE /bots 200, the new /bots/status, Z timestamps and extra segment keys without a warning", async () => {
    const row = meeting({
      status: "awaiting_admission",
      start_time: "2026-06-20T09:00:00Z",
      created_at: "2026-06-20T08:59:00Z",
      updated_at: "2026-06-20T09:00:05Z",
      completion_reason: null,
      failure_stage: null,
      data: { service_layer_id: "retailer-test" },
    });
    handler = (req, res) => {
      const key = `${req.method} ${req.url}`;
      if (key === "DELETE /bots/google_meet/abc-defg-hij")
        return json(res, 200, {
          status: "stopping",
          meeting_id: 7,
          native_meeting_id: "abc-defg-hij",
          also_stopped: [],
          cancelled: [],
        });
      if (key === "GET /bots/status")
        return json(res, 200, { running: [row], running_bots: [row], count: 1 });
      if (key === "GET /meetings") return json(res, 200, { meetings: [row], has_more: false });
      if (key === "GET /transcripts/google_meet/abc-defg-hij")
        return json(res, 200, {
          ...row,
          recordings: [],
          notes: null,
          segments: [
            {
              start: 1,
              end: 2.5,
              text: "This is Anna.",
              language: "en",
              speaker: "Anna",
              completed: true,
              segment_id: "s-1",
              absolute_start_time: "2026-06-20T09:00:01Z",
              absolute_end_time: "2026-06-20T09:00:02.500Z",
            },
          ],
        });
      if (key === "GET /auth/me")
        return json(res, 200, { user_id: 7, email: "w@x.y", scopes: ["bot", "tx"], max_concurrent: 3 });
      json(res, 500, { detail: `unexpected ${key}` });
    };
    const { client, logs } = makeClient();
    expect(await client.stopBot("google_meet", "abc-defg-hij")).toMatchObject({
      status: "stopping",
      meeting_id: 7,
    });
    expect((await client.getBotsStatus()).running_bots[0]).toMatchObject({
      id: 7,
      bot_container_id: "c0ffee",
    });
    expect((await client.listMeetings())[0]?.start_time).toBe("2026-06-20T09:00:00Z");
    const t = await client.getTranscript("google_meet", "abc-defg-hij");
    expect(t.segments[0]).toMatchObject({ segment_id: "s-1", completed: true });
    expect(t.segments[0]).not.toHaveProperty("created_at");
    expect(await client.getIdentity()).toEqual({
      user_id: 7,
      email: "w@x.y",
      scopes: ["bot", "tx"],
      max_concurrent: 3,
    });
    expect(logs).toEqual([]);
  });

  it("a missing route is 'unsupported' (not retried, breaker untouched); a baseline has no /auth/me", async () => {
    handler = (_req, res) => json(res, 404, { detail: "Not Found" });
    const { client } = makeClient({ breaker: { threshold: 1 } });
    const e = await catchErr(client.updateBotConfig("google_meet", "abc-defg-hij", { language: "de" }));
    expect(e).toMatchObject({ kind: "unsupported", status: 404, retryable: false });
    expect(await catchErr(client.getIdentity())).toMatchObject({ kind: "unsupported" });
    expect(seen).toHaveLength(2);
    expect(client.breakerState()).toBe("closed");
  });
});

describe("wholesaler client: clock offset", () => {
  it("measures the wholesaler's clock from Date headers and a new meeting's created_at", async () => {
    const skew = 30_000;
    const wall = new ManualClock(Date.parse("2026-03-01T12:00:00.400Z"));
    handler = (req, res) => {
      const date = new Date(wall.now() + skew).toUTCString();
      if (req.method === "POST")
        return json(
          res,
          201,
          meeting({ created_at: new Date(wall.now() + skew).toISOString().slice(0, -1) }),
          {
            date,
          },
        );
      json(res, 200, { meetings: [] }, { date });
    };
    const { client } = makeClient({ wallClock: wall });
    expect(client.clockOffsetMs()).toBe(0);
    await client.listMeetings();
    expect(Math.abs(client.clockOffsetMs() - skew)).toBeLessThanOrEqual(1000);
    expect(client.clockOffset()).toMatchObject({ samples: 1, source: "date" });
    await client.requestBot({ platform: "google_meet", native_meeting_id: "abc-defg-hij" });
    // The manual wall clock stands still during the call, so created_at pins the offset exactly.
    expect(client.clockOffset()).toMatchObject({ offsetMs: skew, uncertaintyMs: 0, source: "created_at" });
  });
});

describe("wholesaler client: error mapping", () => {
  it("409 keeps the detail and the upstream meeting id", async () => {
    handler = (_req, res) =>
      json(res, 409, {
        detail:
          "An active or requested meeting already exists for this platform and meeting ID. Meeting ID: 1234",
      });
    const { client } = makeClient();
    const e = await catchErr(
      client.requestBot({ platform: "google_meet", native_meeting_id: "abc-defg-hij" }),
    );
    expect(e).toMatchObject({ kind: "conflict", status: 409, route: "POST /bots" });
    expect(String(e.detail)).toContain("already exists");
  });

  it("403 limit, 429 limit and 403 auth failure", async () => {
    const { client } = makeClient();
    const req = () => client.requestBot({ platform: "zoom", native_meeting_id: "1" });

    handler = (_req, res) =>
      json(res, 403, { detail: "User has reached the maximum concurrent bot limit (2)." });
    expect(await catchErr(req())).toMatchObject({ kind: "limit", status: 403 });

    handler = (_req, res) => json(res, 429, { detail: "Bot limit reached" }, { "retry-after": "30" });
    expect(await catchErr(req())).toMatchObject({ kind: "limit", status: 429, retryAfterSeconds: 30 });

    expect(client.authFailing()).toBe(false);
    handler = (_req, res) => json(res, 403, { detail: "Invalid API token" });
    const auth = await catchErr(req());
    expect(auth).toMatchObject({ kind: "unavailable", authFailure: true, status: 403, retryable: false });
    expect(client.authFailing()).toBe(true);

    handler = (_req, res) => json(res, 503, { detail: "proxy down" });
    await catchErr(client.getBotsStatus());
    expect(client.authFailing()).toBe(true); // a 5xx says nothing about the key

    handler = (_req, res) => json(res, 200, { running_bots: [] });
    await client.getBotsStatus();
    expect(client.authFailing()).toBe(false);
  });

  it("a Retry-After beyond the call deadline stops retrying and is passed on", async () => {
    handler = (_req, res) => json(res, 503, { detail: "maintenance" }, { "retry-after": "120" });
    const { client } = makeClient();
    expect(await catchErr(client.listMeetings())).toMatchObject({
      kind: "unavailable",
      retryAfterSeconds: 120,
    });
    expect(seen).toHaveLength(1);

    seen = [];
    let n = 0;
    handler = (_req, res) =>
      ++n === 1
        ? json(res, 429, { detail: "slow down" }, { "retry-after": "0" })
        : json(res, 200, { meetings: [] });
    await expect(client.listMeetings()).resolves.toEqual([]);
    expect(seen).toHaveLength(2);
  });

  it("an auth failure on a GET is not retried", async () => {
    handler = (_req, res) => json(res, 401, { detail: "Missing API Key" });
    const { client, logs } = makeClient();
    expect(await catchErr(client.listMeetings())).toMatchObject({ authFailure: true });
    expect(seen).toHaveLength(1);
    expect(logs.filter((l) => l.level === "error")).toHaveLength(1);
  });

  it("5xx is retried for GET (and succeeds) but never for POST /bots", async () => {
    let n = 0;
    handler = (_req, res) =>
      ++n < 3 ? json(res, 503, { detail: "busy" }) : json(res, 200, { running_bots: [] });
    const { client, events, logs } = makeClient();
    await expect(client.getBotsStatus()).resolves.toEqual({ running_bots: [] });
    expect(seen).toHaveLength(3);
    expect(events.map((e) => e.outcome)).toEqual(["error", "error", "ok"]);
    expect(logs.filter((l) => l.msg === "retrying upstream call")).toHaveLength(2);

    seen = [];
    handler = (_req, res) =>
      json(res, 500, { detail: { status: "error", message: "Failed to start bot container." } });
    const e = await catchErr(client.requestBot({ platform: "zoom", native_meeting_id: "1" }));
    expect(e).toMatchObject({ kind: "unavailable", status: 500 });
    expect(seen).toHaveLength(1);
  });

  it("gives up after the attempt cap on a persistent 5xx", async () => {
    handler = (_req, res) => json(res, 502, "bad gateway");
    const { client } = makeClient();
    expect(await catchErr(client.stopBot("zoom", "1"))).toMatchObject({ kind: "unavailable", status: 502 });
    expect(seen).toHaveLength(3);
  });

  it("a connection refused is unavailable", async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, "127.0.0.1", r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const { client } = makeClient({ baseUrl: `http://127.0.0.1:${port}` });
    const e = await catchErr(client.listMeetings());
    expect(e).toMatchObject({ kind: "unavailable", retryable: true });
  });
});

describe("wholesaler client: timeouts", () => {
  it("a hanging upstream yields 'unavailable' within the timeout (POST, no retry)", async () => {
    handler = () => {}; // never answers
    const { client, events } = makeClient({ timeoutMs: 200 });
    const t0 = performance.now();
    const e = await catchErr(client.requestBot({ platform: "zoom", native_meeting_id: "1" }));
    const took = performance.now() - t0;
    expect(e).toMatchObject({ kind: "unavailable", retryable: true });
    expect(e.message).toContain("timed out");
    expect(took).toBeGreaterThanOrEqual(180);
    expect(took).toBeLessThan(600);
    expect(events[0]).toMatchObject({ outcome: "error", route: "POST /bots" });
  });

  it("a hanging upstream on a GET stays within timeout + the retry deadline", async () => {
    handler = () => {};
    const { client } = makeClient({ timeoutMs: 200 });
    const t0 = performance.now();
    const e = await catchErr(client.getBotsStatus());
    const took = performance.now() - t0;
    expect(e).toMatchObject({ kind: "unavailable" });
    expect(took).toBeLessThan(200 + 400 + 300);
    expect(seen.length).toBeGreaterThanOrEqual(2); // retried inside the deadline
  });

  it("a body that stalls half-way also times out", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"running_bots": [');
    };
    const { client } = makeClient({ timeoutMs: 200, retry: { attempts: 1 } });
    const t0 = performance.now();
    expect(await catchErr(client.getBotsStatus())).toMatchObject({ kind: "unavailable" });
    expect(performance.now() - t0).toBeLessThan(600);
  });

  it("per-call timeout overrides the default", async () => {
    handler = (_req, res) => setTimeout(() => json(res, 200, { running_bots: [] }), 300);
    const { client } = makeClient({ timeoutMs: 100, retry: { attempts: 1 } });
    expect(await catchErr(client.getBotsStatus())).toMatchObject({ kind: "unavailable" });
    await expect(client.getBotsStatus({ timeoutMs: 2000 })).resolves.toEqual({ running_bots: [] });
  });

  it("a caller abort is reported but does not count against the breaker", async () => {
    handler = () => {};
    const clock = new ManualClock();
    const { client } = makeClient({ clock, breaker: { threshold: 1, openMs: 1000 } });
    const ac = new AbortController();
    const p = client.getBotsStatus({ signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    const e = await catchErr(p);
    expect(e).toMatchObject({ kind: "unavailable", retryable: false });
    expect(e.message).toContain("aborted");
    expect(client.breakerState()).toBe("closed");
  });
});

describe("wholesaler client: circuit breaker", () => {
  it("opens after repeated failures, fails fast without network calls, recovers through half-open", async () => {
    let healthy = false;
    handler = (_req, res) =>
      healthy ? json(res, 200, { running_bots: [] }) : json(res, 503, { detail: "down" });
    const clock = new ManualClock();
    const states: string[] = [];
    const { client, events } = makeClient({
      clock,
      breaker: { threshold: 3, openMs: 5000 },
      retry: { attempts: 1 },
    });
    client.onBreakerStateChange((to) => states.push(to));

    for (let i = 0; i < 3; i++) await catchErr(client.getBotsStatus());
    expect(client.breakerState()).toBe("open");
    expect(seen).toHaveLength(3);

    const fast = await catchErr(client.requestBot({ platform: "zoom", native_meeting_id: "1" }));
    expect(fast).toMatchObject({
      kind: "unavailable",
      breakerOpen: true,
      retryAfterSeconds: 5,
      retryable: false,
    });
    expect(seen).toHaveLength(3); // no network call
    expect(events.at(-1)).toMatchObject({ outcome: "breaker_open", route: "POST /bots", durationMs: 0 });

    clock.advance(2500);
    expect((await catchErr(client.listMeetings())).retryAfterSeconds).toBe(3);
    expect(seen).toHaveLength(3);

    // half-open probe fails → open again
    clock.advance(2500);
    expect(client.breakerState()).toBe("half_open");
    await catchErr(client.getBotsStatus());
    expect(client.breakerState()).toBe("open");
    expect(seen).toHaveLength(4);

    // upstream comes back: the next probe closes the circuit
    healthy = true;
    clock.advance(5000);
    await expect(client.getBotsStatus()).resolves.toEqual({ running_bots: [] });
    expect(client.breakerState()).toBe("closed");
    expect(states).toEqual(["open", "half_open", "open", "half_open", "closed"]);
    await expect(client.getBotsStatus()).resolves.toEqual({ running_bots: [] });
  });

  it("404 and 409 answers do not open the breaker", async () => {
    handler = (req, res) =>
      req.method === "GET"
        ? json(res, 404, { detail: "Meeting not found" })
        : json(res, 409, { detail: "dup" });
    const { client } = makeClient({ breaker: { threshold: 2, openMs: 5000 } });
    for (let i = 0; i < 4; i++) {
      expect(await catchErr(client.getTranscript("zoom", "1"))).toMatchObject({ kind: "not_found" });
      expect(await catchErr(client.requestBot({ platform: "zoom", native_meeting_id: "1" }))).toMatchObject({
        kind: "conflict",
      });
    }
    expect(client.breakerState()).toBe("closed");
  });

  it("an open breaker stops a retry loop early", async () => {
    handler = (_req, res) => json(res, 503, { detail: "down" });
    const { client } = makeClient({
      clock: new ManualClock(),
      breaker: { threshold: 2, openMs: 5000 },
      retry: { attempts: 5 },
    });
    const e = await catchErr(client.getBotsStatus());
    expect(e).toMatchObject({ breakerOpen: true });
    expect(seen).toHaveLength(2);
  });

  it("an open breaker caused by a rejected key still says authFailure", async () => {
    handler = (_req, res) => json(res, 403, { detail: "Invalid API token" });
    const { client } = makeClient({ clock: new ManualClock(), breaker: { threshold: 1, openMs: 5000 } });
    await catchErr(client.listMeetings());
    expect(await catchErr(client.listMeetings())).toMatchObject({ breakerOpen: true, authFailure: true });
  });
});

describe("wholesaler client: the service key never leaks", () => {
  const assertNoKey = (v: unknown) => {
    expect(JSON.stringify(v) ?? "").not.toContain(KEY);
    expect(inspect(v, { depth: 10, showHidden: true })).not.toContain(KEY);
  };

  it("not in errors (echoed by the upstream), log lines or call events", async () => {
    const errors: unknown[] = [];
    const { client, logs, events } = makeClient({ retry: { attempts: 2 } });

    handler = (req, res) =>
      json(res, 400, { detail: `bad key ${req.headers["x-api-key"]}`, echo: req.headers });
    errors.push(await catchErr(client.listMeetings()));
    handler = (req, res) =>
      json(res, 500, { detail: { message: `boom ${req.headers["x-api-key"]}`, [KEY]: KEY } });
    errors.push(await catchErr(client.getBotsStatus()));
    handler = (req, res) => json(res, 502, `plain text ${req.headers["x-api-key"]}`);
    errors.push(await catchErr(client.requestBot({ platform: "zoom", native_meeting_id: "1" })));
    handler = (req, res) => json(res, 403, { detail: `Invalid API token ${req.headers["x-api-key"]}` });
    errors.push(await catchErr(client.listMeetings()));
    handler = (req, res) => json(res, 200, { meetings: [{ id: req.headers["x-api-key"] }] });
    errors.push(await catchErr(client.listMeetings()));
    handler = () => {};
    errors.push(await catchErr(client.stopBot("zoom", "1", { timeoutMs: 100 })));

    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, "127.0.0.1", r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const other = makeClient({ baseUrl: `http://127.0.0.1:${port}` });
    errors.push(await catchErr(other.client.listMeetings()));

    expect(errors).toHaveLength(7);
    for (const e of errors) {
      assertNoKey(e);
      assertNoKey((e as Error).message);
      assertNoKey((e as Error).stack);
    }
    expect(String((errors[0] as UpstreamError).detail)).toContain("[redacted]");
    expect(logs.length).toBeGreaterThan(0);
    assertNoKey(logs);
    assertNoKey(other.logs);
    assertNoKey(events);
    // the client object itself does not expose the key either
    assertNoKey(client);
  });
});
