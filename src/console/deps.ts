import type { Config } from "../config.js";
import type { JobQueue } from "../jobs/queue.js";
import type { ReconcileDeps } from "../jobs/reconcile.js";
import type { Ctx } from "../services/context.js";
import type { TranscriptsCtx } from "../services/transcripts.js";
import type { CapabilityCheck } from "../upstream/capabilities.js";
import type { WholesalerClient } from "../upstream/client.js";
import type { SignInThrottle } from "./throttle.js";

/** What the console needs beyond the admin API's own dependencies; built by the composition root. */
export interface ConsoleDeps {
  client: Pick<WholesalerClient, "breakerState" | "authFailing" | "getBotsStatus">;
  /** What our wholesaler key may do, as the start-up check found it. */
  capabilities: Pick<CapabilityCheck, "current" | "problems">;
  queue: Pick<JobQueue, "send" | "depth" | "failedCount">;
  /** The reconciler's own dependencies: "reconcile now" runs the same function the schedule runs. */
  lifecycle: ReconcileDeps;
  /** Failed sign-ins per address, shared with the admin API's throttle. */
  throttle: SignInThrottle;
}

/** What the console uses of the admin API's own dependencies (src/http's AppDeps has them all). */
export interface ConsoleAppDeps {
  config: Config;
  ctx: Ctx;
  transcriptsCtx: TranscriptsCtx;
}
