import { describe, expect, it } from "vitest";
import { connectWs, latestSegments } from "../helpers/ws-client.js";
import { KEY, startSandbox } from "./helpers.js";

/** Current Vexa's /ws (ws.v1) as the sandbox serves it: auth, subscribe, and the live bundles and statuses. */
describe("current Vexa: /ws", () => {
  it("closes 4401 without or with a wrong key; pushes status changes and segments of a subscribed meeting", async () => {
    const h = await startSandbox({ flavor: "current", joinDelayMs: 2000, segmentIntervalMs: 500 });
    const ws = `${h.url.replace(/^http/, "ws")}/ws`;
    const none = await connectWs(ws);
    expect(await none.closed).toBe(4401);
    expect(none.messages).toEqual([{ type: "error", error: "missing_api_key" }]);
    const wrong = await connectWs(`${ws}?api_key=nope`);
    expect(await wrong.closed).toBe(4401);
    expect(wrong.messages).toEqual([{ type: "error", error: "invalid_api_key" }]);

    expect((await h.bot()).status).toBe(201);
    const c = await connectWs(ws, { "x-api-key": KEY });
    c.send({ action: "ping" });
    await c.next((m) => m.type === "pong", "pong");
    const ref = { platform: "google_meet", native_id: "abc-defg-hij" };
    c.send({ action: "subscribe", meetings: [ref, { platform: "zoom", native_id: "1" }] });
    expect(await c.next((m) => m.type === "subscribed", "ack")).toEqual({
      type: "subscribed",
      meetings: [ref],
    });
    await c.next((m) => m.type === "meeting.status" && m.payload.status === "requested", "requested");
    h.sandbox.advance?.(2000);
    await c.next((m) => m.type === "meeting.status" && m.payload.status === "active", "active");
    h.sandbox.advance?.(60_000);
    await c.next((m) => m.type === "transcript", "a bundle");
    const transcript = (await h.api("GET", "/transcripts/google_meet/abc-defg-hij")).body;
    await c.next(() => latestSegments(c.messages).size >= transcript.segments.length, "every segment");
    for (const s of transcript.segments) expect(latestSegments(c.messages).get(s.segment_id)).toEqual(s);
    c.socket.close();
  });
});
