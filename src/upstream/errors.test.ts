import { describe, expect, it } from "vitest";
import { classifyOutcome } from "./breaker.js";
import { errorFromNetwork, errorFromResponse, parseRetryAfter, UpstreamError } from "./errors.js";

const post = (status: number, detail: unknown, retryAfterSeconds?: number) =>
  errorFromResponse({
    route: "POST /bots",
    method: "POST",
    status,
    detail,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  });
const get = (status: number, detail: unknown) =>
  errorFromResponse({ route: "GET /meetings", method: "GET", status, detail });

describe("errorFromResponse", () => {
  it("maps 409 to conflict, keeping the text", () => {
    const e = post(
      409,
      "An active or requested meeting already exists for this platform and meeting ID. Meeting ID: 42",
    );
    expect(e).toMatchObject({ kind: "conflict", status: 409, retryable: false });
    expect(e.detail).toContain("Meeting ID: 42");
  });

  it("maps the bot limit: baseline 403, newer 429 on POST /bots", () => {
    expect(post(403, "User has reached the maximum concurrent bot limit (3).")).toMatchObject({
      kind: "limit",
      retryable: false,
    });
    expect(post(429, "Too many bots", 7)).toMatchObject({ kind: "limit", status: 429, retryAfterSeconds: 7 });
    expect(post(429, "User has reached the maximum concurrent bot limit (1).")).toMatchObject({
      kind: "limit",
    });
  });

  it("maps a 429 elsewhere to retryable unavailable", () => {
    expect(get(429, "slow down")).toMatchObject({ kind: "unavailable", retryable: true });
  });

  it("maps our service key being refused to unavailable + authFailure, not retryable", () => {
    for (const [status, detail] of [
      [403, "Invalid API token"],
      [403, "Missing API token (X-API-Key header)"],
      [403, "Missing API token"],
      [401, "Missing API Key"],
      [403, "Invalid API Key"],
      [401, "anything at all"],
      [403, "Not authenticated"],
    ] as const) {
      const e = get(status, detail);
      expect(e, `${status} ${detail}`).toMatchObject({
        kind: "unavailable",
        authFailure: true,
        retryable: false,
      });
    }
  });

  it("maps other statuses", () => {
    expect(get(404, "Meeting not found")).toMatchObject({ kind: "not_found", retryable: false });
    expect(get(422, [{ loc: ["body"], msg: "x", type: "y" }])).toMatchObject({
      kind: "rejected",
      status: 422,
    });
    expect(get(400, "No data provided for update.")).toMatchObject({ kind: "rejected", status: 400 });
    expect(get(403, "Some other forbidden thing")).toMatchObject({ kind: "rejected", status: 403 });
    for (const s of [500, 502, 503, 504])
      expect(get(s, "boom")).toMatchObject({ kind: "unavailable", retryable: true });
    expect(
      post(500, { status: "error", message: "Failed to start bot container.", meeting_id: 3 }),
    ).toMatchObject({
      kind: "unavailable",
      detail: { message: "Failed to start bot container." },
    });
  });

  it("a route the wholesaler lacks is unsupported; Vexa's own not-found stays not_found", () => {
    const put = (status: number, detail: unknown) =>
      errorFromResponse({
        route: "PUT /bots/{platform}/{native_meeting_id}/config",
        method: "PUT",
        status,
        detail,
      });
    expect(put(404, "Not Found")).toMatchObject({ kind: "unsupported", status: 404, retryable: false });
    expect(put(405, "Method Not Allowed")).toMatchObject({ kind: "unsupported", status: 405 });
    expect(put(404, "No active meeting found for platform zoom and meeting ID 1.")).toMatchObject({
      kind: "not_found",
    });
    expect(put(404, "No active meeting for this bot")).toMatchObject({ kind: "not_found" });
    expect(put(405, "Some other text")).toMatchObject({ kind: "rejected" });
  });

  it("current Vexa's scope refusal is an operator problem the breaker does not count", () => {
    const e = get(403, "Insufficient scope for this endpoint");
    expect(e).toMatchObject({ kind: "unavailable", scopeFailure: true, retryable: false });
    expect(e.authFailure).toBeUndefined();
    expect(classifyOutcome(e)).toBe("success");
    expect(get(401, "Invalid API key")).toMatchObject({ kind: "unavailable", authFailure: true });
    expect(get(401, "Missing API key")).toMatchObject({ authFailure: true });
  });

  it("network errors are retryable unavailable with a plain cause", () => {
    const e = errorFromNetwork(
      "GET /x",
      Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
      false,
    );
    expect(e).toBeInstanceOf(UpstreamError);
    expect(e).toMatchObject({ kind: "unavailable", retryable: true });
    expect(e.message).toContain("ECONNREFUSED");
    expect(errorFromNetwork("GET /x", new Error("x"), true).message).toContain("timed out");
  });
});

describe("parseRetryAfter", () => {
  it("parses seconds and HTTP dates", () => {
    const now = Date.parse("2026-01-01T10:00:00Z");
    expect(parseRetryAfter("3", now)).toBe(3);
    expect(parseRetryAfter(["10"], now)).toBe(10);
    expect(parseRetryAfter("Thu, 01 Jan 2026 10:00:05 GMT", now)).toBe(5);
    expect(parseRetryAfter("garbage", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
