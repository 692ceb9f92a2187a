import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NOTIFY_QUEUE } from "../../src/meetings/queues.js";
import { standardSignature, vexaSignature } from "../../src/webhooks/verify.js";
import { startTestApp, type TestApp, VEXA_FLAVORS } from "../helpers/app.js";
import { legs } from "../helpers/db.js";
import { waitFor } from "../helpers/wait.js";

const SECRET = "test-webhook-secret";
const DEL_M = "DELETE /meetings/{platform}/{native_meeting_id}";
let seq = 0;
const native = () =>
  `whk-${String(++seq)
    .padStart(4, "0")
    .replace(
      /\d/g,
      (d) => "abcdefghij"[Number(d)]!,
    )}-${"abcdefghijklmnopqrstuvwxyz"[process.pid % 26]}${"xyz"}`;

function signed(body: string, secret = SECRET, ts = Math.floor(Date.now() / 1000)) {
  return {
    "content-type": "application/json",
    "x-webhook-timestamp": String(ts),
    "x-webhook-signature": vexaSignature(secret, String(ts), body),
  };
}

async function events(t: TestApp): Promise<number> {
  return (
    (await t.deps.db.query<{ n: number }>("SELECT count(*)::int AS n FROM webhook_events")).rows[0]?.n ?? 0
  );
}

