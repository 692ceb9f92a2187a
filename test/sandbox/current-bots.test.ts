import { describe, expect, it } from "vitest";
import { CURRENT_MEETING_KEYS } from "../helpers/vexa-shapes.js";
import { KEY, startSandbox } from "./helpers.js";

/** Current Vexa (core/ layout, api.v1) as the sandbox imitates it: bots, status, stop, auth and scopes. */

const Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$/;
const current = (opts = {}) => startSandbox({ flavor: "current", ...opts });

describe("current Vexa: POST /bots and the bot lifecycle", () => {
  it("201 requested, then joining, awaiting_admission, active (start_time set on admission), Z timestamps", async () => {
    const h = await current({ joinDelayMs: 2000 });
    const res = await h.bot();
    expect(res.status, res.text).toBe(201);
    expect(Object.keys(res.body)).toEqual(CURRENT_MEETING_KEYS);
    expect(res.body).toMatchObject({
      status: "requested",
      start_time: null,
      end_time: null,
      completion_reason: null,
      constructed_meeting_url: "https://meet.google.com/abc-defg-hij",
    });
    expect(res.body.bot_container_id).toMatch(/^mtg-\d+-[0-9a-f]{8}$/);
    expect(res.body.created_at).toMatch(Z);
    // Unknown body keys are not kept: the retailer's service_layer_id does not come back.
    const tagged = await h.api("POST", "/bots", {
      body: { platform: "google_meet", native_meeting_id: "xyz-abcd-efg", service_layer_id: "r-1" },
    });
    expect(tagged.body.data).not.toHaveProperty("service_layer_id");

    const statusAt = async (ms: number) => {
      h.sandbox.advance?.(ms);
      return (await h.api("GET", "/meetings")).body.meetings.at(-1);
    };
    expect((await statusAt(500)).status).toBe("joining");
    expect((await statusAt(500)).status).toBe("awaiting_admission");
    const active = await statusAt(1000);
    expect(active.status).toBe("active");
    expect(active.start_time).toMatch(Z);
  });

  it("409 for a live bot of the room, stopping included; 429 past the cap and no row left", async () => {
    const h = await current({ maxConcurrentBots: 1 });
    await h.bot();
    const dup = await h.bot();
    expect(dup.status).toBe(409);
    expect(dup.body).toEqual({ detail: "An active meeting already exists for google_meet/abc-defg-hij" });
    await h.api("DELETE", "/bots/google_meet/abc-defg-hij");
    expect((await h.bot()).status).toBe(409);
    const over = await h.bot("xyz-abcd-efg");
    expect(over.status).toBe(429);
    expect(over.body).toEqual({ detail: "User has reached the maximum concurrent bot limit (1)." });
    expect((await h.api("GET", "/meetings")).body.meetings).toHaveLength(1);
  });

  it("422s in meeting-api's words: zoom needs a meeting_url, unknown platforms, URL characters", async () => {
    const h = await current();
    const zoom = await h.bot("1234567890", "zoom");
    expect(zoom.status).toBe(422);
    expect(zoom.body.detail).toContain("unsupported platform 'zoom' without a meeting_url");
    expect((await h.bot("x", "webex")).body.detail).toContain("platform 'webex' cannot be spawned");
    expect((await h.bot("abc?p=1")).body.detail).toContain("must be the bare meeting id");
    expect((await h.api("POST", "/bots", { body: { platform: "teams" } })).body).toEqual({
      detail: "'platform' and 'native_meeting_id' (or 'meeting_url') are required",
    });
  });
});

