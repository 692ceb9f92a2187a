/**
 * Fast parts of the outage story (issue 8 item 2; the minute-long outage is test/chaos/outage.test.ts): while the
 * wholesaler is down, bot requests fail fast with a 503 — also when several users ask for the same meeting at once
 * (the leader's failed call must release its claim cleanly so the followers fail fast too, instead of a 500 for one
 * and a 15 s wait for the others); and a finalization that backed off through the outage runs as soon as the
 * wholesaler answers again, not at the end of its exponential backoff.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { legs } from "../helpers/db.js";
import { waitFor } from "../helpers/wait.js";
import { FINALIZE_QUEUE } from "../../src/meetings/queues.js";

describe.each(await legs())("bot requests while the wholesaler is down, on %s", (leg) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(leg, { RATE_LIMIT_PER_SECOND: "0", RECONCILE_INTERVAL_SECONDS: "1" });
  });
  afterAll(async () => t?.close());

  it("concurrent requests for one meeting all get a fast 503 (dropped connections, then 502s); then one shared bot", async () => {
    const users = await Promise.all([0, 1, 2, 3].map(() => t.newUser({ max_concurrent_bots: 100 })));
    for (const fault of [{ outage: true }, { errorStatus: 502 }] as const) {
      t.sandbox.faults.set("*", fault);
      try {
        const seen: Record<string, number> = {};
        let slowest = 0;
        for (let round = 0; round < 12; round++) {
          const native = `down-${JSON.stringify(fault).length}-${round}`;
          const started = performance.now();
          const answers = await Promise.all(
            users.map((u) =>
              t.call("POST", "/bots", { key: u.key, body: { platform: "teams", native_meeting_id: native } }),
            ),
          );
          slowest = Math.max(slowest, performance.now() - started);
          for (const a of answers) {
            const k = `${a.status} ${typeof a.body?.detail === "string" ? a.body.detail : a.raw}`;
            seen[k] = (seen[k] ?? 0) + 1;
            expect(a.headers["retry-after"], a.raw).toBeDefined();
          }
        }
        expect(
          Object.keys(seen).every((k) => k.startsWith("503 ")),
          JSON.stringify(seen),
        ).toBe(true);
        expect(slowest, "the slowest round (ms)").toBeLessThan(5000);
        // Nothing is left behind: no claim, no attachment, no used-up slot.
        const rows = await t.deps.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM meetings WHERE platform_specific_id LIKE 'down-%'",
        );
        expect(rows.rows[0]?.n).toBe(0);
      } finally {
        t.sandbox.faults.reset();
      }
    }
    {
      // Once it is back (the breaker lets a probe through within seconds), the same users get one shared bot.
      const probeUntil = Date.now() + 10_000;
      let probe = 0;
      for (;;) {
        const r = await t.call("POST", "/bots", {
          key: users[0]?.key,
          body: { platform: "teams", native_meeting_id: `probe-${probe++}` },
        });
        if (r.status === 201 || Date.now() > probeUntil) {
          expect(r.status, r.raw).toBe(201);
          break;
        }
        await new Promise((res) => setTimeout(res, 250));
      }
      const before = t.sandbox.calls()["POST /bots"] ?? 0;
      const native = "back-again";
      const ok = await Promise.all(
        users.map((u) =>
          t.call("POST", "/bots", { key: u.key, body: { platform: "teams", native_meeting_id: native } }),
        ),
      );
      expect(ok.map((a) => a.status)).toEqual([201, 201, 201, 201]);
      expect((t.sandbox.calls()["POST /bots"] ?? 0) - before).toBe(1);
    }
  }, 90_000);

  it("a finalization backing off through the outage runs once the wholesaler answers again", async () => {
    const u = await t.newUser();
    const native = `backoff-${leg}`;
    const res = await t.call("POST", "/bots", {
      key: u.key,
      body: { platform: "teams", native_meeting_id: native },
    });
    expect(res.status, res.raw).toBe(201);
    const meetingId = res.body.id as number;
    // The meeting ended during the outage; its finalization job has failed a few times and now waits out a long
    // backoff (after a one-minute outage pg-boss's next try is 1–2 minutes away; here: ten).
    t.sandbox.faults.setWebhooks({ dropWebhooks: 1 });
    await t.sandbox.endMeeting("teams", native);
    const schema = t.deps.queue.schema;
    await t.deps.db.tx(async (tx) => {
      const id = await t.deps.queue.send(
        FINALIZE_QUEUE,
        { meetingId },
        { tx, singletonKey: `finalize:${meetingId}`, startAfterSeconds: 600, retryLimit: 30 },
      );
      expect(id).not.toBeNull();
      await tx.query(`UPDATE ${schema}.job SET state = 'retry', retry_count = 5 WHERE id = $1`, [id]);
    });
    // The wholesaler is back (it always was, here): the reconciler sees the meeting ended and must not leave the
    // finalization to the backoff.
    const started = Date.now();
    await waitFor(
      async () => {
        const r = await t.deps.db.query<{ status: string }>("SELECT status FROM meetings WHERE id = $1", [
          meetingId,
        ]);
        return r.rows[0]?.status === "completed";
      },
      15_000,
      "the meeting finalized",
    );
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);
});
