import type { App } from "../app.js";
import type { AppDeps } from "../deps.js";
import { registerMeetingRoutes } from "./meetings.js";
import { registerUserRoutes } from "./user.js";

/** The gateway's user API, by prefix. */
export function registerGatewayRoutes(app: App, deps: AppDeps): void {
  registerMeetingRoutes(app, deps);
  registerUserRoutes(app, deps);
}