describe("current Vexa: DELETE /bots", () => {
  it("200 {status: stopping, meeting_id, native_meeting_id, ...}; admitted → completed, a second stop 404", async () => {
    const h = await current({ joinDelayMs: 1000, stopDelayMs: 1500 });
    const { body: m } = await h.bot();
    h.sandbox.advance?.(5000);
    const stop = await h.api("DELETE", "/bots/google_meet/abc-defg-hij");
    expect(stop.status, stop.text).toBe(200);
    expect(stop.body).toEqual({
      status: "stopping",
      meeting_id: m.id,
      native_meeting_id: "abc-defg-hij",
      also_stopped: [],
      cancelled: [],
    });
    const again = await h.api("DELETE", "/bots/google_meet/abc-defg-hij");
    expect(again.status).toBe(404);
    expect(again.body).toEqual({ detail: "No active meeting for this bot" });
    h.sandbox.advance?.(1500);
    const done = (await h.api("GET", "/meetings")).body.meetings[0];
    expect(done).toMatchObject({ status: "completed", completion_reason: "stopped", failure_stage: null });
    expect(done.end_time).toMatch(Z);
  });

  it("a bot stopped before admission ends failed at its stage; a bad platform is a 422 after auth", async () => {
    const h = await current({ joinDelayMs: 4000 });
    await h.bot();
    h.sandbox.advance?.(2500); // awaiting_admission
    expect((await h.api("DELETE", "/bots/google_meet/abc-defg-hij")).status).toBe(200);
    h.sandbox.advance?.(2000);
    const m = (await h.api("GET", "/meetings")).body.meetings[0];
    expect(m).toMatchObject({
      status: "failed",
      completion_reason: "stopped",
      failure_stage: "awaiting_admission",
    });
    const bad = await h.api("DELETE", "/bots/webex/x");
    expect(bad.status).toBe(422);
    expect(bad.body.detail).toMatch(/^unsupported platform 'webex' — must be one of: /);
    expect((await h.api("DELETE", "/bots/webex/x", { key: null })).status).toBe(401);
  });
});

describe("current Vexa: status, config, auth", () => {
  it("GET /bots/status lists live meeting rows under running and running_bots", async () => {
    const h = await current();
    const { body: m } = await h.bot();
    await h.bot("xyz-abcd-efg");
    const res = await h.api("GET", "/bots/status");
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(["running", "running_bots", "count"]);
    expect(res.body.count).toBe(2);
    expect(res.body.running_bots).toEqual(res.body.running);
    const item = res.body.running_bots.at(-1);
    expect(item).toMatchObject({
      id: m.id,
      bot_container_id: m.bot_container_id,
      start_time: null,
      shared: false,
    });
    expect(item).toHaveProperty("data");
    expect(item).not.toHaveProperty("container_id");
  });

  it("PUT /bots/.../config does not exist: 404 Not Found, behind the gateway's auth", async () => {
    const h = await current();
    await h.bot();
    const res = await h.api("PUT", "/bots/google_meet/abc-defg-hij/config", { body: { language: "de" } });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ detail: "Not Found" });
    expect((await h.api("PUT", "/bots/google_meet/abc-defg-hij/config", { key: null })).status).toBe(401);
  });

  it("401 for a missing or unknown key; GET /auth/me answers the key's scopes; 403 outside them", async () => {
    const h = await current();
    expect(await h.api("GET", "/meetings", { key: null })).toMatchObject({
      status: 401,
      body: { detail: "Missing API key" },
    });
    expect(await h.api("POST", "/bots", { key: "nope", body: {} })).toMatchObject({
      status: 401,
      body: { detail: "Invalid API key" },
    });
    expect((await h.api("GET", "/auth/me")).body).toEqual({
      user_id: 1,
      email: "sandbox@vexa.local",
      scopes: ["bot", "tx"],
      max_concurrent: 100,
    });
    const set = await h.api("PUT", "/_sandbox/tweaks", { body: { scopes: ["bot"] } });
    expect(set.body).toEqual({ scopes: ["bot"] });
    expect((await h.api("GET", "/auth/me")).body.scopes).toEqual(["bot"]);
    expect((await h.bot()).status).toBe(201);
    const tx = await h.api("GET", "/transcripts/google_meet/abc-defg-hij");
    expect(tx).toMatchObject({ status: 403, body: { detail: "Insufficient scope for this endpoint" } });
    h.sandbox.tweaks.set({ scopes: ["tx"] });
    expect((await h.api("GET", "/bots/status")).status).toBe(403);
    expect((await h.api("GET", "/transcripts/google_meet/abc-defg-hij")).status).toBe(200);
    expect((await h.api("GET", "/auth/me", { key: KEY })).status).toBe(200);
  });

  it("a baseline sandbox has no /auth/me", async () => {
    const h = await startSandbox();
    expect(await h.api("GET", "/auth/me")).toMatchObject({ status: 404, body: { detail: "Not Found" } });
  });
});
