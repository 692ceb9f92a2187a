/**
 * The wholesaler's meeting-finished webhook under every delivery fault (issue 8 item 3): dropped, duplicated ×3,
 * reordered, replayed after the 5-minute window, unsigned, badly signed, oversized. Whatever arrives, the end
 * result is that of exactly one valid delivery: one finalization, one upstream delete, every segment stored once
 * (equal to the wholesaler's final transcript), one notification to the user.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Clock, systemClock } from "../../src/clock.js";
import { readSegments } from "../../src/meetings/transcript-store.js";
import { vexaSignature } from "../../src/webhooks/verify.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";
import { waitFor } from "../helpers/wait.js";
import { type Receiver, startReceiver } from "./support.js";

const SECRET = "test-webhook-secret";
const DEL_M = "DELETE /meetings/{platform}/{native_meeting_id}";

/** The system clock, shifted on demand: a captured delivery replayed "six minutes later". */
class SkewClock implements Clock {
  skewMs = 0;
  now = () => Date.now() + this.skewMs;
  setTimeout = systemClock.setTimeout;
  clearTimeout = systemClock.clearTimeout;
}

interface Outcome {
  status: string;
  cached: boolean;
  deleted: boolean;
  finalStatus: unknown;
  stored: number;
  sameAsWholesaler: boolean;
  finalizeJobs: number;
  acceptedEvents: number;
  notifications: number;
  deliveredAttempts: number;
}

let seq = 0;
const letters = (n: number) =>
  String(n)
    .padStart(4, "0")
    .replace(/\d/g, (d) => "abcdefghij"[Number(d)] ?? "a");

