import type { Clock } from "../clock.js";
import {
  enqueueFinalize,
  FINALIZE_QUEUE,
  finalizeMeeting,
  type LifecycleDeps,
  NOTIFY_QUEUE,
} from "./finalize-meeting.js";
import { RECONCILE_QUEUE, reconcileMeetings } from "./reconcile.js";

export interface RunnerLogger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
  error(o: object, msg?: string): void;
}

export type NotifyHandler = (data: { meetingId: number; userId: number }, attempt: number) => Promise<void>;

/**
 * The bot-manager role: finalization, user notifications and the reconciler, all on the durable queue so any
 * number of instances can run them and each job runs once.
 */
export async function startBackgroundWork(
  deps: LifecycleDeps & {
    clock: Clock;
    log: RunnerLogger;
    reconcileIntervalSeconds: number;
    notify: NotifyHandler;
  },
): Promise<{ stop(): Promise<void> }> {
  const { queue, log } = deps;
  await queue.ensureQueue(FINALIZE_QUEUE, {
    retryLimit: 30,
    retryDelaySeconds: 2,
    retryBackoff: true,
    expireInSeconds: 120,
  });
  await queue.ensureQueue(NOTIFY_QUEUE, {
    retryLimit: 8,
    retryDelaySeconds: 10,
    retryBackoff: true,
    expireInSeconds: 60,
  });
  await queue.ensureQueue(RECONCILE_QUEUE, { retryLimit: 0, expireInSeconds: 300 });

  await queue.work<{ meetingId: number }>(
    FINALIZE_QUEUE,
    async (job) => {
      const result = await finalizeMeeting(deps, job.data.meetingId);
      log.info({ meetingId: job.data.meetingId, result, attempt: job.retryCount }, "meeting finalized");
    },
    { batchSize: 4 },
  );
  await queue.work<{ meetingId: number; userId: number }>(
    NOTIFY_QUEUE,
    async (job) => deps.notify(job.data, job.retryCount + 1),
    {
      batchSize: 4,
    },
  );
  await queue.work(RECONCILE_QUEUE, async () => {
    const summary = await reconcileMeetings(deps);
    if (summary.checked > 0) log.info({ ...summary }, "reconciled live meetings");
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

export { enqueueFinalize };
