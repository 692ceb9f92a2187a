import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createDb } from "../../src/db/client.js";
import { createDeps } from "../../src/deps.js";
import { buildApp } from "../../src/http/app.js";
import { MEETING_KEYS } from "../helpers/vexa-shapes.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";

let n = 0;
const letters = (x: number, len: number) =>
  Array.from({ length: len }, (_, i) => "abcdefghijklmnopqrstuvwxyz"[Math.floor(x / 26 ** i) % 26]).join("");
const runTag = Math.floor(Math.random() * 26 ** 4);
const meetId = () => `${letters(n++, 3)}-${letters(runTag, 4)}-${letters(process.pid, 3)}`;
const calls = (t: TestApp, route: string) => t.sandbox.calls()[route] ?? 0;

describe.each(await legs())("bots on %s", (leg) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(leg);
  });
  afterAll(async () => t.close());

  it("POST /bots answers a baseline MeetingResponse with the retailer's own id and records the wholesaler link", async () => {
    const u = await t.newUser();
    const native = meetId();
    const before = calls(t, "POST /bots");
    const res = await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "google_meet", native_meeting_id: native, bot_name: "Notes" },
    });
    expect(res.status, res.raw).toBe(201);
    expect(Object.keys(res.body)).toEqual(MEETING_KEYS);
    expect(res.body).toMatchObject({
      user_id: u.id,
      platform: "google_meet",
      native_meeting_id: native,
      constructed_meeting_url: `https://meet.google.com/${native}`,
      status: "active",
      end_time: null,
      data: {},
    });
    expect(res.body.start_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/);
    expect(calls(t, "POST /bots")).toBe(before + 1);
    const row = await t.deps.db.query<Record<string, unknown>>(
      "SELECT service_layer_id, bot_container_id, wholesaler_meeting_id::int AS w FROM meetings WHERE id = $1",
      [res.body.id],
    );
    expect(row.rows[0]).toMatchObject({
      service_layer_id: "retailer-1",
      bot_container_id: res.body.bot_container_id,
      w: expect.any(Number),
    });
    const upstream = await fetch(`${t.sandboxUrl}/meetings`, {
      headers: { "x-api-key": t.sandboxKey },
    });
    expect(upstream.status).toBe(200);
    const body = (await upstream.json()) as {
      meetings: { native_meeting_id: string; data: Record<string, unknown> }[];
    };
    expect(body.meetings.find((m) => m.native_meeting_id === native)?.data).toMatchObject({
      service_layer_id: "retailer-1",
    });
  });

  it("a leader's POST /bots is two statements: the claim, then the activation returning the answer's view", async () => {
    const u = await t.newUser();
    const names = ["claim", "claim-queued", "activate", "activate-view"];
    const counts = () => names.map((name) => t.deps.db.namedStatements?.().get(name) ?? 0);
    const before = counts();
    const res = await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "google_meet", native_meeting_id: meetId() },
    });
    expect(res.status, res.raw).toBe(201);
    expect(counts().map((c, i) => c - (before[i] ?? 0))).toEqual([1, 0, 0, 1]);
    // The view read with the activation is the one any later read gives.
    const later = await t.call("GET", `/meetings/${res.body.id}`, { key: u.key });
    expect(later.status, later.raw).toBe(200);
    expect(res.body).toMatchObject({ status: "active", bot_container_id: later.body.bot_container_id });
    expect(res.body).toEqual(later.body);
  });

  it("refuses the same user's duplicate with 409 and no upstream call", async () => {
    const u = await t.newUser({ max_concurrent_bots: 3 });
    const native = meetId();
    const first = await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "google_meet", native_meeting_id: native },
    });
    const before = calls(t, "POST /bots");
    const dup = await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "google_meet", native_meeting_id: native },
    });
    expect(dup.status).toBe(409);
    expect(dup.body).toEqual({
      detail: `An active or requested meeting already exists for this platform and meeting ID, and its container is running. Meeting ID: ${first.body.id}`,
    });
    expect(calls(t, "POST /bots")).toBe(before);
  });

  it("403 past max_concurrent_bots leaves no row behind; an admin raise applies at once", async () => {
    const u = await t.newUser({ max_concurrent_bots: 1 });
    await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "google_meet", native_meeting_id: meetId() },
    });
    const before = calls(t, "POST /bots");
    const over = await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "google_meet", native_meeting_id: meetId() },
    });
    expect([over.status, over.body]).toEqual([
      403,
      { detail: "User has reached the maximum concurrent bot limit (1)." },
    ]);
    expect(calls(t, "POST /bots")).toBe(before);
    expect((await t.call("GET", "/meetings", { key: u.key })).body.meetings).toHaveLength(1);
    await t.call("PATCH", `/admin/users/${u.id}`, {
      adminKey: "test-admin-token-0123456789abcdef",
      body: { max_concurrent_bots: 2 },
    });
    const ok = await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "google_meet", native_meeting_id: meetId() },
    });
    expect(ok.status).toBe(201);
  });

  it("shares one upstream bot: the second user attaches without an upstream call and has their own view", async () => {
    const a = await t.newUser();
    const b = await t.newUser();
    const native = meetId();
    const ra = await t.call("POST", "/bots", {
      key: a.key,
      body: { platform: "google_meet", native_meeting_id: native, bot_name: "A-bot" },
    });
    const before = calls(t, "POST /bots");
    const rb = await t.call("POST", "/bots", {
      key: b.key,
      body: { platform: "google_meet", native_meeting_id: native, bot_name: "B-bot" },
    });
    expect(rb.status, rb.raw).toBe(201);
    expect(calls(t, "POST /bots")).toBe(before);
    expect(rb.body).toMatchObject({ id: ra.body.id, user_id: b.id, status: "active" });
    await t.call("PATCH", `/meetings/google_meet/${native}`, {
      key: a.key,
      body: { data: { name: "A's name" } },
    });
    const bMeetings = await t.call("GET", "/meetings", { key: b.key });
    expect(bMeetings.body.meetings[0].data).toEqual({});
    const aStatus = await t.call("GET", "/bots/status", { key: a.key });
    const bStatus = await t.call("GET", "/bots/status", { key: b.key });
    expect(aStatus.body.running_bots).toHaveLength(1);
    expect(bStatus.body.running_bots[0]).toMatchObject({
      platform: "google_meet",
      native_meeting_id: native,
      labels: { "vexa.user_id": String(b.id) },
    });

    // The first to leave only detaches; the upstream bot stops when the last holder stops.
    const stopsBefore = calls(t, "DELETE /bots/{platform}/{native_meeting_id}");
    const sa = await t.call("DELETE", `/bots/google_meet/${native}`, { key: a.key });
    expect([sa.status, sa.body]).toEqual([202, { message: "Stop request accepted and is being processed." }]);
    expect(calls(t, "DELETE /bots/{platform}/{native_meeting_id}")).toBe(stopsBefore);
    expect((await t.call("DELETE", `/bots/google_meet/${native}`, { key: a.key })).body).toEqual({
      detail: "Active meeting not found.",
    });
    expect((await t.call("GET", "/bots/status", { key: a.key })).body.running_bots).toEqual([]);
    expect((await t.call("GET", "/bots/status", { key: b.key })).body.running_bots).toHaveLength(1);
    const sb = await t.call("DELETE", `/bots/google_meet/${native}`, { key: b.key });
    expect(sb.status).toBe(202);
    expect(calls(t, "DELETE /bots/{platform}/{native_meeting_id}")).toBe(stopsBefore + 1);
    const bView = (await t.call("GET", "/meetings", { key: b.key })).body.meetings[0];
    expect(bView.status).toBe("stopping");
  });

  it("N >= 20 concurrent requests from different users for one meeting make exactly one upstream POST /bots", async () => {
    const users = await Promise.all(Array.from({ length: 20 }, () => t.newUser()));
    const native = meetId();
    const before = calls(t, "POST /bots");
    const results = await Promise.all(
      users.map((u) =>
        t.call("POST", "/bots", { key: u.key, body: { platform: "google_meet", native_meeting_id: native } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(users.map(() => 201));
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(calls(t, "POST /bots")).toBe(before + 1);
  });

  it("PUT config: 202 when active, 409 when not active, 404 when unknown", async () => {
    const u = await t.newUser();
    const native = meetId();
    await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "google_meet", native_meeting_id: native },
    });
    const ok = await t.call("PUT", `/bots/google_meet/${native}/config`, {
      key: u.key,
      body: { language: "es" },
    });
    expect([ok.status, ok.body]).toEqual([
      202,
      { message: "Reconfiguration request accepted and sent to the bot." },
    ]);
    await t.call("DELETE", `/bots/google_meet/${native}`, { key: u.key });
    const stopped = await t.call("PUT", `/bots/google_meet/${native}/config`, {
      key: u.key,
      body: { language: "es" },
    });
    expect([stopped.status, stopped.body]).toEqual([
      409,
      { detail: "Meeting found but is not active (status: 'stopping'). Cannot reconfigure." },
    ]);
    const unknown = await t.call("PUT", "/bots/google_meet/zzz-zzzz-zzz/config", { key: u.key, body: {} });
    expect([unknown.status, unknown.body]).toEqual([
      404,
      { detail: "No active meeting found for platform google_meet and meeting ID zzz-zzzz-zzz." },
    ]);
  });

  it("validates like Vexa and never reaches the wholesaler on auth or validation failure", async () => {
    const u = await t.newUser();
    const before = calls(t, "POST /bots");
    const bad = await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "webex", native_meeting_id: "x" },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.detail[0]).toEqual({
      loc: ["body", "platform"],
      msg: "value is not a valid enumeration member; permitted: 'google_meet', 'zoom', 'teams'",
      type: "type_error.enum",
      ctx: { enum_values: ["google_meet", "zoom", "teams"] },
    });
    const missing = await t.call("POST", "/bots", { key: u.key, body: { platform: "zoom" } });
    expect(missing.body.detail).toEqual([
      { loc: ["body", "native_meeting_id"], msg: "field required", type: "value_error.missing" },
    ]);
    const noKey = await t.call("POST", "/bots", {
      body: { platform: "zoom", native_meeting_id: "123456789" },
    });
    expect([noKey.status, noKey.body]).toEqual([403, { detail: "Missing API token (X-API-Key header)" }]);
    const badKey = await t.call("POST", "/bots", {
      key: "nope",
      body: { platform: "zoom", native_meeting_id: "123456789" },
    });
    expect([badKey.status, badKey.body]).toEqual([403, { detail: "Invalid API token" }]);
    const badPath = await t.call("DELETE", "/bots/webex/abc", {});
    expect(badPath.status).toBe(422);
    expect(badPath.body.detail[0].loc).toEqual(["path", "platform"]);
    expect(calls(t, "POST /bots")).toBe(before);
  });

  it("wholesaler down: 503 with Retry-After within 2 s, nothing half-written, and recovery", async () => {
    const u = await t.newUser();
    t.sandbox.faults.set("POST /bots", { outage: true });
    try {
      const started = Date.now();
      const res = await t.call("POST", "/bots", {
        key: u.key,
        body: { platform: "google_meet", native_meeting_id: meetId() },
      });
      expect(Date.now() - started).toBeLessThan(2000);
      expect(res.status, res.raw).toBe(503);
      expect(res.headers["retry-after"]).toBeDefined();
      expect(res.body.detail).toMatch(/temporarily unavailable/);
      expect((await t.call("GET", "/meetings", { key: u.key })).body.meetings).toEqual([]);
    } finally {
      t.sandbox.faults.reset();
    }
  });

  it("adopts the wholesaler's meeting on an upstream 409 for a meeting we lost track of", async () => {
    const u = await t.newUser();
    const native = meetId();
    const direct = await fetch(`${t.sandboxUrl}/bots`, {
      method: "POST",
      headers: { "x-api-key": t.sandboxKey, "content-type": "application/json" },
      body: JSON.stringify({ platform: "google_meet", native_meeting_id: native }),
    });
    expect(direct.status).toBe(201);
    const upstreamMeeting = (await direct.json()) as { id: number };
    const res = await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "google_meet", native_meeting_id: native },
    });
    expect(res.status, res.raw).toBe(201);
    const row = await t.deps.db.query<Record<string, unknown>>(
      "SELECT wholesaler_meeting_id::int AS w, adopted FROM meetings WHERE id = $1",
      [res.body.id],
    );
    expect(row.rows[0]).toMatchObject({ w: upstreamMeeting.id, adopted: true });
  });
});

