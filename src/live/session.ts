import { type Platform, PLATFORMS } from "../errors.js";
import type { UserMeetingRow } from "../services/meeting-views.js";
import type { LiveHub, Sink } from "./hub.js";
import { control } from "./messages.js";

/** Meetings one connection may follow at once; a bound on what one client can make us hold. */
export const MAX_SUBSCRIPTIONS = 100;

interface Ref {
  platform: string;
  native_id: string;
}

/**
 * The client side of Vexa's ws.v1 `/ws` after authentication: `subscribe`, `unsubscribe` and `ping` actions, with
 * Vexa's control frames and error codes (core/gateway/services/gateway/src/gateway/app.py `run_multiplex`). Only
 * meetings the user holds are subscribed; the rest are left out of the `subscribed` ack, as Vexa's authorizer does.
 */
export function createSession(o: {
  sink: Sink;
  hub: LiveHub;
  find(platform: Platform, nativeId: string): Promise<UserMeetingRow | undefined>;
}) {
  const subscribed = new Map<string, { ref: Ref; meetingId: number }>();
  const refKey = (r: Ref) => `${r.platform}\u0000${r.native_id}`;
  let chain = Promise.resolve();
  // Sends a control frame; returns undefined so answers read as `return say(...)`.
  const say = (text: string): undefined => {
    o.sink.send(text);
    return undefined;
  };

  const refsOf = (meetings: unknown[]): Ref[] =>
    meetings.flatMap((m) => {
      if (!m || typeof m !== "object") return [];
      const platform = String((m as Record<string, unknown>).platform ?? "").trim();
      const nativeId = String((m as Record<string, unknown>).native_id ?? "").trim();
      return platform && nativeId ? [{ platform, native_id: nativeId }] : [];
    });

  const invalid = (details: string) => say(control.error("invalid_subscribe_payload", { details }));

  async function subscribe(meetings: unknown): Promise<void> {
    if (!Array.isArray(meetings)) return invalid("'meetings' must be a non-empty list");
    if (meetings.length === 0) return invalid("'meetings' list cannot be empty");
    const refs = refsOf(meetings);
    if (refs.length === 0) return invalid("no valid meeting objects");
    if (subscribed.size + refs.length > MAX_SUBSCRIPTIONS)
      return invalid(`at most ${MAX_SUBSCRIPTIONS} meetings per connection`);
    const found: { ref: Ref; row: UserMeetingRow }[] = [];
    try {
      for (const ref of refs) {
        if (!(PLATFORMS as readonly string[]).includes(ref.platform)) continue;
        const row = await o.find(ref.platform as Platform, ref.native_id);
        if (row) found.push({ ref, row });
      }
    } catch (err) {
      o.sink.send(control.error("authorization_service_error", { status: 503, detail: errorDetail(err) }));
      return;
    }
    o.sink.send(control.subscribed(found.map((f) => f.ref)));
    for (const { ref, row } of found) {
      if (subscribed.has(refKey(ref))) continue;
      subscribed.set(refKey(ref), { ref, meetingId: row.id });
      await o.hub.subscribe(o.sink, row);
    }
  }

  function unsubscribe(meetings: unknown): undefined {
    if (!Array.isArray(meetings))
      return say(control.error("invalid_unsubscribe_payload", { details: "'meetings' must be a list" }));
    const done: Ref[] = [];
    const errors: string[] = [];
    meetings.forEach((m, i) => {
      const [ref] = refsOf([m]);
      if (!m || typeof m !== "object") errors.push(`meetings[${i}] must be an object`);
      else if (!ref) errors.push(`meetings[${i}] missing 'platform' or 'native_id'`);
      else {
        const sub = subscribed.get(refKey(ref));
        if (!sub) errors.push(`meetings[${i}] not currently subscribed`);
        else {
          subscribed.delete(refKey(ref));
          o.hub.unsubscribe(o.sink, sub.meetingId);
          done.push(ref);
        }
      }
    });
    if (errors.length > 0 && done.length === 0)
      return say(control.error("invalid_unsubscribe_payload", { details: errors }));
    return say(control.unsubscribed(done));
  }

  async function handle(raw: string): Promise<undefined> {
    let msg: unknown;
    try {
      msg = JSON.parse(raw);
    } catch {
      return say(control.error("invalid_json"));
    }
    if (!msg || typeof msg !== "object" || Array.isArray(msg)) return say(control.error("invalid_json"));
    const { action, meetings } = msg as Record<string, unknown>;
    if (action === "subscribe") {
      await subscribe(meetings);
      return;
    }
    if (action === "unsubscribe") return unsubscribe(meetings);
    if (action === "ping") return say(control.pong());
    return say(control.error("unknown_action"));
  }

  return {
    /** Frames are handled one at a time, in order (a subscribe's snapshot precedes the next frame's answer). */
    receive(raw: string): void {
      chain = chain.then(() => handle(raw)).catch(() => undefined);
    },
    close(): void {
      o.hub.drop(o.sink);
      subscribed.clear();
    },
  };
}

function errorDetail(err: unknown): string {
  const detail = (err as { detail?: unknown }).detail;
  return typeof detail === "string" ? detail : "The service is temporarily unavailable.";
}
