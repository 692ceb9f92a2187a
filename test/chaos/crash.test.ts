/**
 * Kill -9 during finalization (issue 5 item 6, issue 8 item 1): real retailer processes on PostgreSQL are SIGKILLed
 * — at each named finalization step (CHAOS_CRASH_AT), then at random moments, repeatedly — and restarted. Afterwards
 * every meeting is complete, no segment is stored twice, the stored transcript equals the wholesaler's, the
 * wholesaler's copy was deleted exactly once and only after the local commit, and every user webhook arrived.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { legs } from "../helpers/db.js";
import {
  addSpokenSegments,
  createWorld,
  type DeleteRecord,
  expectKilled,
  expireOrphanedJobs,
  http,
  kill9,
  meetId,
  meetingStates,
  type Node,
  newUser,
  ports,
  sameTranscript,
  startNode,
  storedSegments,
  type World,
  waitFor,
} from "./support.js";

const hasPg = (await legs()).includes("pg");
if (!hasPg) console.warn("NOTICE: no PostgreSQL answers; the crash chaos tests are skipped.");

const FAST = { RECONCILE_INTERVAL_SECONDS: "2", RATE_LIMIT_PER_SECOND: "0" };

/** Mulberry32: a seeded generator, so a failing random run can be replayed with CHAOS_SEED. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Holder {
  id: number;
  key: string;
}
interface Planned {
  native: string;
  holders: Holder[];
  meetingId?: number;
}

/** Every check that must hold once the system has settled. */
async function assertSettled(world: World, plan: Planned[]): Promise<void> {
  const states = await meetingStates(world);
  expect(states).toHaveLength(plan.length);
  for (const s of states) {
    expect(s, `meeting ${s.native}`).toMatchObject({ status: "completed", cached: true, deleted: true });
    expect(s.stored, `no duplicate segment in ${s.native}`).toBe(s.distinctKeys);
  }
  const dupes = await world.pool.query(
    "SELECT meeting_id, segment_key, count(*) FROM transcriptions GROUP BY 1, 2 HAVING count(*) > 1",
  );
  expect(dupes.rows, "duplicate (meeting_id, segment_key)").toEqual([]);

  for (const p of plan) {
    const state = states.find((s) => s.native === p.native);
    expect(state, p.native).toBeDefined();
    const final = world.finals.get(p.native);
    expect(
      final,
      `the wholesaler's final transcript of ${p.native} was captured at its DELETE`,
    ).toBeDefined();
    expect(final?.length ?? 0, `${p.native} has a transcript`).toBeGreaterThan(0);
    const stored = await storedSegments(world, state?.id ?? -1);
    expect(sameTranscript(stored, final ?? []), `${p.native} stored == wholesaler's final`).toBeNull();

    // The DELETE that found the meeting upstream is the one that removed it (its answer may never have reached a
    // process killed while waiting for it). A repeat can only follow a crash between a DELETE and its local
    // record, and then finds nothing left to delete.
    const dels = world.deletes.filter((d) => d.nativeId === p.native);
    const effective = dels.filter((d) => d.upstream !== undefined);
    expect(effective, `${p.native}: deleted upstream exactly once (${JSON.stringify(dels)})`).toHaveLength(1);
    expect(effective[0]?.status ?? 200, `${p.native}: the delete succeeded`).toBe(200);
    for (const d of dels.filter((x) => !effective.includes(x))) {
      expect([404, undefined], `${p.native} repeat: ${JSON.stringify(d)}`).toContain(d.status);
    }
  }
  assertDeletesAfterCommit(world.deletes);

  for (const p of plan) {
    for (const h of p.holders) {
      const got = world.receiver.deliveries
        .filter((d) => d.path === `/u/${h.id}`)
        .map((d) => JSON.parse(d.body));
      const mine = got.filter((b) => b.id === p.meetingId);
      expect(mine.length, `user ${h.id} notified of meeting ${p.native}`).toBeGreaterThanOrEqual(1);
      for (const b of mine)
        expect(b).toMatchObject({ user_id: h.id, native_meeting_id: p.native, status: "completed" });
    }
  }
}

/** The wholesaler's copy is deleted only once the full final transcript is committed locally. */
function assertDeletesAfterCommit(deletes: DeleteRecord[]): void {
  for (const d of deletes) {
    if (d.upstream === undefined) continue; // already gone upstream: a repeat, nothing left to lose
    expect(d, `DELETE ${d.nativeId} arrived after the local commit`).toMatchObject({ cached: true });
    expect(d.stored, `DELETE ${d.nativeId}: every segment was stored first`).toBe(d.upstream);
  }
}

