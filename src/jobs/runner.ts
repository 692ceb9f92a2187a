import {
  FINALIZE_QUEUE,
  NOTIFY_QUEUE,
  QUEUE_POLICIES,
  RECONCILE_QUEUE,
  START_QUEUE,
} from "../meetings/queues.js";
import { finalizeMeeting } from "./finalize-meeting.js";
import type { JobQueue } from "./queue.js";
import { type ReconcileDeps, reconcileMeetings } from "./reconcile.js";
import { startQueuedMeeting } from "./start-meeting.js";

export interface RunnerLogger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
  error(o: object, msg?: string): void;
}

export type NotifyHandler = (data: { meetingId: number; userId: number }, attempt: number) => Promise<void>;

/**
 * The bot-manager role: finalization, queued starts, user notifications and the reconciler, all on the durable
 * queue so any number of instances can run them and each job runs once.
 */
export async function startBackgroundWork(
  deps: ReconcileDeps & {
    queue: JobQueue;
    log: RunnerLogger;
    reconcileIntervalSeconds: number;
    notify: NotifyHandler;
  },
): Promise<{ stop(): Promise<void> }> {
  const { queue, log } = deps;
  for (const [name, policy] of Object.entries(QUEUE_POLICIES)) await queue.ensureQueue(name, policy);

  await queue.work<{ meetingId: number }>(
    FINALIZE_QUEUE,
    async (job) => {
      const result = await finalizeMeeting(deps, job.data.meetingId);
      log.info({ meetingId: job.data.meetingId, result, attempt: job.retryCount }, "meeting finalized");
    },
    { batchSize: 4 },
  );
  const stop = (platform: string, nativeId: string) =>
    deps.client.stopBot(platform, nativeId).then(
      () => undefined,
      () => undefined,
    );
  await queue.work<{ meetingId: number }>(START_QUEUE, async (job) => {
    const result = await startQueuedMeeting({ ...deps, stop }, job.data.meetingId);
    if (result !== "skipped") log.info({ meetingId: job.data.meetingId, result }, "queued bot start settled");
  });
  await queue.work<{ meetingId: number; userId: number }>(
    NOTIFY_QUEUE,
    async (job) => deps.notify(job.data, job.retryCount + 1),
    { batchSize: 4 },
  );
  await queue.work(RECONCILE_QUEUE, async () => {
    const summary = await reconcileMeetings({ ...deps, log });
    if (summary.checked > 0 || summary.orphansStopped > 0)
      log.info({ ...summary }, "reconciled live meetings");
  });

  // Every instance asks; the singleton key lets only one reconcile run be queued at a time.
  const tick = () =>
    queue
      .send(RECONCILE_QUEUE, {}, { singletonKey: "reconcile" })
      .catch((err) => log.warn({ err }, "could not schedule reconcile"));
  const intervalMs = deps.reconcileIntervalSeconds * 1000;
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  void tick();
  return {
    async stop() {
      clearInterval(timer);
    },
  };
}