describe.each(await legs())("wholesaler webhook faults on %s", (leg) => {
  let t: TestApp;
  let clock: SkewClock;
  let receiver: Receiver;
  const tag = `${leg === "pg" ? "p" : "l"}${"abcdefghijklmnopqrstuvwxyz"[process.pid % 26]}`;

  beforeAll(async () => {
    clock = new SkewClock();
    receiver = await startReceiver();
    t = await startTestApp(
      leg,
      { RECONCILE_INTERVAL_SECONDS: "1", RATE_LIMIT_PER_SECOND: "0" },
      { clock, listen: true, sandbox: { stopDelayMs: 100, segmentIntervalMs: 300 } },
    );
    // The wholesaler's copy goes a moment after the pull, so the test can read it first.
    t.sandbox.faults.set(DEL_M, { latencyMs: 600 });
    for (let i = 0; i < 8; i++) pool.push(await create());
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  async function create() {
    const u = await t.newUser();
    const hook = await t.call("PUT", "/user/webhook", {
      key: u.key,
      body: { webhook_url: `${receiver.url}/u/${u.id}` },
    });
    expect(hook.status, hook.raw).toBe(200);
    const native = `whf-${letters(++seq)}-${tag}a`;
    const res = await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "google_meet", native_meeting_id: native },
    });
    expect(res.status, res.raw).toBe(201);
    const row = await t.deps.db.query<{ w: number }>(
      "SELECT wholesaler_meeting_id::int AS w FROM meetings WHERE id = $1",
      [res.body.id],
    );
    return {
      u,
      native,
      meetingId: res.body.id as number,
      upstreamId: row.rows[0]?.w as number,
    };
  }
  type Live = Awaited<ReturnType<typeof create>>;
  const pool: Live[] = [];

  /** A live meeting that has been talking for a while (the bots start together in beforeAll). */
  async function live(): Promise<Live> {
    const m = pool.shift();
    if (!m) throw new Error("no prepared meeting left");
    await waitFor(
      async () => {
        const r = await fetch(`${t.sandboxUrl}/transcripts/google_meet/${m.native}`, {
          headers: { "x-api-key": t.sandboxKey },
        });
        return ((await r.json()) as { segments: unknown[] }).segments.length >= 3;
      },
      15_000,
      "a few segments",
    );
    return m;
  }

  /** The wholesaler's final transcript, read straight after the meeting ends there (before the delayed delete). */
  async function captureFinal(native: string): Promise<unknown[]> {
    const headers = { "x-api-key": t.sandboxKey };
    await waitFor(
      async () => {
        const r = await fetch(`${t.sandboxUrl}/meetings`, { headers });
        const list = ((await r.json()) as { meetings: { native_meeting_id: string; status: string }[] })
          .meetings;
        return list.find((m) => m.native_meeting_id === native)?.status === "completed";
      },
      10_000,
      "the meeting to end upstream",
    );
    const r = await fetch(`${t.sandboxUrl}/transcripts/google_meet/${native}`, { headers });
    expect(r.status).toBe(200);
    return ((await r.json()) as { segments: unknown[] }).segments;
  }

  async function settle(m: Live, final: unknown[]): Promise<Outcome> {
    await waitFor(
      async () => {
        const r = await t.deps.db.query<{ status: string; deleted: boolean }>(
          "SELECT status, upstream_deleted AS deleted FROM meetings WHERE id = $1",
          [m.meetingId],
        );
        return r.rows[0]?.status === "completed" && r.rows[0].deleted;
      },
      30_000,
      `finalization of ${m.native}`,
    );
    await waitFor(
      async () =>
        receiver.deliveries.some((d) => d.path === `/u/${m.u.id}`) &&
        (
          await t.deps.db.query(
            "SELECT 1 FROM webhook_deliveries WHERE meeting_id = $1 AND outcome = 'delivered'",
            [m.meetingId],
          )
        ).rows.length > 0,
      30_000,
      "the user's notification (and its record)",
    );
    return outcome(m, final);
  }

  async function outcome(m: Live, final: unknown[]): Promise<Outcome> {
    const row = await t.deps.db.query<{
      status: string;
      transcript_cached: boolean;
      upstream_deleted: boolean;
      final_status: string | null;
    }>("SELECT status, transcript_cached, upstream_deleted, final_status FROM meetings WHERE id = $1", [
      m.meetingId,
    ]);
    const segs = await readSegments(t.deps.db, m.meetingId);
    const counts = await t.deps.db.query<{ n: number; k: number }>(
      "SELECT count(*)::int AS n, count(DISTINCT segment_key)::int AS k FROM transcriptions WHERE meeting_id = $1",
      [m.meetingId],
    );
    expect(counts.rows[0]?.n, "every segment stored once").toBe(counts.rows[0]?.k);
    const strip = (s: unknown[]) =>
      (s as Record<string, unknown>[]).map(({ created_at: _c, ...rest }) => rest);
    const jobs = await t.deps.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${t.deps.queue.schema}.job WHERE name = 'finalize-meeting' AND (data->>'meetingId')::int = $1`,
      [m.meetingId],
    );
    const events = await t.deps.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM webhook_events WHERE meeting_id = $1",
      [m.meetingId],
    );
    const attempts = await t.deps.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM webhook_deliveries WHERE meeting_id = $1 AND outcome = 'delivered'",
      [m.meetingId],
    );
    const r = row.rows[0];
    return {
      status: r?.status ?? "missing",
      cached: r?.transcript_cached === true,
      deleted: r?.upstream_deleted === true,
      finalStatus: r?.final_status,
      stored: counts.rows[0]?.n ?? 0,
      sameAsWholesaler: JSON.stringify(strip(segs)) === JSON.stringify(strip(final)),
      finalizeJobs: jobs.rows[0]?.n ?? 0,
      acceptedEvents: events.rows[0]?.n ?? 0,
      notifications: receiver.deliveries.filter((d) => d.path === `/u/${m.u.id}`).length,
      deliveredAttempts: attempts.rows[0]?.n ?? 0,
    };
  }

  /**
   * What exactly one valid delivery leaves behind (per meeting; upstream deletes are counted for all at the end).
   * The number of finalization jobs is not part of it: a webhook that arrives after the reconciler has already
   * finalized the meeting queues one more run, which finds nothing left to do.
   */
  const ONE_DELIVERY = {
    status: "completed",
    cached: true,
    deleted: true,
    finalStatus: "completed",
    sameAsWholesaler: true,
    notifications: 1,
    deliveredAttempts: 1,
  };
  type Faults = Parameters<TestApp["sandbox"]["faults"]["setWebhooks"]>[0];
  const CLEAR: Faults = {
    dropWebhooks: undefined,
    duplicateWebhooks: undefined,
    unsignedWebhooks: undefined,
    badSignatureWebhooks: undefined,
    webhookDelayMs: undefined,
  };

  /**
   * Ends the meeting upstream with these webhook faults. The sandbox decides a webhook's fate synchronously as the
   * meeting ends, so setting, ending and clearing in one tick binds the faults to this meeting alone and the
   * scenarios can run side by side.
   */
  function endWith(m: Live, faults: Faults): Promise<void> {
    t.sandbox.faults.setWebhooks(faults);
    const ended = t.sandbox.endMeeting("google_meet", m.native, "completed");
    t.sandbox.faults.setWebhooks(CLEAR);
    return ended;
  }

  /** What the receiver answered to the wholesaler's attempts for this meeting. */
  const answered = (m: Live) =>
    t.sandbox
      .webhookDeliveries()
      .filter((d) => JSON.parse(d.body).native_meeting_id === m.native)
      .map((d) => d.status);

  const meetingsGoneUpstream = async (natives: string[]) => {
    const r = await fetch(`${t.sandboxUrl}/meetings`, { headers: { "x-api-key": t.sandboxKey } });
    const list = ((await r.json()) as { meetings: { native_meeting_id: string }[] }).meetings;
    return natives.filter((n) => list.some((m) => m.native_meeting_id === n));
  };

  let control: { m: Live; result: Outcome } | undefined;

  it("dropped, duplicated ×3, unsigned, badly signed, oversized, reordered: each ends as exactly one valid delivery", async () => {
    const deletesBefore = t.sandbox.calls()[DEL_M] ?? 0;
    const scenarios: Record<
      string,
      () => Promise<{ m: Live; result: Outcome; answered: (number | "error")[] }>
    > = {
      control: async () => {
        const m = await live();
        expect((await t.call("DELETE", `/bots/google_meet/${m.native}`, { key: m.u.key })).status).toBe(202);
        const final = await captureFinal(m.native);
        return { m, result: await settle(m, final), answered: answered(m) };
      },
      ...Object.fromEntries(
        (
          [
            ["dropped", { dropWebhooks: 1 }],
            ["duplicated ×3", { duplicateWebhooks: 3 }],
            ["unsigned", { unsignedWebhooks: true }],
            ["badly signed", { badSignatureWebhooks: true }],
          ] as const
        ).map(([name, faults]) => [
          name,
          async () => {
            const m = await live();
            await endWith(m, faults);
            const final = await captureFinal(m.native);
            return { m, result: await settle(m, final), answered: answered(m) };
          },
        ]),
      ),
      oversized: async () => {
        const m = await live();
        const body = JSON.stringify({
          id: m.upstreamId,
          platform: "google_meet",
          native_meeting_id: m.native,
          status: "completed",
          pad: "x".repeat(1_100_000),
        });
        const ts = String(Math.floor(Date.now() / 1000));
        const big = await fetch(`${t.gatewayUrl}/webhooks/meeting-finished`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-webhook-timestamp": ts,
            "x-webhook-signature": vexaSignature(SECRET, ts, body),
          },
          body,
        });
        expect(big.status).toBe(413);
        expect(await big.json()).toEqual({ detail: "Request body too large" });
        const events = await t.deps.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM webhook_events WHERE meeting_id = $1",
          [m.meetingId],
        );
        expect(events.rows[0]?.n, "an oversized webhook records nothing").toBe(0);
        expect((await t.call("GET", "/meetings", { key: m.u.key })).body.meetings[0].status).toBe("active");
        expect((await t.call("DELETE", `/bots/google_meet/${m.native}`, { key: m.u.key })).status).toBe(202);
        const final = await captureFinal(m.native);
        return { m, result: await settle(m, final), answered: answered(m) };
      },
    };
    const reordered = async () => {
      const a = await live();
      const b = await live();
      const ending = endWith(a, { webhookDelayMs: 1500 }); // A ends first, its webhook is held back
      await endWith(b, {});
      await ending;
      const [finalA, finalB] = await Promise.all([captureFinal(a.native), captureFinal(b.native)]);
      await waitFor(
        () => answered(a).length > 0 && answered(b).length > 0,
        10_000,
        "both webhooks of the reordered pair",
      );
      const order = t.sandbox
        .webhookDeliveries()
        .map((d) => JSON.parse(d.body).native_meeting_id)
        .filter((n) => n === a.native || n === b.native);
      expect(order, "B's webhook arrived before A's").toEqual([b.native, a.native]);
      const [ra, rb] = await Promise.all([settle(a, finalA), settle(b, finalB)]);
      // Events from before the end, arriving after it (flat and envelope forms), change nothing.
      const stale = [
        { id: a.upstreamId, platform: "google_meet", native_meeting_id: a.native, status: "active" },
        { id: a.upstreamId, platform: "google_meet", native_meeting_id: a.native, status: "stopping" },
        {
          event_id: `evt_started_${a.upstreamId}`,
          event_type: "meeting.started",
          data: {
            meeting: {
              id: a.upstreamId,
              platform: "google_meet",
              native_meeting_id: a.native,
              status: "active",
            },
          },
        },
      ].map((x) => JSON.stringify(x));
      for (const body of stale) {
        const ts = String(Math.floor(Date.now() / 1000));
        const res = await t.call("POST", "/webhooks/meeting-finished", {
          body,
          headers: {
            "content-type": "application/json",
            "x-webhook-timestamp": ts,
            "x-webhook-signature": vexaSignature(SECRET, ts, body),
          },
        });
        expect(res.status, res.raw).toBe(200);
        expect(["ignored", "duplicate"]).toContain(res.body.status);
      }
      return { a, b, ra, rb };
    };

    const names = Object.keys(scenarios);
    const [results, pair] = await Promise.all([
      Promise.all(
        names.map((n) => (scenarios[n] as () => ReturnType<NonNullable<(typeof scenarios)[string]>>)()),
      ),
      reordered(),
    ]);
    await new Promise((r) => setTimeout(r, 1500)); // room for a stray second finalization, delete or notification
    const byName = Object.fromEntries(
      names.map((n, i) => [n, results[i] as NonNullable<(typeof results)[number]>]),
    );
    const expectAnswered: Record<string, (number | "error")[]> = {
      control: [200],
      dropped: [],
      "duplicated ×3": [200, 200, 200],
      unsigned: [401],
      "badly signed": [401],
      oversized: [200],
    };
    for (const n of names) {
      const r = byName[n] as (typeof results)[number];
      const now = await outcome(r.m, [] /* only counts */);
      expect(r.answered, `${n}: what our receiver answered the wholesaler`).toEqual(expectAnswered[n]);
      const accepted = (expectAnswered[n] ?? []).includes(200) ? 1 : 0;
      expect(r.result, n).toMatchObject({ ...ONE_DELIVERY, acceptedEvents: accepted });
      // Deduplicated on arrival: the three copies make one event (acceptedEvents above). The reconciler (every
      // second here) may still queue its own finalization if it saw the meeting live just before, in any scenario
      // and even after it settled; that job finds the work done and changes nothing, so the job count is at most
      // one per source and is left out of "nothing changed".
      expect(now.finalizeJobs, n).toBeLessThanOrEqual(2);
      expect(r.result.stored, `${n}: the transcript has segments`).toBeGreaterThan(0);
      expect({ ...now, sameAsWholesaler: true, finalizeJobs: 0 }, `${n}: nothing changed afterwards`).toEqual(
        { ...r.result, sameAsWholesaler: true, finalizeJobs: 0 },
      );
    }
    for (const [n, r] of [
      ["reordered A", pair.ra],
      ["reordered B", pair.rb],
    ] as const) {
      expect(r, n).toMatchObject({ ...ONE_DELIVERY, acceptedEvents: 1 });
    }
    const after = await outcome(pair.a, []);
    // They are recorded (and ignored): everything but the event log is as before.
    expect({ ...after, sameAsWholesaler: true, acceptedEvents: 0 }, "stale events changed nothing").toEqual({
      ...pair.ra,
      sameAsWholesaler: true,
      acceptedEvents: 0,
    });
    // One upstream delete per meeting: as many deletes as meetings, and every one of them gone upstream.
    const all = [...results.map((r) => r.m.native), pair.a.native, pair.b.native];
    expect((t.sandbox.calls()[DEL_M] ?? 0) - deletesBefore, "upstream deletes").toBe(all.length);
    expect(await meetingsGoneUpstream(all), "still upstream").toEqual([]);
    control = byName.control;
  }, 60_000);

  it("replayed: within the window a no-op, after the window 401; nothing changes", async () => {
    expect(control, "the scenarios ran first").toBeDefined();
    const c = control as NonNullable<typeof control>;
    const captured = t.sandbox
      .webhookDeliveries()
      .find((d) => JSON.parse(d.body).native_meeting_id === c.m.native);
    expect(captured).toBeDefined();
    const replay = async () => {
      const res = await fetch(`${t.gatewayUrl}/webhooks/meeting-finished`, {
        method: "POST",
        headers: captured?.headers ?? {},
        body: captured?.body ?? "",
      });
      return { status: res.status, body: await res.text() };
    };
    expect(await replay()).toEqual({ status: 200, body: JSON.stringify({ status: "duplicate" }) });
    clock.skewMs = 6 * 60_000; // the same bytes, six minutes later
    try {
      expect((await replay()).status).toBe(401);
    } finally {
      clock.skewMs = 0;
    }
    const now = await outcome(c.m, []);
    expect({ ...now, sameAsWholesaler: true }).toEqual({ ...c.result, sameAsWholesaler: true });
  });

  it("a late webhook about an earlier meeting in the same room leaves the current live meeting alone", async () => {
    const u = await t.newUser();
    const native = `lat-ewhk-${tag}a`;
    const upstreamIdOf = async (id: number) =>
      (
        await t.deps.db.query<{ w: number }>(
          "SELECT wholesaler_meeting_id::int AS w FROM meetings WHERE id = $1",
          [id],
        )
      ).rows[0]?.w;
    const first = await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "google_meet", native_meeting_id: native },
    });
    expect(first.status, first.raw).toBe(201);
    const firstUpstream = await upstreamIdOf(first.body.id);
    expect((await t.call("DELETE", `/bots/google_meet/${native}`, { key: u.key })).status).toBe(202);
    await waitFor(
      async () => (await t.call("GET", "/meetings", { key: u.key })).body.meetings[0]?.status === "completed",
      30_000,
      "the first meeting finalized",
    );
    await waitFor(
      async () => (await meetingsGoneUpstream([native])).length === 0,
      10_000,
      "its upstream delete",
    );
    // The user deletes it (it is purged), then sends a bot to the same room again.
    expect((await t.call("DELETE", `/meetings/google_meet/${native}`, { key: u.key })).status).toBe(200);
    const second = await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "google_meet", native_meeting_id: native },
    });
    expect(second.status, second.raw).toBe(201);
    const deletesBefore = t.sandbox.calls()[DEL_M] ?? 0;

    // Late news about the first meeting, in forms the event log has not seen yet.
    const late = [
      { id: firstUpstream, platform: "google_meet", native_meeting_id: native, status: "failed" },
      {
        event_id: `evt_late_${firstUpstream}`,
        event_type: "meeting.completed",
        data: {
          meeting: {
            id: firstUpstream,
            platform: "google_meet",
            native_meeting_id: native,
            status: "completed",
          },
        },
      },
    ].map((x) => JSON.stringify(x));
    for (const body of late) {
      const ts = String(Math.floor(Date.now() / 1000));
      const res = await t.call("POST", "/webhooks/meeting-finished", {
        body,
        headers: {
          "content-type": "application/json",
          "x-webhook-timestamp": ts,
          "x-webhook-signature": vexaSignature(SECRET, ts, body),
        },
      });
      expect(res.status, res.raw).toBe(200);
    }
    await new Promise((r) => setTimeout(r, 2000)); // a finalization job would have run by now (polls every 1 s)
    const now = await t.call("GET", "/meetings", { key: u.key });
    expect(now.body.meetings[0]).toMatchObject({ id: second.body.id, status: "active" });
    expect((t.sandbox.calls()[DEL_M] ?? 0) - deletesBefore, "no upstream delete").toBe(0);
    expect(await meetingsGoneUpstream([native]), "the new bot is still upstream").toEqual([native]);
    const live = await t.call("GET", `/transcripts/google_meet/${native}`, { key: u.key });
    expect(live.headers["x-transcript-stale"]).toBeUndefined();
  });
});
