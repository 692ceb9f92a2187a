import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { addSegmentsWhenRoom } from "../../bench/lib/http.js";
import { edgeNote, failureNote, type LoadResult, load, Tally } from "../../bench/lib/load.js";

/** The bench harness's judgement of a load run: what counts as a failure, and what is only the run's edges. */

const result = (over: Partial<LoadResult>): LoadResult => ({
  title: "run",
  connections: 4,
  connectionRate: undefined,
  durationS: 1,
  ok: 100,
  sent: 104,
  inFlightAtEnd: 4,
  non2xx: 0,
  errors: 0,
  timeouts: 0,
  rps: 100,
  p50: 1,
  p90: 1,
  p99: 1,
  mean: 1,
  max: 1,
  meanBytes: 10,
  statusCodes: { 200: 100 },
  cpu: undefined,
  window: {},
  ...over,
});

describe("Tally", () => {
  it("keeps 2xx latencies, counts other answers as non-2xx, and tells autocannon's timeouts from connection errors", () => {
    const t = new Tally();
    t.response(200, 10, 1.5);
    t.response(201, 20, 2.5);
    t.response(503, 5, 0.5);
    t.error(new Error("request timed out"));
    t.error(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }));
    expect(t.latencies).toEqual([1.5, 2.5]);
    expect(t.okBytes).toBe(30);
    expect(t.non2xx).toBe(1);
    expect(t.timeouts).toBe(1);
    expect(t.errors).toBe(1);
    expect(t.statusCodes).toEqual({ 200: 1, 201: 1, 503: 1 });
  });
});

describe("failureNote / edgeNote", () => {
  it("requests in flight when the window closed are no failure, only an edge note", () => {
    const r = result({ inFlightAtEnd: 500, connections: 500, ok: 60_000 });
    expect(failureNote(r)).toBeUndefined();
    expect(edgeNote(r)).toContain("500 requests in flight when the window closed (not failures)");
  });

  it("non-2xx, connection errors and timeouts in the window are failures", () => {
    expect(failureNote(result({ non2xx: 1 }))).toContain("1 non-2xx");
    expect(failureNote(result({ errors: 2 }))).toContain("2 connection errors");
    expect(failureNote(result({ timeouts: 3 }))).toContain("3 timeouts");
  });

  it("connections still unanswered when the window opened are a failure", () => {
    const r = result({
      ramp: { seconds: 15, timeouts: 286, errors: 0, unansweredAtOpen: 286 },
      connections: 500,
    });
    expect(failureNote(r)).toContain("286 of 500 connections had no answer 15 s after the run started");
  });

  it("fewer answers than connections is a failure", () => {
    expect(failureNote(result({ ok: 3, connections: 4 }))).toContain("only 3 answers for 4 connections");
  });

  it("timeouts of the ramp-up (before every connection was answered) are reported, not judged", () => {
    const r = result({ ramp: { seconds: 10.2, timeouts: 60, errors: 0, unansweredAtOpen: 0 } });
    expect(failureNote(r)).toBeUndefined();
    expect(edgeNote(r)).toContain("every connection first answered after 10.2 s, with 60 timeouts");
  });
});

describe("load (real autocannon runs against a local server)", () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    server = undefined;
  });

  /** A node:http server; `answer(socketIndex, requestIndexOnSocket)` says whether (and after how long) to answer. */
  async function serve(answer: (socket: number, request: number) => number | null): Promise<string> {
    const sockets = new Map<Socket, { index: number; requests: number }>();
    const srv = createServer((req, res) => {
      let s = sockets.get(req.socket);
      if (!s) {
        s = { index: sockets.size, requests: 0 };
        sockets.set(req.socket, s);
      }
      const delay = answer(s.index, s.requests++);
      req.resume();
      if (delay !== null) setTimeout(() => res.end("ok"), delay);
    });
    server = srv;
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(srv.address() as AddressInfo).port}/`;
  }

  it("a closed loop ends with about one request in flight per connection: counted apart, not as errors or timeouts", async () => {
    const url = await serve(() => 50);
    const r = await load({ title: "slow answers", url, connections: 4, durationS: 0.5 });
    expect(r.errors + r.timeouts + r.non2xx).toBe(0);
    expect(r.inFlightAtEnd).toBeGreaterThan(0);
    expect(r.inFlightAtEnd).toBeLessThanOrEqual(4);
    expect(r.ramp?.unansweredAtOpen).toBe(0);
    expect(failureNote(r)).toBeUndefined();
  });

  it("a connection starved before its first answer (a saturated server accepting it late) is ramp-up, not a failure", async () => {
    // The second connection's first request is never answered: autocannon times it out and reconnects.
    const url = await serve((socket, request) => (socket === 1 && request === 0 ? null : 5));
    const r = await load({
      title: "one starved connection",
      url,
      connections: 2,
      durationS: 1.5,
      timeoutS: 1,
    });
    expect(r.ramp?.timeouts).toBe(1);
    expect(r.ramp?.unansweredAtOpen).toBe(0);
    expect(r.timeouts + r.errors + r.non2xx).toBe(0);
    expect(failureNote(r)).toBeUndefined();
    expect(edgeNote(r)).toContain("with 1 timeouts");
  });

  it("a request left unanswered during the window is a timeout, and a failure", async () => {
    // The first connection's third request is never answered (its first answers open the window).
    const url = await serve((socket, request) => (socket === 0 && request === 2 ? null : 5));
    const r = await load({ title: "one stuck request", url, connections: 2, durationS: 2.5, timeoutS: 1 });
    expect(r.timeouts).toBeGreaterThanOrEqual(1);
    expect(failureNote(r)).toContain("timeouts");
  });
});

describe("addSegmentsWhenRoom", () => {
  it("waits out the sandbox's 409 (no room yet) and stops at the first success", async () => {
    const answers = [409, 409, 201, 500];
    let calls = 0;
    await addSegmentsWhenRoom(async () => ({ status: answers[calls++] ?? 500, body: {} }), { intervalMs: 1 });
    expect(calls).toBe(3);
  });

  it("fails at once on any other status", async () => {
    let calls = 0;
    await expect(
      addSegmentsWhenRoom(async () => {
        calls++;
        return { status: 404, body: { detail: "no meeting" } };
      }),
    ).rejects.toThrow("HTTP 404");
    expect(calls).toBe(1);
  });
});
