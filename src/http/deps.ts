import type { Config } from "../config.js";
import type { ConsoleDeps } from "../console/deps.js";
import type { BotsCtx } from "../services/bots.js";
import type { Ctx } from "../services/context.js";
import type { LiveHub } from "../live/hub.js";
import type { EventsCtx } from "../webhooks/receive.js";
import type { TranscriptsCtx } from "../services/transcripts.js";
import type { App, AppKind } from "./app.js";
import type { OpsDeps } from "./routes/health.js";

/** Everything the routes need, built once by the composition root (src/deps.ts). */
export interface AppDeps {
  config: Config;
  ctx: Ctx;
  botsCtx: BotsCtx;
  eventsCtx: EventsCtx;
  transcriptsCtx: TranscriptsCtx;
  /** Cross-cutting hooks (metrics, rate limits) installed on every app before the routes. */
  hooks?: ((app: App, kind: AppKind) => void)[];
  /** /health, /ready and /metrics; without it only /health is served. */
  ops?: OpsDeps;
  /** Live push (/ws, the SSE stream); absent, neither is served. */
  live?: LiveHub;
  /** The operator console at /console on the admin app; absent, the admin app serves the API only. */
  console?: ConsoleDeps;
}
