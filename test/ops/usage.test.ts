import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { ADMIN_TOKEN, startTestApp, type TestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";

const MIN = 60_000;
let seq = 0;
const native = () => `usa-${String(++seq).padStart(4, "0")}-${Math.random().toString(36).slice(2, 5)}`;

describe.each(await legs())("usage (bot-minutes) on %s", (leg) => {
  let t: TestApp;
  let clock: ManualClock;
  const start = Date.parse("2026-03-10T10:00:00Z");
  const at = (minutes: number) => new Date(start + minutes * MIN).toISOString();
  const users: Record<string, { id: number; key: string; email: string }> = {};

  const bot = async (key: string, id: string) => {
    const res = await t.call("POST", "/bots", {
      key,
      body: { platform: "google_meet", native_meeting_id: id },
    });
    expect(res.status, res.raw).toBe(201);
  };
  const stop = async (key: string, id: string) => {
    const res = await t.call("DELETE", `/bots/google_meet/${id}`, { key });
    expect(res.status, res.raw).toBe(202);
  };
  const admin = (query: string) =>
    t.call("GET", `/admin/usage${query}`, { adminKey: ADMIN_TOKEN, app: "admin" });
  const rowsFor = (body: { users: { user_id: number }[] }) =>
    Object.fromEntries(
      Object.entries(users).map(([name, u]) => [name, body.users.find((r) => r.user_id === u.id) ?? null]),
    );

  beforeAll(async () => {
    clock = new ManualClock(start);
    t = await startTestApp(leg, { RATE_LIMIT_PER_SECOND: "0" }, { clock, sandbox: { stopDelayMs: 60_000 } });
    for (const name of ["ada", "bob", "cyd", "dee"])
      users[name] = await t.newUser({ max_concurrent_bots: 5 });
    const { ada, bob, cyd } = users as Required<typeof users> & Record<string, { key: string }>;
    // 10:00 ada alone for 30 min. 10:40 ada again; bob shares it 10:50-11:00; ada leaves 11:20.
    // 11:00 cyd takes a bot and still holds it.
    const m1 = native();
    const m2 = native();
    const m3 = native();
    await bot(ada!.key, m1);
    clock.advance(30 * MIN);
    await stop(ada!.key, m1);
    clock.advance(10 * MIN);
    await bot(ada!.key, m2);
    clock.advance(10 * MIN);
    await bot(bob!.key, m2);
    clock.advance(10 * MIN);
    await stop(bob!.key, m2);
    await bot(cyd!.key, m3);
    clock.advance(20 * MIN);
    await stop(ada!.key, m2);
    clock.advance(10 * MIN); // now 11:30
  });
  afterAll(async () => t.close());

  it("GET /admin/usage sums each user's attached time, shared bots counted for each holder; no usage, no row", async () => {
    const res = await admin(`?from=${at(0)}&to=${at(24 * 60)}`);
    expect(res.status, res.raw).toBe(200);
    expect(res.body.from).toBe("2026-03-10T10:00:00.000Z");
    expect(res.body.to).toBe("2026-03-11T10:00:00.000Z");
    expect(rowsFor(res.body)).toEqual({
      ada: { user_id: users.ada!.id, email: users.ada!.email, bot_minutes: 70, meetings: 2 },
      bob: { user_id: users.bob!.id, email: users.bob!.email, bot_minutes: 10, meetings: 1 },
      // Still held: counts up to now (11:30).
      cyd: { user_id: users.cyd!.id, email: users.cyd!.email, bot_minutes: 30, meetings: 1 },
      dee: null,
    });
    expect(res.body.total_bot_minutes).toBeGreaterThanOrEqual(110);
    // Three upstream bots, at least 30 + 40 + 30 minutes (the shared one once); stopped ones count to their end.
    expect(res.body.wholesaler_bot_minutes).toBeGreaterThanOrEqual(100);
  });

  it("clips spans to [from, to)", async () => {
    // 10:15-10:55: ada 15 (first meeting) + 15 (second, from 10:40); bob 5.
    const res = await admin(`?from=${at(15)}&to=${at(55)}`);
    expect(res.status, res.raw).toBe(200);
    const rows = rowsFor(res.body);
    expect(rows.ada).toMatchObject({ bot_minutes: 30, meetings: 2 });
    expect(rows.bob).toMatchObject({ bot_minutes: 5, meetings: 1 });
    expect(rows.cyd).toBeNull();
    // Zone offsets and naive (UTC) times mean the same instants.
    const offset = await admin("?from=2026-03-10T11:15:00%2B01:00&to=2026-03-10T10:55:00");
    expect(rowsFor(offset.body).ada).toMatchObject({ bot_minutes: 30 });
  });

  it("GET /usage shows the caller their own usage only", async () => {
    const mine = await t.call("GET", `/usage?from=${at(0)}&to=${at(120)}`, { key: users.bob!.key });
    expect(mine.status, mine.raw).toBe(200);
    expect(mine.body).toEqual({
      from: at(0),
      to: at(120),
      user_id: users.bob!.id,
      email: users.bob!.email,
      bot_minutes: 10,
      meetings: 1,
    });
    const none = await t.call("GET", "/usage", { key: users.dee!.key });
    expect(none.body).toMatchObject({ user_id: users.dee!.id, bot_minutes: 0, meetings: 0 });
  });

  it("defaults to the current calendar month (UTC); ?to= alone means the month before it", async () => {
    const res = await t.call("GET", "/usage", { key: users.ada!.key });
    expect(res.body).toMatchObject({
      from: "2026-03-01T00:00:00.000Z",
      to: "2026-04-01T00:00:00.000Z",
      bot_minutes: 70,
    });
    const feb = await t.call("GET", "/usage?to=2026-03-01", { key: users.ada!.key });
    expect(feb.body).toMatchObject({
      from: "2026-02-01T00:00:00.000Z",
      to: "2026-03-01T00:00:00.000Z",
      bot_minutes: 0,
    });
    const since = await admin("?from=2026-01-01");
    expect(since.body).toMatchObject({ from: "2026-01-01T00:00:00.000Z", to: "2026-04-01T00:00:00.000Z" });
  });

  it("answers 422 in Vexa's shape for bad dates or an empty period", async () => {
    const bad = await admin("?from=yesterday&to=2026-02-30");
    expect(bad.status, bad.raw).toBe(422);
    expect(bad.body.detail.map((d: { loc: string[] }) => d.loc)).toEqual([
      ["query", "from"],
      ["query", "to"],
    ]);
    expect(bad.body.detail[0].type).toBe("value_error.datetime");
    const backwards = await t.call("GET", `/usage?from=${at(60)}&to=${at(0)}`, { key: users.ada!.key });
    expect(backwards.status).toBe(422);
    expect(backwards.body.detail[0].loc).toEqual(["query", "to"]);
    const hour = await admin("?from=2026-03-10T25:00:00Z");
    expect(hour.status).toBe(422);
  });

  it("needs the admin key for /admin/usage (also on the gateway) and a user key for /usage", async () => {
    expect((await t.call("GET", "/admin/usage", { app: "admin" })).status).toBe(403);
    expect((await t.call("GET", "/admin/usage", { adminKey: "wrong", app: "admin" })).status).toBe(403);
    expect((await t.call("GET", "/admin/usage", { adminKey: ADMIN_TOKEN })).status).toBe(200);
    expect((await t.call("GET", "/usage")).status).toBe(403);
    expect((await t.call("GET", "/usage", { key: "nope" })).status).toBe(403);
    expect((await t.call("GET", "/usage", { adminKey: ADMIN_TOKEN, app: "admin" })).status).toBe(404);
  });
});
