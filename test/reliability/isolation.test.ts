/**
 * Isolation (issue 8 item 5): no user can see or touch another user's meeting, transcript, bot or webhook settings
 * — on every user route, with Vexa's own 404 messages — including through a shared bot, where each holder has
 * their own view (data edits, transcript window, status) and one holder leaving does not end the others' bot.
 * Admin routes refuse user keys; a deleted token stops working at once. (SSRF is test/reliability/ssrf.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, startTestApp, type TestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";
import { waitFor } from "../helpers/wait.js";
import { type Receiver, startReceiver } from "./support.js";

const STOP = "DELETE /bots/{platform}/{native_meeting_id}";
const CONFIG = "PUT /bots/{platform}/{native_meeting_id}/config";
const DEL_M = "DELETE /meetings/{platform}/{native_meeting_id}";
const ms = (iso: string) => Date.parse(iso.endsWith("Z") || iso.includes("+") ? iso : `${iso}Z`);

describe.each(await legs())("isolation between users on %s", (leg) => {
  let t: TestApp;
  let receiver: Receiver;
  const tag = leg === "pg" ? "p" : "l";
  beforeAll(async () => {
    receiver = await startReceiver();
    t = await startTestApp(
      leg,
      { RATE_LIMIT_PER_SECOND: "0", RECONCILE_INTERVAL_SECONDS: "1" },
      { listen: true, sandbox: { stopDelayMs: 100, segmentIntervalMs: 250 } },
    );
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  const calls = () => ({ ...t.sandbox.calls() });
  const mine = async (key: string) =>
    (await t.call("GET", "/meetings", { key })).body.meetings as {
      id: number;
      native_meeting_id: string;
      status: string;
    }[];

  it("another user's meetings, transcripts, bots and webhook settings are invisible and untouchable (404)", async () => {
    const a = await t.newUser({ max_concurrent_bots: 5 });
    const b = await t.newUser({ max_concurrent_bots: 5 });
    const live = `iso-live-${tag}aa`;
    const done = `iso-done-${tag}aa`;
    for (const native of [live, done]) {
      const r = await t.call("POST", "/bots", {
        key: a.key,
        body: { platform: "google_meet", native_meeting_id: native },
      });
      expect(r.status, r.raw).toBe(201);
    }
    await t.call("PATCH", `/meetings/google_meet/${live}`, {
      key: a.key,
      body: { data: { name: "A's board meeting" } },
    });
    const hook = await t.call("PUT", "/user/webhook", {
      key: a.key,
      body: { webhook_url: `${receiver.url}/a` },
    });
    const aSecret = hook.body.webhook_secret as string;
    expect(aSecret).toMatch(/^whsec_/);
    await waitFor(
      async () =>
        (await t.call("GET", `/transcripts/google_meet/${live}`, { key: a.key })).body.segments.length > 0,
      15_000,
      "A's live transcript",
    );
    expect((await t.call("DELETE", `/bots/google_meet/${done}`, { key: a.key })).status).toBe(202);
    await waitFor(
      async () => (await mine(a.key)).find((m) => m.native_meeting_id === done)?.status === "completed",
      30_000,
      "A's finished meeting",
    );
    // Stored and marked ended commit before the finalizer deletes the meeting upstream (design §5.3): wait for
    // that clean-up too, or it lands among B's attempts and looks like one of them reached the wholesaler.
    await waitFor(
      async () =>
        (
          await t.deps.db.query<{ upstream_deleted: boolean }>(
            "SELECT upstream_deleted FROM meetings WHERE platform_specific_id = $1",
            [done],
          )
        ).rows[0]?.upstream_deleted === true,
      30_000,
      "A's finished meeting deleted upstream",
    );
    const snapshot = async () => ({
      meetings: (await t.call("GET", "/meetings", { key: a.key })).body,
      live: (await t.call("GET", `/transcripts/google_meet/${live}`, { key: a.key })).body.id,
      done: (await t.call("GET", `/transcripts/google_meet/${done}`, { key: a.key })).body,
      status: (await t.call("GET", "/bots/status", { key: a.key })).body.running_bots.map(
        (x: { native_meeting_id: string }) => x.native_meeting_id,
      ),
      user: (await t.call("GET", `/admin/users/${a.id}`, { adminKey: ADMIN_TOKEN })).body.data,
    });
    const before = await snapshot();
    const upstreamBefore = calls();

    // B, on every user route, against A's meetings (live and finished).
    for (const native of [live, done]) {
      const notFound = { detail: `Meeting not found for platform google_meet and ID ${native}` };
      const attempts: [string, string, unknown, number, unknown][] = [
        ["GET", `/transcripts/google_meet/${native}`, undefined, 404, notFound],
        ["PATCH", `/meetings/google_meet/${native}`, { data: { name: "B was here" } }, 404, notFound],
        ["DELETE", `/meetings/google_meet/${native}`, undefined, 404, notFound],
        ["DELETE", `/bots/google_meet/${native}`, undefined, 404, { detail: "Active meeting not found." }],
        [
          "PUT",
          `/bots/google_meet/${native}/config`,
          { language: "de" },
          404,
          { detail: `No active meeting found for platform google_meet and meeting ID ${native}.` },
        ],
      ];
      for (const [method, url, body, status, detail] of attempts) {
        const res = await t.call(method, url, { key: b.key, ...(body === undefined ? {} : { body }) });
        expect([res.status, res.body], `${method} ${url}`).toEqual([status, detail]);
      }
    }
    expect(await mine(b.key)).toEqual([]);
    expect((await t.call("GET", "/bots/status", { key: b.key })).body).toEqual({ running_bots: [] });
    const usage = await t.call("GET", "/usage", { key: b.key });
    expect(usage.status, usage.raw).toBe(200);
    expect(JSON.stringify(usage.body)).not.toContain(live);
    // B's webhook settings are B's own: A's URL and secret are untouched.
    const bHook = await t.call("PUT", "/user/webhook", {
      key: b.key,
      body: { webhook_url: `${receiver.url}/b` },
    });
    expect(bHook.body).toMatchObject({ id: b.id, data: { webhook_url: `${receiver.url}/b` } });
    expect(bHook.body.webhook_secret).not.toBe(aSecret);
    expect((await t.call("POST", "/user/webhook/secret", { key: b.key })).status).toBe(200);
    const secrets = await t.deps.db.query<{ id: number; webhook_secret: string }>(
      "SELECT id, webhook_secret FROM users WHERE id = $1",
      [a.id],
    );
    expect(secrets.rows[0]?.webhook_secret).toBe(aSecret);

    // Nothing of A's changed, and none of B's attempts reached the wholesaler.
    expect(await snapshot()).toEqual(before);
    const after = calls();
    for (const route of [STOP, CONFIG, DEL_M, "POST /bots"])
      expect(after[route], route).toBe(upstreamBefore[route]);
  });

  it("through a shared bot each holder has their own view; one leaving does not end the others'", async () => {
    const a = await t.newUser({ max_concurrent_bots: 5 });
    const b = await t.newUser({ max_concurrent_bots: 5 });
    const c = await t.newUser({ max_concurrent_bots: 5 });
    for (const [u, path] of [
      [a, "a"],
      [b, "b"],
      [c, "c"],
    ] as const) {
      await t.call("PUT", "/user/webhook", {
        key: u.key,
        body: { webhook_url: `${receiver.url}/shared-${tag}-${path}` },
      });
    }
    const native = `iso-shar-${tag}ed`;
    const posts = t.sandbox.calls()["POST /bots"] ?? 0;
    const first = await t.call("POST", "/bots", {
      key: a.key,
      body: { platform: "google_meet", native_meeting_id: native },
    });
    expect(first.status, first.raw).toBe(201);
    const read = async (key: string) =>
      (await t.call("GET", `/transcripts/google_meet/${native}`, { key })).body;
    await waitFor(async () => (await read(a.key)).segments.length >= 2, 20_000, "A hears something first");

    const joined = await t.call("POST", "/bots", {
      key: b.key,
      body: { platform: "google_meet", native_meeting_id: native, bot_name: "B's bot" },
    });
    expect(joined.status, joined.raw).toBe(201);
    expect(joined.body).toMatchObject({ id: first.body.id, user_id: b.id, data: {} });
    expect((t.sandbox.calls()["POST /bots"] ?? 0) - posts, "one wholesaler bot").toBe(1);
    expect(
      (
        await t.call("POST", "/bots", {
          key: c.key,
          body: { platform: "google_meet", native_meeting_id: native },
        })
      ).status,
    ).toBe(201);

    // Data edits are per holder.
    await t.call("PATCH", `/meetings/google_meet/${native}`, {
      key: a.key,
      body: { data: { name: "A's name", notes: "A" } },
    });
    await t.call("PATCH", `/meetings/google_meet/${native}`, {
      key: b.key,
      body: { data: { name: "B's name" } },
    });
    const view = async (key: string) =>
      (await mine(key)).find((m) => m.native_meeting_id === native) as Record<string, any>;
    expect((await view(a.key)).data).toEqual({ name: "A's name", notes: "A" });
    expect((await view(b.key)).data).toEqual({ name: "B's name" });
    expect((await view(c.key)).data).toEqual({});
    expect((await view(a.key)).user_id).toBe(a.id);
    expect((await view(b.key)).user_id).toBe(b.id);

    // The transcript window: B hears only from when it joined.
    await waitFor(async () => (await read(b.key)).segments.length >= 2, 20_000, "B hears something");
    const bJoined = ms(
      (
        await t.deps.db.query<{ attached_at: string }>(
          "SELECT attached_at FROM user_meetings WHERE user_id = $1 AND meeting_id = $2",
          [b.id, first.body.id],
        )
      ).rows[0]?.attached_at ?? "",
    );
    const aSegs = (await read(a.key)).segments as { absolute_start_time: string }[];
    const bSegs = (await read(b.key)).segments as { absolute_start_time: string }[];
    expect(
      aSegs.some((s) => ms(s.absolute_start_time) < bJoined),
      "A has segments from before B joined",
    ).toBe(true);
    expect(
      bSegs.every((s) => ms(s.absolute_start_time) >= bJoined),
      "B sees nothing from before it joined",
    ).toBe(true);

    // B leaves: A's and C's bot goes on, nothing is stopped upstream, and B's window closes.
    const stops = t.sandbox.calls()[STOP] ?? 0;
    expect((await t.call("DELETE", `/bots/google_meet/${native}`, { key: b.key })).status).toBe(202);
    expect((t.sandbox.calls()[STOP] ?? 0) - stops, "no upstream stop while others hold the bot").toBe(0);
    expect((await view(b.key)).status).toBe("completed");
    expect((await view(a.key)).status).toBe("active");
    expect(
      (await t.call("GET", "/bots/status", { key: a.key })).body.running_bots.map(
        (x: { native_meeting_id: string }) => x.native_meeting_id,
      ),
    ).toContain(native);
    expect((await t.call("GET", "/bots/status", { key: b.key })).body.running_bots).toEqual([]);
    expect(
      (await t.call("DELETE", `/bots/google_meet/${native}`, { key: b.key })).status,
      "B cannot stop it twice",
    ).toBe(404);
    const conf = await t.call("PUT", `/bots/google_meet/${native}/config`, {
      key: b.key,
      body: { language: "fr" },
    });
    expect([conf.status, conf.body]).toEqual([
      409,
      { detail: "Meeting found but is not active (status: 'completed'). Cannot reconfigure." },
    ]);
    const bLeft = Date.now();
    await waitFor(
      async () =>
        (await read(a.key)).segments.some(
          (s: { absolute_start_time: string }) => ms(s.absolute_start_time) > bLeft + 300,
        ),
      20_000,
      "A keeps hearing after B left",
    );
    const bAfter = (await read(b.key)).segments as { absolute_start_time: string }[];
    expect(
      bAfter.every((s) => ms(s.absolute_start_time) <= bLeft + 1000),
      "B's window closed when it left",
    ).toBe(true);

    // B deletes its record: only B's. A's meeting and transcript stay.
    expect((await t.call("DELETE", `/meetings/google_meet/${native}`, { key: b.key })).status).toBe(200);
    expect(await view(b.key)).toBeUndefined();
    expect((await read(a.key)).segments.length).toBeGreaterThan(aSegs.length - 1);
    expect((await view(a.key)).data).toEqual({ name: "A's name", notes: "A" });

    // A and C stop; the meeting finalizes once; each remaining holder is notified of their own view.
    expect((await t.call("DELETE", `/bots/google_meet/${native}`, { key: a.key })).status).toBe(202);
    expect((await view(c.key)).status, "C still holds the bot").toBe("active");
    expect((await t.call("DELETE", `/bots/google_meet/${native}`, { key: c.key })).status).toBe(202);
    await waitFor(
      () =>
        receiver.deliveries.some((d) => d.path === `/shared-${tag}-a`) &&
        receiver.deliveries.some((d) => d.path === `/shared-${tag}-c`),
      30_000,
      "A's and C's notifications",
    );
    const payload = (p: string) => JSON.parse(receiver.deliveries.find((d) => d.path === p)?.body ?? "{}");
    expect(payload(`/shared-${tag}-a`)).toMatchObject({
      id: first.body.id,
      user_id: a.id,
      data: { name: "A's name" },
    });
    expect(payload(`/shared-${tag}-c`)).toMatchObject({ id: first.body.id, user_id: c.id });
    expect(payload(`/shared-${tag}-c`).data.name).toBeUndefined();
    expect(
      receiver.deliveries.some((d) => d.path === `/shared-${tag}-b`),
      "B deleted its record",
    ).toBe(false);
  }, 60_000);

  it("admin routes refuse user keys, however they are presented", async () => {
    const u = await t.newUser();
    const countUsers = async () =>
      (await t.deps.db.query<{ n: number }>("SELECT count(*)::int AS n FROM users")).rows[0]?.n;
    const countTokens = async () =>
      (await t.deps.db.query<{ n: number }>("SELECT count(*)::int AS n FROM api_tokens")).rows[0]?.n;
    const [users, tokens] = [await countUsers(), await countTokens()];
    const routes: [string, string, unknown][] = [
      ["GET", "/admin/users", undefined],
      ["POST", "/admin/users", { email: "intruder@example.com" }],
      ["GET", `/admin/users/email/${encodeURIComponent(u.email)}`, undefined],
      ["GET", `/admin/users/${u.id}`, undefined],
      ["PATCH", `/admin/users/${u.id}`, { max_concurrent_bots: 100 }],
      ["POST", `/admin/users/${u.id}/tokens`, undefined],
      ["DELETE", "/admin/tokens/1", undefined],
      ["GET", "/admin/stats/meetings-users", undefined],
      ["GET", "/admin/usage", undefined],
    ];
    for (const app of ["gateway", "admin"] as const) {
      for (const [method, url, body] of routes) {
        for (const headers of <Record<string, string>[]>[
          { "x-api-key": u.key },
          { "x-admin-api-key": u.key },
          { "x-api-key": u.key, "x-admin-api-key": u.key },
          { authorization: `Bearer ${u.key}` },
        ]) {
          const res = await t.call(method, url, { app, headers, ...(body === undefined ? {} : { body }) });
          expect([res.status, res.body], `${app} ${method} ${url} ${Object.keys(headers)}`).toEqual([
            403,
            { detail: "Invalid or missing admin token." },
          ]);
        }
      }
    }
    expect([await countUsers(), await countTokens()]).toEqual([users, tokens]);
    expect(
      (await t.call("GET", `/admin/users/${u.id}`, { adminKey: ADMIN_TOKEN })).body.max_concurrent_bots,
    ).toBe(1);
  });

  it("a deleted token stops working at once, on every route style; the user's other token keeps working", async () => {
    const u = await t.newUser();
    const second = await t.call("POST", `/admin/users/${u.id}/tokens`, { adminKey: ADMIN_TOKEN });
    const other = second.body.token as string;
    const ids = await t.deps.db.query<{ id: number }>(
      "SELECT id FROM api_tokens WHERE user_id = $1 ORDER BY id",
      [u.id],
    );
    const doomed = ids.rows[0]?.id;
    // Requests in flight while the token is deleted: whatever they get, none after the 204 may succeed.
    let deletedAt = Number.POSITIVE_INFINITY;
    let okAfter = 0;
    let stop = false;
    const hammer = (async () => {
      while (!stop) {
        const sent = performance.now();
        const res = await t.call("GET", "/meetings", { key: u.key });
        if (res.status === 200 && sent > deletedAt) okAfter++;
        // inject() on PGlite can resolve in microtasks alone: let timers (and the delete) run.
        await new Promise((r) => setImmediate(r));
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    const del = await t.call("DELETE", `/admin/tokens/${doomed}`, { adminKey: ADMIN_TOKEN });
    deletedAt = performance.now();
    expect(del.status).toBe(204);
    await new Promise((r) => setTimeout(r, 100));
    stop = true;
    await hammer;
    expect(okAfter, "requests sent after the delete that still succeeded").toBe(0);
    const expectations: [string, string, unknown, number, string][] = [
      ["GET", "/meetings", undefined, 403, "Invalid API token"],
      ["GET", "/transcripts/google_meet/abc-defg-hij", undefined, 403, "Invalid API token"],
      [
        "POST",
        "/bots",
        { platform: "google_meet", native_meeting_id: "abc-defg-hij" },
        403,
        "Invalid API token",
      ],
      ["GET", "/bots/status", undefined, 403, "Invalid API token"],
      ["PUT", "/user/webhook", { webhook_url: "https://example.com/x" }, 403, "Invalid API Key"],
      ["GET", "/usage", undefined, 403, "Invalid API token"],
    ];
    for (const [method, url, body, status, detail] of expectations) {
      const res = await t.call(method, url, { key: u.key, ...(body === undefined ? {} : { body }) });
      expect([res.status, res.body.detail], `${method} ${url}`).toEqual([status, detail]);
    }
    expect((await t.call("GET", "/meetings", { key: other })).status).toBe(200);
  });
});
