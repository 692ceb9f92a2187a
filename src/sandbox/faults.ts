/** Fault injection: what the next calls on a route (or on every route, "*") suffer, and what happens to webhooks. */

/** The upstream routes a Vexa user can call; the keys of calls() and of per-route faults. */
export const ROUTE_KEYS = [
  "GET /",
  "POST /bots",
  "DELETE /bots/{platform}/{native_meeting_id}",
  "PUT /bots/{platform}/{native_meeting_id}/config",
  "GET /bots/status",
  "GET /meetings",
  "GET /transcripts/{platform}/{native_meeting_id}",
  "PATCH /meetings/{platform}/{native_meeting_id}",
  "DELETE /meetings/{platform}/{native_meeting_id}",
  "PUT /user/webhook",
  "GET /auth/me",
] as const;
export type RouteKey = (typeof ROUTE_KEYS)[number];

export interface RouteFault {
  /** Wall-clock delay before the call is handled (or fails). */
  latencyMs?: number;
  /** Answer with this status and `{"detail": ...}` instead of handling the call. */
  errorStatus?: number;
  /** Seconds for a Retry-After header on an errorStatus answer. */
  retryAfter?: number;
  /** Overrides the default `detail` of an errorStatus answer. */
  detail?: unknown;
  /** Destroy the connection without answering: the client sees a network error. */
  outage?: boolean;
  /** Apply to the next N matching calls only, then clear itself. */
  times?: number;
}

export interface WebhookFaults {
  /** Drop every webhook (true) or the next N. */
  dropWebhooks?: boolean | number;
  /** Deliver each webhook this many times. */
  duplicateWebhooks?: number;
  unsignedWebhooks?: boolean;
  badSignatureWebhooks?: boolean;
  /** Deliver late, in simulated (clock) time. */
  webhookDelayMs?: number;
}

export interface FaultSnapshot {
  routes: Record<string, RouteFault>;
  webhooks: WebhookFaults;
}

export interface FaultControl {
  /** Sets (replaces) the fault of one route key, or "*" for every upstream route. */
  set(route: RouteKey | "*", fault: RouteFault): void;
  clear(route: RouteKey | "*"): void;
  /** Merges webhook faults; pass a key as undefined to clear it. */
  setWebhooks(faults: WebhookFaults): void;
  /** The upstream forgets the meeting(s) for this platform and native id, transcripts included. Returns how many. */
  loseMeeting(platform: string, nativeId: string): number;
  reset(): void;
  snapshot(): FaultSnapshot;
}

export function isRouteKey(value: string): value is RouteKey | "*" {
  return value === "*" || (ROUTE_KEYS as readonly string[]).includes(value);
}

export class Faults implements FaultControl {
  private routes = new Map<string, RouteFault>();
  private webhooks: WebhookFaults = {};

  constructor(private readonly forget: (platform: string, nativeId: string) => number) {}

  set(route: RouteKey | "*", fault: RouteFault): void {
    if (!isRouteKey(route)) throw new Error(`unknown sandbox route key: ${route}`);
    this.routes.set(route, { ...fault });
  }

  clear(route: RouteKey | "*"): void {
    this.routes.delete(route);
  }

  setWebhooks(faults: WebhookFaults): void {
    const next: Record<string, unknown> = { ...this.webhooks, ...faults };
    for (const [k, v] of Object.entries(next)) if (v === undefined || v === false || v === 0) delete next[k];
    this.webhooks = next as WebhookFaults;
  }

  loseMeeting(platform: string, nativeId: string): number {
    return this.forget(platform, nativeId);
  }

  reset(): void {
    this.routes.clear();
    this.webhooks = {};
  }

  snapshot(): FaultSnapshot {
    return { routes: Object.fromEntries(this.routes), webhooks: { ...this.webhooks } };
  }

  /** The fault this call suffers, counting down `times`; a route's own fault wins over "*". */
  take(route: string): RouteFault | undefined {
    const key = this.routes.has(route) ? route : this.routes.has("*") ? "*" : undefined;
    if (key === undefined) return undefined;
    const fault = this.routes.get(key);
    if (!fault) return undefined;
    if (fault.times !== undefined) {
      if (fault.times <= 1) this.routes.delete(key);
      else this.routes.set(key, { ...fault, times: fault.times - 1 });
    }
    return fault;
  }

  /** Decides one webhook's fate; consumes a counted drop. */
  webhookPlan(): {
    drop: boolean;
    copies: number;
    unsigned: boolean;
    badSignature: boolean;
    delayMs: number;
  } {
    const w = this.webhooks;
    let drop = w.dropWebhooks === true;
    if (typeof w.dropWebhooks === "number" && w.dropWebhooks > 0) {
      drop = true;
      this.setWebhooks({ dropWebhooks: w.dropWebhooks - 1 });
    }
    return {
      drop,
      copies: Math.max(1, Math.floor(w.duplicateWebhooks ?? 1)),
      unsigned: w.unsignedWebhooks === true,
      badSignature: w.badSignatureWebhooks === true,
      delayMs: Math.max(0, w.webhookDelayMs ?? 0),
    };
  }
}
