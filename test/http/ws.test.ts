/**
 * `/ws` speaks Vexa's ws.v1 (core/gateway/contracts/ws.v1, the gateway's run_multiplex): in-band auth errors and
 * close 4401, subscribe/unsubscribe/ping, `subscribed` acks listing only the caller's meetings, then the caller's
 * own view: status, a snapshot, segments as they appear and when revised, and the end with the final transcript.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBot, startTestApp, type TestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";
import { SEGMENT_KEYS } from "../helpers/vexa-shapes.js";
import { waitFor } from "../helpers/wait.js";
import { connectWs, latestSegments } from "../helpers/ws-client.js";

const FAST = { segmentIntervalMs: 300, stopDelayMs: 300 };

describe.each(await legs())("/ws (ws.v1) on %s", (leg) => {
  let t: TestApp;
  let wsUrl: string;
  beforeAll(async () => {
    t = await startTestApp(
      leg,
      { RATE_LIMIT_PER_SECOND: "0", LIVE_PUSH_INTERVAL_MS: "200", TRANSCRIPT_CACHE_TTL_MS: "200" },
      { listen: true, sandbox: FAST },
    );
    wsUrl = `${t.gatewayUrl.replace(/^http/, "ws")}/ws`;
  });
  afterAll(async () => t?.close());

  it("answers a missing or wrong key in-band and closes 4401; takes the key as header, Bearer or ?api_key=", async () => {
    const none = await connectWs(wsUrl);
    expect(await none.closed).toBe(4401);
    expect(none.messages).toEqual([{ type: "error", error: "missing_api_key" }]);
    const wrong = await connectWs(wsUrl, { "x-api-key": "w".repeat(40) });
    expect(await wrong.closed).toBe(4401);
    expect(wrong.messages).toEqual([{ type: "error", error: "invalid_api_key" }]);

    const u = await t.newUser();
    for (const c of [
      await connectWs(wsUrl, { "x-api-key": u.key }),
      await connectWs(wsUrl, { authorization: `Bearer ${u.key}` }),
      await connectWs(`${wsUrl}?api_key=${u.key}`),
    ]) {
      c.send({ action: "ping" });
      expect(await c.next((m) => m.type === "pong", "pong")).toEqual({ type: "pong" });
      c.socket.close();
    }
  });

  it("answers bad frames with Vexa's error codes and subscribes only the caller's meetings", async () => {
    const a = await t.newUser();
    const b = await t.newUser();
    expect(
      (
        await t.call("POST", "/bots", {
          key: b.key,
          body: { platform: "google_meet", native_meeting_id: "wsb-bbbb-bbb" },
        })
      ).status,
    ).toBe(201);
    const c = await connectWs(wsUrl, { "x-api-key": a.key });
    const frames: [unknown, unknown][] = [
      ["not json", { type: "error", error: "invalid_json" }],
      [[1, 2], { type: "error", error: "invalid_json" }],
      [{ action: "dance" }, { type: "error", error: "unknown_action" }],
      [
        { action: "subscribe" },
        { type: "error", error: "invalid_subscribe_payload", details: "'meetings' must be a non-empty list" },
      ],
      [
        { action: "subscribe", meetings: [] },
        { type: "error", error: "invalid_subscribe_payload", details: "'meetings' list cannot be empty" },
      ],
      [
        { action: "subscribe", meetings: [{ platform: "google_meet" }] },
        { type: "error", error: "invalid_subscribe_payload", details: "no valid meeting objects" },
      ],
      // B's meeting and a meeting nobody has: authorized for nobody here, so not subscribed.
      [
        {
          action: "subscribe",
          meetings: [
            { platform: "google_meet", native_id: "wsb-bbbb-bbb" },
            { platform: "zoom", native_id: "1234500000" },
            { platform: "nope", native_id: "x" },
          ],
        },
        { type: "subscribed", meetings: [] },
      ],
      [
        { action: "unsubscribe", meetings: [{ platform: "google_meet", native_id: "wsb-bbbb-bbb" }] },
        {
          type: "error",
          error: "invalid_unsubscribe_payload",
          details: ["meetings[0] not currently subscribed"],
        },
      ],
      [
        { action: "unsubscribe" },
        { type: "error", error: "invalid_unsubscribe_payload", details: "'meetings' must be a list" },
      ],
    ];
    for (const [i, [frame, answer]] of frames.entries()) {
      c.send(frame);
      expect(await c.next(() => true, `answer ${i}`, i)).toEqual(answer);
    }
    // Nothing of B's meeting ever reached A.
    await new Promise((r) => setTimeout(r, 500));
    expect(c.messages).toHaveLength(frames.length);
    c.socket.close();
  });

  it("streams the caller's view: status, snapshot, new and revised segments, then the end and the final transcript", async () => {
    const a = await t.newUser();
    const native = `wsl-${leg === "pg" ? "pgpg" : "lite"}-one`;
    const made = await t.call("POST", "/bots", {
      key: a.key,
      body: { platform: "google_meet", native_meeting_id: native },
    });
    expect(made.status, made.raw).toBe(201);
    const ref = { platform: "google_meet", native_id: native };
    const c = await connectWs(wsUrl, { "x-api-key": a.key });
    c.send({ action: "subscribe", meetings: [ref] });
    expect(await c.next((m) => m.type === "subscribed", "ack")).toEqual({
      type: "subscribed",
      meetings: [ref],
    });
    const status = await c.next((m) => m.type === "meeting.status", "status");
    expect(status).toMatchObject({
      meeting: { id: made.body.id, platform: "google_meet", native_id: native },
      payload: { status: made.body.status },
      user_id: a.id,
    });
    await c.next((m) => m.type === "transcript", "snapshot");
    // Segments appear while the meeting is live (the sandbox adds one every 300 ms).
    await c.next((m) => m.type === "transcript" && m.confirmed.length > 0, "live segments");
    const liveCount = latestSegments(c.messages).size;
    expect(liveCount).toBeGreaterThan(0);
    const seg = [...latestSegments(c.messages).values()][0];
    expect(seg).toMatchObject({ completed: true, segment_id: expect.any(String), text: expect.any(String) });
    expect(Object.keys(seg)).toEqual([...SEGMENT_KEYS, "segment_id", "completed"]);

    expect((await t.call("DELETE", `/bots/google_meet/${native}`, { key: a.key })).status).toBe(202);
    const end = await c.next(
      (m) => m.type === "meeting.status" && m.payload.status === "completed",
      "completed",
      0,
      60_000,
    );
    expect(end.user_id).toBe(a.id);
    // What the client holds (latest version of each segment) is the stored final transcript, exactly.
    const stored = await t.call("GET", `/transcripts/google_meet/${native}`, { key: a.key });
    expect(stored.body.status).toBe("completed");
    const held = [...latestSegments(c.messages).values()].map(({ segment_id, completed, ...s }) => s);
    const byStart = (x: { start: number }, y: { start: number }) => x.start - y.start;
    expect(held.sort(byStart)).toEqual([...stored.body.segments].sort(byStart));
    c.socket.close();
  });

  it("SSE at /transcripts/{platform}/{native}/stream carries the same messages, for the caller's own meetings", async () => {
    const a = await t.newUser();
    const b = await t.newUser();
    const native = `sse-${leg === "pg" ? "pgpg" : "lite"}-one`;
    const made = await startBot(t, a.key, native);
    const path = `/transcripts/google_meet/${native}/stream`;
    expect((await t.call("GET", path)).status).toBe(403);
    expect(await t.call("GET", path, { key: b.key })).toMatchObject({
      status: 404,
      body: { detail: `Meeting not found for platform google_meet and ID ${native}` },
    });
    const abort = new AbortController();
    const res = await fetch(`${t.gatewayUrl}${path}?api_key=${a.key}`, { signal: abort.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const messages: any[] = [];
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        text += value;
        const events = text.split("\n\n");
        text = events.pop() ?? "";
        for (const e of events) if (e.startsWith("data: ")) messages.push(JSON.parse(e.slice(6)));
      }
    })();
    await waitFor(
      () => messages.some((m) => m.type === "transcript" && m.confirmed.length > 0),
      30_000,
      "segments",
    );
    expect(messages[0]).toMatchObject({ type: "meeting.status", meeting: { id: made.id }, user_id: a.id });
    expect(messages[1]).toMatchObject({ type: "transcript", meeting: { id: made.id, native_id: native } });
    abort.abort();
    await waitFor(() => t.deps.live?.stats().sinks === 0, 10_000, "stream dropped on disconnect");
  });

  it("a late joiner's subscription carries only its own window", async () => {
    const a = await t.newUser();
    const b = await t.newUser();
    const native = `wsw-${leg === "pg" ? "pgpg" : "lite"}-two`;
    await startBot(t, a.key, native);
    const ca = await connectWs(wsUrl, { "x-api-key": a.key });
    ca.send({ action: "subscribe", meetings: [{ platform: "google_meet", native_id: native }] });
    await ca.next((m) => m.type === "transcript" && m.confirmed.length >= 3, "A has segments");
    await startBot(t, b.key, native);
    const cb = await connectWs(wsUrl, { "x-api-key": b.key });
    cb.send({ action: "subscribe", meetings: [{ platform: "google_meet", native_id: native }] });
    await cb.next(
      (m) => m.type === "transcript" && m.confirmed.length > 0 && m.meeting.native_id === native,
      "B has segments",
    );
    const aSeen = latestSegments(ca.messages);
    const bSeen = latestSegments(cb.messages);
    // B never gets the segments from before it attached; what it gets is what GET /transcripts shows it.
    const bRead = await t.call("GET", `/transcripts/google_meet/${native}`, { key: b.key });
    const bReadIds = new Set(
      // segment_id on the wire is the relative start, to the millisecond.
      bRead.body.segments.map((s: { start: number }) => s.start.toFixed(3)),
    );
    expect([...bSeen.keys()].every((k) => bReadIds.has(k))).toBe(true);
    expect([...aSeen.keys()].some((k) => !bSeen.has(k))).toBe(true);
    for (const m of cb.messages) if (m.type === "meeting.status") expect(m.user_id).toBe(b.id);
    ca.socket.close();
    cb.socket.close();
  });
});