function deliveriesSummary(world: World): { deliveries: number; duplicates: number } {
  const seen = new Map<string, number>();
  for (const d of world.receiver.deliveries) {
    const id = String(d.headers["webhook-id"]);
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  let duplicates = 0;
  for (const n of seen.values()) duplicates += n - 1;
  return { deliveries: world.receiver.deliveries.length, duplicates };
}

describe.skipIf(!hasPg)("kill -9 during finalization (PostgreSQL, real processes)", () => {
  let world: World | undefined;
  let nodes: Node[] = [];

  afterEach(async () => {
    for (const n of nodes) await kill9(n);
    nodes = [];
    await world?.close();
    world = undefined;
  });
  afterAll(async () => {
    for (const n of nodes) await kill9(n);
  });

  async function boot(w: World, p: { gw: number; admin: number }, extra: Record<string, string> = {}) {
    const node = startNode(w, p, { ...FAST, ...extra });
    nodes.push(node);
    return node;
  }

  it.each(["pulled", "stored", "deleted"] as const)(
    "CHAOS_CRASH_AT=%s: the process dies at that step; after a restart every meeting is complete",
    async (step) => {
      const started = Date.now();
      world = await createWorld();
      const w = world;
      const p = await ports();
      const first = await boot(w, p, { CHAOS_CRASH_AT: step });
      await first.proc.waitReady(`${first.url}/ready`, 45_000);

      const users: Holder[] = [];
      for (let i = 0; i < 3; i++) {
        const u = await newUser(first.url, `crash-${step}-${i}@example.com`, {});
        const hook = await http(first.url, "PUT", "/user/webhook", {
          key: u.key,
          body: { webhook_url: `${w.receiver.url}/u/${u.id}` },
        });
        expect(hook.status, hook.raw).toBe(200);
        users.push(u);
      }
      const [a, b, c] = users as [Holder, Holder, Holder];
      // Shared bots too: one wholesaler meeting, several holders, each notified of their own view.
      const plan: Planned[] = [[a], [b], [a, b], [c], [c, a]].map((holders, i) => ({
        native: meetId(step, i),
        holders,
      }));
      for (const m of plan) {
        for (const h of m.holders) {
          const res = await http(first.url, "POST", "/bots", {
            key: h.key,
            body: { platform: "google_meet", native_meeting_id: m.native },
          });
          expect(res.status, res.raw).toBe(201);
          m.meetingId = res.body.id;
        }
      }
      for (const m of plan) await addSpokenSegments(w, m.native, 400);
      for (const m of plan) {
        for (const h of m.holders) {
          const res = await http(first.url, "DELETE", `/bots/google_meet/${m.native}`, { key: h.key });
          expect(res.status, res.raw).toBe(202);
        }
      }

      await expectKilled(first, 60_000);
      const atCrash = await meetingStates(w);
      const deletesAtCrash = w.deletes.length;
      if (step === "pulled") {
        // Killed between the pull and the store: nothing committed, nothing deleted upstream.
        expect(deletesAtCrash, "no upstream DELETE before the restart").toBe(0);
        expect(atCrash.filter((s) => s.cached)).toEqual([]);
      } else if (step === "stored") {
        // The transcript and the meeting's end are one commit; the wholesaler's copy is untouched.
        expect(deletesAtCrash, "no upstream DELETE before the restart").toBe(0);
        const cached = atCrash.filter((s) => s.cached);
        expect(cached.length, "at least one transcript committed before the crash").toBeGreaterThan(0);
        for (const s of cached)
          expect(s, "ended with its transcript, not yet deleted upstream").toMatchObject({
            status: "completed",
            deleted: false,
          });
      } else {
        expect(deletesAtCrash, "the crash came right after a delete").toBeGreaterThan(0);
        expect(atCrash.filter((s) => s.deleted).length).toBeGreaterThan(0);
      }
      assertDeletesAfterCommit(w.deletes);

      const orphaned = await expireOrphanedJobs(w);
      expect(orphaned, "the dead process left its job(s) active").toBeGreaterThan(0);
      const second = await boot(w, p);
      await second.proc.waitReady(`${second.url}/ready`, 45_000);
      await waitFor(
        async () => {
          const s = await meetingStates(w);
          return s.length === plan.length && s.every((x) => x.status === "completed" && x.deleted);
        },
        90_000,
        `every meeting finalized after the restart (crash at ${step})`,
      );
      await waitFor(
        () =>
          plan.every((m) =>
            m.holders.every((h) =>
              w.receiver.deliveries.some(
                (d) => d.path === `/u/${h.id}` && JSON.parse(d.body).id === m.meetingId,
              ),
            ),
          ),
        60_000,
        "every user webhook delivered",
      );
      await new Promise((r) => setTimeout(r, 1000)); // let a stray duplicate show itself before counting
      await assertSettled(w, plan);
      if (step !== "deleted") {
        // Nothing had been deleted at the crash: each meeting saw one DELETE in all.
        expect(w.deletes.map((d) => d.nativeId).sort()).toEqual(plan.map((m) => m.native).sort());
      }
      expect(await second.proc.stop()).toBe(0);
      console.log(
        `[chaos] crash at ${step}: ${plan.length} meetings, ${atCrash.filter((s) => s.cached).length} cached at the crash, ` +
          `${deletesAtCrash} upstream deletes before it, ${w.deletes.length} in all, ${orphaned} orphaned job(s); ` +
          `${JSON.stringify(deliveriesSummary(w))}; ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    },
    240_000,
  );

  it("20 meetings finalizing while the process is SIGKILLed at random moments, repeatedly", async () => {
    const started = Date.now();
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 100_000);
    const random = rng(seed);
    console.log(`[chaos] random crash seed ${seed} (replay with CHAOS_SEED=${seed})`);
    world = await createWorld();
    const w = world;
    // Slow enough upstream calls that finalization is in full swing whenever the kill comes.
    w.sandbox.faults.set("GET /transcripts/{platform}/{native_meeting_id}", { latencyMs: 150 });
    w.sandbox.faults.set("DELETE /meetings/{platform}/{native_meeting_id}", { latencyMs: 150 });
    const p = await ports();
    let node = await boot(w, p);
    await node.proc.waitReady(`${node.url}/ready`, 45_000);

    const users: Holder[] = [];
    for (let i = 0; i < 5; i++) {
      const u = await newUser(node.url, `random-${i}@example.com`, {});
      const hook = await http(node.url, "PUT", "/user/webhook", {
        key: u.key,
        body: { webhook_url: `${w.receiver.url}/u/${u.id}` },
      });
      expect(hook.status, hook.raw).toBe(200);
      users.push(u);
    }
    const plan: Planned[] = Array.from({ length: 20 }, (_, i) => ({
      native: meetId("rnd", i),
      // Every fourth meeting is shared by two users.
      holders:
        i % 4 === 3 ? [users[i % 5] as Holder, users[(i + 1) % 5] as Holder] : [users[i % 5] as Holder],
    }));
    for (const m of plan) {
      for (const h of m.holders) {
        const res = await http(node.url, "POST", "/bots", {
          key: h.key,
          body: { platform: "google_meet", native_meeting_id: m.native },
        });
        expect(res.status, res.raw).toBe(201);
        m.meetingId = res.body.id;
      }
    }
    for (const m of plan) await addSpokenSegments(w, m.native, 300 + Math.floor(random() * 1500));

    // Meetings end in waves while the process is being killed: some webhooks reach a dead process (the
    // reconciler must heal those), some jobs die mid-pull, mid-store, mid-delete or mid-notification.
    const waves = [plan.slice(0, 8), plan.slice(8, 14), plan.slice(14, 20)];
    const kills: number[] = [];
    const rounds = 6;
    for (let round = 0; round < rounds; round++) {
      const wave = waves[round];
      if (wave) for (const m of wave) await w.sandbox.endMeeting("google_meet", m.native, "completed");
      // Anywhere from during start-up to well into the work.
      const delay = Math.floor(200 + random() * 3800);
      await new Promise((r) => setTimeout(r, delay));
      await kill9(node);
      kills.push(delay);
      await expireOrphanedJobs(w);
      node = await boot(w, p);
      if (round < rounds - 1 && random() < 0.3) continue; // sometimes the next kill comes before it is even ready
      await node.proc.waitReady(`${node.url}/ready`, 45_000);
    }
    await node.proc.waitReady(`${node.url}/ready`, 45_000);
    const before = await meetingStates(w);

    await waitFor(
      async () => {
        const s = await meetingStates(w);
        return s.length === plan.length && s.every((x) => x.status === "completed" && x.deleted);
      },
      120_000,
      "every meeting finalized after the last restart",
    );
    await waitFor(
      () =>
        plan.every((m) =>
          m.holders.every((h) =>
            w.receiver.deliveries.some(
              (d) => d.path === `/u/${h.id}` && JSON.parse(d.body).id === m.meetingId,
            ),
          ),
        ),
      90_000,
      "every user webhook delivered",
    );
    await new Promise((r) => setTimeout(r, 1000));
    await assertSettled(w, plan);
    expect(await node.proc.stop()).toBe(0);
    const repeats = w.deletes.filter((d) => d.status === 404).length;
    console.log(
      `[chaos] random: seed ${seed}, ${kills.length} kills after ${kills.join("/")} ms; at the last restart ` +
        `${before.filter((s) => s.deleted).length}/20 finalized; ${w.deletes.length} upstream deletes (${repeats} harmless 404 repeats); ` +
        `${JSON.stringify(deliveriesSummary(w))}; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }, 420_000);
});
