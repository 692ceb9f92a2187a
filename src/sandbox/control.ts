import type { FastifyInstance, FastifyRequest } from "fastify";
import { SandboxHttpError } from "./errors.js";
import { type Faults, isRouteKey, type RouteFault, type WebhookFaults } from "./faults.js";
import { requireKey } from "./http.js";
import type { BulkOptions } from "./transcript-gen.js";
import type { TweakControl } from "./tweaks.js";
import { checkPathPlatform, requireObject } from "./validate.js";

/** What the control API needs from the sandbox; index.ts provides it. */
export interface ControlTarget {
  apiKey: string;
  faults: Faults;
  calls(): Record<string, number>;
  resetCalls(): void;
  webhooks(): { deliveries: unknown[]; dropped: number; blocked: string[] };
  advance?: (ms: number) => void;
  endMeeting(platform: string, nativeId: string, status?: "completed" | "failed"): Promise<void>;
  addSegments(platform: string, nativeId: string, count: number, opts?: BulkOptions): void;
  idle(): Promise<void>;
  tweaks: TweakControl;
}

type MeetingParams = { Params: { platform: string; native_meeting_id: string } };

const bad = (detail: string) => new SandboxHttpError(400, detail);

function nonNegative(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0)
    throw bad(`${name} must be a non-negative number`);
  return value;
}

/** The sandbox's own control API under /_sandbox: counters, faults, time and meeting endings, behind the same key. */
export function registerControlRoutes(app: FastifyInstance, t: ControlTarget): void {
  const auth = (request: FastifyRequest) => requireKey(request, t.apiKey, "collector");

  app.get("/_sandbox/calls", async (request) => {
    auth(request);
    return t.calls();
  });

  app.post("/_sandbox/calls/reset", async (request) => {
    auth(request);
    t.resetCalls();
    return { ok: true };
  });

  app.get("/_sandbox/faults", async (request) => {
    auth(request);
    return t.faults.snapshot();
  });

  // Body: { routes?: { "<route key>|*": RouteFault | null }, webhooks?: WebhookFaults, lose?: [{platform, native_meeting_id}] }
  app.put("/_sandbox/faults", async (request) => {
    auth(request);
    const body = requireObject(request.body);
    const routes = (body.routes ?? {}) as Record<string, RouteFault | null>;
    for (const key of Object.keys(routes)) if (!isRouteKey(key)) throw bad(`unknown route key: ${key}`);
    for (const [key, fault] of Object.entries(routes)) {
      if (!isRouteKey(key)) continue;
      if (fault === null) t.faults.clear(key);
      else t.faults.set(key, fault);
    }
    if (body.webhooks) t.faults.setWebhooks(body.webhooks as WebhookFaults);
    const lose = Array.isArray(body.lose)
      ? (body.lose as { platform: string; native_meeting_id: string }[])
      : [];
    const lost = lose.reduce(
      (n, x) => n + t.faults.loseMeeting(String(x.platform), String(x.native_meeting_id)),
      0,
    );
    return { ...t.faults.snapshot(), lost };
  });

  app.delete("/_sandbox/faults", async (request) => {
    auth(request);
    t.faults.reset();
    return t.faults.snapshot();
  });

  app.get("/_sandbox/webhooks", async (request) => {
    auth(request);
    return t.webhooks();
  });

  app.post("/_sandbox/clock/advance", async (request) => {
    auth(request);
    const ms = nonNegative(requireObject(request.body).ms, "ms");
    if (!t.advance)
      throw new SandboxHttpError(409, "The sandbox runs on the system clock; advance needs a manual clock.");
    t.advance(ms);
    await t.idle();
    return { ok: true, advanced_ms: ms };
  });

  app.post<MeetingParams>("/_sandbox/meetings/:platform/:native_meeting_id/end", async (request) => {
    auth(request);
    const platform = checkPathPlatform(request.params.platform);
    const body = (request.body ?? {}) as { status?: unknown };
    const status = body.status ?? "completed";
    if (status !== "completed" && status !== "failed") throw bad("status must be 'completed' or 'failed'");
    await t.endMeeting(platform, request.params.native_meeting_id, status);
    return { ok: true };
  });

  app.post<MeetingParams>("/_sandbox/meetings/:platform/:native_meeting_id/segments", async (request) => {
    auth(request);
    const platform = checkPathPlatform(request.params.platform);
    const body = requireObject(request.body);
    const count = nonNegative(body.count, "count");
    const pastEnd =
      body.past_end_ms === undefined ? {} : { pastEndMs: nonNegative(body.past_end_ms, "past_end_ms") };
    t.addSegments(platform, request.params.native_meeting_id, Math.floor(count), pastEnd);
    return { ok: true, added: Math.floor(count) };
  });

  // Body: Tweaks, merged; a field set to null goes back to well-behaved.
  app.get("/_sandbox/tweaks", async (request) => {
    auth(request);
    return t.tweaks.get();
  });

  app.put("/_sandbox/tweaks", async (request) => {
    auth(request);
    return t.tweaks.set(requireObject(request.body));
  });

  app.delete("/_sandbox/tweaks", async (request) => {
    auth(request);
    t.tweaks.reset();
    return t.tweaks.get();
  });

  app.post<MeetingParams>("/_sandbox/meetings/:platform/:native_meeting_id/lose", async (request) => {
    auth(request);
    const platform = checkPathPlatform(request.params.platform);
    return { lost: t.faults.loseMeeting(platform, request.params.native_meeting_id) };
  });
}
