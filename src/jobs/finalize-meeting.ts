import type { Clock } from "../clock.js";
import type { Db } from "../db/client.js";
import * as lifecycle from "../meetings/lifecycle.js";
import type { JobSender } from "../meetings/queues.js";
import { toSegment } from "../meetings/transcript-store.js";
import type { WholesalerClient } from "../upstream/client.js";
import { UpstreamError } from "../upstream/errors.js";

export type FinalizeStep = "pulled" | "stored" | "deleted";

export interface LifecycleDeps {
  db: Db;
  clock: Clock;
  client: WholesalerClient;
  queue: JobSender & { retryNow(name: string, singletonKey: string): Promise<boolean> };
  /** Ours among retailers sharing one wholesaler account: only our bots are adopted or stopped. */
  serviceLayerId: string;
  /** Test hook: the chaos suite kills the process at a named step to prove every step resumes. */
  crashAt?: (step: FinalizeStep) => void;
}

interface MeetingRow {
  id: number;
  platform: string;
  platform_specific_id: string;
  wholesaler_meeting_id: string | null;
  transcript_cached: boolean;
  upstream_deleted: boolean;
}

/**
 * pull the final transcript → store it with the meeting's end (one commit) → only then delete the wholesaler's
 * copy, if it is ours → notify holders. Every step is idempotent, so a retry after a crash resumes where it stopped.
 */
export async function finalizeMeeting(deps: LifecycleDeps, meetingId: number): Promise<"finalized" | "gone"> {
  const { db, client } = deps;
  const res = await db.query<MeetingRow>(
    `SELECT id, platform, platform_specific_id, wholesaler_meeting_id, transcript_cached, upstream_deleted
       FROM meetings WHERE id = $1`,
    [meetingId],
  );
  const m = res.rows[0];
  if (!m) return "gone";
  // The wholesaler meeting id now latest in the room (null: none), once we have asked.
  let latest: number | null | undefined;
  if (!m.transcript_cached) {
    const pulled = await latestTranscript(client, m);
    latest = pulled?.id ?? null;
    // A newer wholesaler meeting for the same native id is not ours to store.
    const final = pulled && isOurs(m, pulled.id) ? pulled : null;
    deps.crashAt?.("pulled");
    await lifecycle.storeFinal(deps, m.id, final && { ...final, segments: final.segments.map(toSegment) });
    deps.crashAt?.("stored");
  }
  if (!m.upstream_deleted) {
    // Vexa deletes the room's *latest* meeting: if that is no longer ours (a newer bot in the room), leave it be.
    if (latest === undefined) latest = (await latestTranscript(client, m))?.id ?? null;
    if (latest !== null && isOurs(m, latest)) {
      await client.deleteMeeting(m.platform, m.platform_specific_id, { timeoutMs: 5000, deadlineMs: 10_000 });
    }
    await lifecycle.markUpstreamDeleted(deps, m.id);
    deps.crashAt?.("deleted");
  }
  return "finalized";
}

// Without a recorded id (the webhook raced our own commit) the room's meeting is taken to be ours.
const isOurs = (m: MeetingRow, upstreamId: number) =>
  m.wholesaler_meeting_id === null || Number(m.wholesaler_meeting_id) === upstreamId;

/** The room's latest transcript on the wholesaler, or null when it has none (the checkpoint then stands). */
async function latestTranscript(client: WholesalerClient, m: MeetingRow) {
  try {
    return await client.getTranscript(m.platform, m.platform_specific_id, {
      timeoutMs: 10_000,
      deadlineMs: 30_000,
    });
  } catch (err) {
    if (err instanceof UpstreamError && err.kind === "not_found") return null;
    throw err;
  }
}
