import type { Queryable } from "../db/client.js";

/**
 * The durable jobs the lifecycle starts, and their one retry policy each. Declared here, not in jobs/, so the
 * services and the webhook receiver can enqueue them inside their own transactions without importing workers.
 */
export const FINALIZE_QUEUE = "finalize-meeting";
export const NOTIFY_QUEUE = "notify-user";
export const START_QUEUE = "start-meeting";
export const RECONCILE_QUEUE = "reconcile-meetings";

export const QUEUE_POLICIES = {
  // ~30 tries with backoff: a wholesaler outage of an hour still ends in a stored transcript.
  [FINALIZE_QUEUE]: { retryLimit: 30, retryDelaySeconds: 2, retryBackoff: true, expireInSeconds: 120 },
  [NOTIFY_QUEUE]: { retryLimit: 8, retryDelaySeconds: 10, retryBackoff: true, expireInSeconds: 60 },
  // Every 2 s while the room's previous bot leaves; the job itself gives up after START_QUEUE_TIMEOUT_MS.
  [START_QUEUE]: { retryLimit: 120, retryDelaySeconds: 2, retryBackoff: false, expireInSeconds: 60 },
  [RECONCILE_QUEUE]: { retryLimit: 0, expireInSeconds: 300 },
} as const;

/** How long a queued start may wait for the wholesaler to let the room go before the meeting fails. */
export const START_QUEUE_TIMEOUT_MS = 120_000;

/** What the lifecycle needs of the job queue (src/jobs/queue.ts implements it). */
export interface JobSender {
  send(
    name: string,
    data: object,
    opts?: {
      tx?: Queryable;
      singletonKey?: string;
      retryLimit?: number;
      retryDelaySeconds?: number;
      retryBackoff?: boolean;
      startAfterSeconds?: number;
    },
  ): Promise<string | null>;
}

// The policy travels with each job too: an instance that enqueues before any worker created the queue (a
// gateway-only process) must not leave the job with the queue defaults.
const retryOf = (name: keyof typeof QUEUE_POLICIES) => {
  const { expireInSeconds: _expire, ...retry } = QUEUE_POLICIES[name];
  return retry;
};

export const enqueueFinalize = (queue: JobSender, meetingId: number, tx?: Queryable) =>
  queue.send(
    FINALIZE_QUEUE,
    { meetingId },
    { ...(tx ? { tx } : {}), singletonKey: `finalize:${meetingId}`, ...retryOf(FINALIZE_QUEUE) },
  );

/**
 * A reconcile run soon, on the one key every reconcile shares (at most one queued or running). Current Vexa sends
 * no webhook for a bot that ends `failed` (one stopped while still joining): after our own stop, we look again
 * after `seconds` instead of at the next interval.
 */
export const enqueueReconcileSoon = (queue: JobSender, seconds: number) =>
  queue.send(RECONCILE_QUEUE, {}, { singletonKey: "reconcile", startAfterSeconds: seconds });

export const enqueueStart = (queue: JobSender, meetingId: number, tx: Queryable) =>
  queue.send(START_QUEUE, { meetingId }, { tx, singletonKey: `start:${meetingId}`, ...retryOf(START_QUEUE) });

export const enqueueNotify = (queue: JobSender, meetingId: number, userId: number, tx: Queryable) =>
  queue.send(
    NOTIFY_QUEUE,
    { meetingId, userId },
    { tx, singletonKey: `notify:${meetingId}:${userId}`, ...retryOf(NOTIFY_QUEUE) },
  );