describe.each(await legs())("bots with a wholesaler at capacity on %s", (leg) => {
  it.each([403, 429] as const)(
    "an upstream %s limit becomes a 503 with Retry-After, not the user's fault",
    async (limitStatus) => {
      const t = await startTestApp(leg, {}, { sandbox: { maxConcurrentBots: 1, limitStatus } });
      try {
        const a = await t.newUser();
        const b = await t.newUser();
        expect(
          (
            await t.call("POST", "/bots", {
              key: a.key,
              body: { platform: "google_meet", native_meeting_id: "aaa-bbbb-ccc" },
            })
          ).status,
        ).toBe(201);
        const res = await t.call("POST", "/bots", {
          key: b.key,
          body: { platform: "google_meet", native_meeting_id: "ddd-eeee-fff" },
        });
        expect(res.status).toBe(503);
        expect(res.headers["retry-after"]).toBeDefined();
        expect(res.body.detail).toMatch(/capacity/);
        expect((await t.call("GET", "/meetings", { key: b.key })).body.meetings).toEqual([]);
      } finally {
        await t.close();
      }
    },
  );
});

describe("two retailer instances sharing one PostgreSQL", async () => {
  const hasPg = (await legs()).includes("pg");
  it.skipIf(!hasPg)("make exactly one upstream POST /bots for 50 simultaneous requests", async () => {
    const t = await startTestApp("pg");
    const db2 = await createDb({ kind: "pg", url: t.dbUrl!, poolSize: 10 });
    const deps2 = await createDeps(loadConfig(t.env), { db: db2 });
    const gateway2 = await buildApp("gateway", deps2);
    try {
      const users = await Promise.all(Array.from({ length: 50 }, () => t.newUser()));
      const native = meetId();
      const results = await Promise.all(
        users.map((u, i) =>
          (i % 2 === 0 ? t.gateway : gateway2).inject({
            method: "POST",
            url: "/bots",
            headers: { "x-api-key": u.key, "content-type": "application/json" },
            payload: JSON.stringify({ platform: "google_meet", native_meeting_id: native }),
          }),
        ),
      );
      expect(results.map((r) => r.statusCode)).toEqual(users.map(() => 201));
      expect(calls(t, "POST /bots")).toBe(1);
      // Stoppable through the other instance.
      const stop = await gateway2.inject({
        method: "DELETE",
        url: `/bots/google_meet/${native}`,
        headers: { "x-api-key": users[0]!.key },
      });
      expect(stop.statusCode).toBe(202);
    } finally {
      await gateway2.close();
      await deps2.close();
      await t.close();
    }
  });
});

describe("retailers sharing one wholesaler account", () => {
  it("never adopts a bot another retailer (another SERVICE_LAYER_ID) started", async () => {
    const t = await startTestApp("pglite");
    try {
      const theirs = await fetch(`${t.sandboxUrl}/bots`, {
        method: "POST",
        headers: { "x-api-key": t.sandboxKey, "content-type": "application/json" },
        body: JSON.stringify({
          platform: "google_meet",
          native_meeting_id: "oth-erre-tai",
          service_layer_id: "retailer-2",
        }),
      });
      expect(theirs.status).toBe(201);
      const u = await t.newUser();
      const res = await t.call("POST", "/bots", {
        key: u.key,
        body: { platform: "google_meet", native_meeting_id: "oth-erre-tai" },
      });
      expect(res.status, res.raw).toBe(503);
      expect((await t.call("GET", "/meetings", { key: u.key })).body.meetings).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
