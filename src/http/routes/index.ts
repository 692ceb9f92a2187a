import type { App } from "../app.js";
import type { AppDeps } from "../deps.js";
import { registerBotRoutes } from "./bots.js";
import { registerMeetingRoutes } from "./meetings.js";
import { registerTranscriptRoutes } from "./transcripts.js";
import { registerUserUsageRoutes } from "./usage.js";
import { registerUserRoutes } from "./user.js";
import { registerWebhookRoutes } from "./webhooks.js";

/** The gateway's user API, by prefix. */
export function registerGatewayRoutes(app: App, deps: AppDeps): void {
  registerBotRoutes(app, deps);
  registerMeetingRoutes(app, deps);
  registerTranscriptRoutes(app, deps);
  registerUserRoutes(app, deps);
  registerUserUsageRoutes(app, deps);
  registerWebhookRoutes(app, deps);
}