describe.each(await legs())("webhooks on %s", (leg) => {
  describe.each(VEXA_FLAVORS)("against %s Vexa", (vexa) => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(
        leg,
        { WHOLESALER_WEBHOOK_SECRET: `${SECRET},next-secret`, RECONCILE_INTERVAL_SECONDS: "1" },
        { vexa, listen: true, sandbox: { stopDelayMs: 200, joinDelayMs: 1 } },
      );
    });
    afterAll(async () => t.close());

    async function liveMeeting() {
      const u = await t.newUser();
      const id = native();
      const res = await t.call("POST", "/bots", {
        key: u.key,
        body: { platform: "google_meet", native_meeting_id: id },
      });
      const row = await t.deps.db.query<{ w: number }>(
        "SELECT wholesaler_meeting_id::int AS w FROM meetings WHERE id = $1",
        [res.body.id],
      );
      return { u, id, meetingId: res.body.id as number, upstreamId: row.rows[0]!.w };
    }

    it("refuses anything not signed with our secret: 401 and nothing recorded", async () => {
      const m = await liveMeeting();
      const body = JSON.stringify({
        id: m.upstreamId,
        platform: "google_meet",
        native_meeting_id: m.id,
        status: "completed",
      });
      const before = await events(t);
      const old = Math.floor(Date.now() / 1000) - 301;
      const variants: Record<string, string>[] = [
        { "content-type": "application/json" },
        signed(body, "wrong-secret"),
        signed(body, SECRET, old),
        { ...signed(body), "x-webhook-signature": "sha256=00" },
        { "content-type": "application/json", authorization: "Bearer wrong" },
        {
          "content-type": "application/json",
          "webhook-id": "x",
          "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
          "webhook-signature": "v1,AAAA",
        },
      ];
      for (const headers of variants) {
        const res = await t.call("POST", "/webhooks/meeting-finished", { body, headers });
        expect(res.status, JSON.stringify(headers)).toBe(401);
      }
      // A signature over different bytes (same JSON, re-serialised) is not ours either.
      const res = await t.call("POST", "/webhooks/meeting-finished", {
        body: ` ${body}`,
        headers: signed(body),
      });
      expect(res.status).toBe(401);
      expect(await events(t)).toBe(before);
      expect((await t.call("GET", "/meetings", { key: m.u.key })).body.meetings[0].status).toBe("active");
    });

    it("accepts the flat form (id or meeting_id), the envelope, Bearer and Standard Webhooks; duplicates are no-ops", async () => {
      const a = await liveMeeting();
      const flat = JSON.stringify({
        meeting_id: a.upstreamId,
        platform: "google_meet",
        native_meeting_id: a.id,
        status: "completed",
      });
      const first = await t.call("POST", "/webhooks/meeting-finished", { body: flat, headers: signed(flat) });
      expect([first.status, first.body]).toEqual([200, { status: "accepted" }]);
      for (let i = 0; i < 3; i++) {
        const dup = await t.call("POST", "/webhooks/meeting-finished", {
          body: flat,
          headers: signed(flat, "next-secret"),
        });
        expect(dup.body).toEqual({ status: "duplicate" });
      }
      const b = await liveMeeting();
      const envelope = JSON.stringify({
        event_id: `evt_${b.upstreamId}`,
        event_type: "meeting.completed",
        api_version: "2026-03-01",
        data: {
          meeting: {
            id: b.upstreamId,
            platform: "google_meet",
            native_meeting_id: b.id,
            status: "completed",
          },
        },
      });
      const bearer = await t.call("POST", "/webhooks/meeting-finished", {
        body: envelope,
        headers: { "content-type": "application/json", authorization: `Bearer ${SECRET}` },
      });
      expect(bearer.body).toEqual({ status: "accepted" });
      const c = await liveMeeting();
      const std = JSON.stringify({
        id: c.upstreamId,
        platform: "google_meet",
        native_meeting_id: c.id,
        status: "failed",
      });
      const ts = String(Math.floor(Date.now() / 1000));
      const stdRes = await t.call("POST", "/webhooks/meeting-finished", {
        body: std,
        headers: {
          "content-type": "application/json",
          "webhook-id": "msg_1",
          "webhook-timestamp": ts,
          "webhook-signature": standardSignature(SECRET, "msg_1", ts, std),
        },
      });
      expect(stdRes.body).toEqual({ status: "accepted" });
      for (const m of [a, b, c]) {
        await waitFor(
          async () =>
            ["completed", "failed"].includes(
              (await t.call("GET", "/meetings", { key: m.u.key })).body.meetings[0].status,
            ),
          30_000,
          "finalized",
        );
      }
      expect((await t.call("GET", "/meetings", { key: c.u.key })).body.meetings[0].status).toBe("failed");
      const stored = await t.deps.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM transcriptions WHERE meeting_id = $1",
        [a.meetingId],
      );
      const again = await t.call("POST", "/webhooks/meeting-finished", { body: flat, headers: signed(flat) });
      expect(again.body).toEqual({ status: "duplicate" });
      const after = await t.deps.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM transcriptions WHERE meeting_id = $1",
        [a.meetingId],
      );
      expect(after.rows[0]?.n).toBe(stored.rows[0]?.n);
    });

    it("rejects an oversized body with 413", async () => {
      const big = JSON.stringify({ id: 1, pad: "x".repeat(1_100_000) });
      const res = await t.call("POST", "/webhooks/meeting-finished", { body: big, headers: signed(big) });
      expect(res.status).toBe(413);
    });

    it("the reconciler finalizes a meeting whose webhook was dropped", async () => {
      const m = await liveMeeting();
      t.sandbox.faults.setWebhooks({ dropWebhooks: true });
      const deletes = t.sandbox.calls()[DEL_M] ?? 0;
      try {
        await t.sandbox.endMeeting("google_meet", m.id, "completed");
        await waitFor(
          async () =>
            (await t.call("GET", "/meetings", { key: m.u.key })).body.meetings[0].status === "completed",
          30_000,
          "reconciled",
        );
        await waitFor(() => (t.sandbox.calls()[DEL_M] ?? 0) > deletes, 10_000, "upstream delete");
      } finally {
        t.sandbox.faults.reset();
      }
    });

    it("delivers the user's own view to their webhook, signed, retried with backoff and recorded", async () => {
      const received: { headers: IncomingMessage["headers"]; body: string }[] = [];
      let failFirst = true;
      const server: Server = createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
          received.push({ headers: req.headers, body });
          if (failFirst) {
            failFirst = false;
            res.statusCode = 500;
          }
          res.end();
        });
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      try {
        const port = (server.address() as { port: number }).port;
        const m = await liveMeeting();
        const hook = await t.call("PUT", "/user/webhook", {
          key: m.u.key,
          body: { webhook_url: `http://127.0.0.1:${port}/hook` },
        });
        expect(hook.status, hook.raw).toBe(200);
        expect(hook.body.data.webhook_url).toBe(`http://127.0.0.1:${port}/hook`);
        const secret = hook.body.webhook_secret as string;
        expect(secret).toMatch(/^whsec_/);
        expect(
          (
            await t.call("PUT", "/user/webhook", {
              key: m.u.key,
              body: { webhook_url: `http://127.0.0.1:${port}/hook` },
            })
          ).body.webhook_secret,
        ).toBeUndefined();
        await t.call("DELETE", `/bots/google_meet/${m.id}`, { key: m.u.key });
        // The refused first attempt leaves the job waiting for its retry, NOTIFY_QUEUE's 10 s (or more) away;
        // seen that, the test brings the retry forward rather than sleeping through the backoff.
        const notifyKey = `notify:${m.meetingId}:${m.u.id}`;
        const backoff = await waitFor(
          async () =>
            (
              await t.deps.db.query<{ wait: number }>(
                `SELECT extract(epoch FROM start_after - now())::float AS wait FROM ${t.deps.queue.schema}.job
                  WHERE name = $1 AND singleton_key = $2 AND state = 'retry'`,
                [NOTIFY_QUEUE, notifyKey],
              )
            ).rows[0],
          30_000,
          "the refused delivery waiting for its retry",
        );
        expect(received).toHaveLength(1);
        expect(backoff!.wait, "seconds until the retry").toBeGreaterThan(5);
        expect(await t.deps.queue.retryNow(NOTIFY_QUEUE, notifyKey)).toBe(true);
        await waitFor(
          async () =>
            (
              await t.deps.db.query(
                "SELECT 1 FROM webhook_deliveries WHERE user_id = $1 AND outcome = 'delivered'",
                [m.u.id],
              )
            ).rows.length > 0,
          30_000,
          "the retried delivery recorded",
        );
        expect(received).toHaveLength(2);
        const last = received[1]!;
        const payload = JSON.parse(last.body);
        expect(payload).toMatchObject({
          id: m.meetingId,
          user_id: m.u.id,
          native_meeting_id: m.id,
          status: "completed",
        });
        const ts = String(last.headers["x-webhook-timestamp"]);
        expect(last.headers["x-webhook-signature"]).toBe(
          `sha256=${createHmac("sha256", secret).update(`${ts}.${last.body}`).digest("hex")}`,
        );
        const id = String(last.headers["webhook-id"]);
        expect(last.headers["webhook-signature"]).toBe(
          standardSignature(secret, id, String(last.headers["webhook-timestamp"]), last.body),
        );
        const attempts = await t.deps.db.query<{ outcome: string }>(
          "SELECT outcome FROM webhook_deliveries WHERE user_id = $1 ORDER BY id",
          [m.u.id],
        );
        expect(attempts.rows.map((r) => r.outcome)).toEqual(["failed", "delivered"]);
      } finally {
        server.close();
      }
    });
  });
});

describe("user webhook targets without ALLOW_PRIVATE_WEBHOOKS", () => {
  it("refuses loopback and private addresses", async () => {
    const t = await startTestApp("pglite", { ALLOW_PRIVATE_WEBHOOKS: "false" });
    try {
      const u = await t.newUser();
      for (const url of [
        "http://127.0.0.1/x",
        "http://localhost:8080/x",
        "http://10.1.2.3/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest",
      ]) {
        const res = await t.call("PUT", "/user/webhook", { key: u.key, body: { webhook_url: url } });
        expect(res.status, url).toBe(422);
      }
      expect(
        (
          await t.call("PUT", "/user/webhook", {
            key: u.key,
            body: { webhook_url: "https://hooks.example.com/x" },
          })
        ).status,
      ).toBe(200);
    } finally {
      await t.close();
    }
  });
});
