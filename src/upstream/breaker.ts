import type { Clock } from "../clock.js";
import { systemClock } from "../clock.js";
import { UpstreamError } from "./errors.js";

export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerOptions {
  /** Consecutive failures that open the circuit (default 5). */
  threshold?: number;
  /** How long the circuit stays open before one probe is let through (default 5000 ms). */
  openMs?: number;
  clock?: Clock;
}

/** What a finished call means for the breaker: only `failure` counts; `ignore` (e.g. caller aborted) changes nothing. */
export type Outcome = "success" | "failure" | "ignore";

export type StateListener = (to: BreakerState, from: BreakerState) => void;

export interface BreakerTicket {
  readonly generation: number;
  readonly probe: boolean;
}

export const BREAKER_DEFAULTS = { threshold: 5, openMs: 5000 } as const;

/** Default classification: only `unavailable` upstream errors are failures; a 404 or 409 is a healthy upstream. */
export function classifyOutcome(error: unknown): Outcome {
  if (error instanceof UpstreamError) {
    if (error.breakerOpen) return "ignore";
    if (error.scopeFailure) return "success"; // the wholesaler answered; our key's scope is the problem
    return error.kind === "unavailable" ? "failure" : "success";
  }
  return "failure";
}

/**
 * Circuit breaker with an injected clock. closed → open after `threshold` consecutive failures → half_open
 * once `openMs` has passed (checked lazily, no timers) letting exactly one probe through → closed on its
 * success, open again on its failure.
 */
export class CircuitBreaker {
  private current: BreakerState = "closed";
  private failures = 0;
  private openedAt = 0;
  private probeInFlight = false;
  /** Bumped on every transition, so late outcomes from an earlier state are not counted. */
  private generation = 0;
  private readonly listeners = new Set<StateListener>();
  private readonly threshold: number;
  private readonly openMs: number;
  private readonly clock: Clock;

  constructor(opts: BreakerOptions = {}) {
    this.threshold = Math.max(1, opts.threshold ?? BREAKER_DEFAULTS.threshold);
    this.openMs = Math.max(0, opts.openMs ?? BREAKER_DEFAULTS.openMs);
    this.clock = opts.clock ?? systemClock;
  }

  state(): BreakerState {
    if (this.current === "open" && this.clock.now() - this.openedAt >= this.openMs)
      this.transition("half_open");
    return this.current;
  }

  /** Subscribes to state changes; returns the unsubscribe function. */
  onStateChange(listener: StateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Seconds until a probe may be tried (at least 1), for Retry-After. */
  retryAfterSeconds(): number {
    if (this.current !== "open") return 1;
    return Math.max(1, Math.ceil((this.openedAt + this.openMs - this.clock.now()) / 1000));
  }

  /**
   * Asks permission for one call. Throws UpstreamError(unavailable, breakerOpen) when the circuit is open or a
   * half-open probe is already in flight. Every ticket must be given back once through `release`.
   */
  acquire(route: string): BreakerTicket {
    const s = this.state();
    if (s === "closed") return { generation: this.generation, probe: false };
    if (s === "half_open" && !this.probeInFlight) {
      this.probeInFlight = true;
      return { generation: this.generation, probe: true };
    }
    throw new UpstreamError({
      kind: "unavailable",
      route,
      message: `upstream ${route}: circuit open`,
      detail: "circuit open",
      breakerOpen: true,
      retryAfterSeconds: this.retryAfterSeconds(),
    });
  }

  /** Reports a call's outcome. Outcomes of calls started before the last state change are stale and ignored. */
  release(ticket: BreakerTicket, outcome: Outcome): void {
    if (ticket.probe) {
      if (ticket.generation !== this.generation) return;
      this.probeInFlight = false;
      if (outcome === "success") this.transition("closed");
      else if (outcome === "failure") this.open();
      return;
    }
    if (outcome === "ignore" || ticket.generation !== this.generation) return;
    if (outcome === "success") {
      this.failures = 0;
      return;
    }
    this.failures++;
    if (this.failures >= this.threshold) this.open();
  }

  /** Runs `fn` under the breaker. */
  async run<T>(
    route: string,
    fn: () => Promise<T>,
    classify: (e: unknown) => Outcome = classifyOutcome,
  ): Promise<T> {
    const ticket = this.acquire(route);
    let outcome: Outcome = "failure";
    try {
      const v = await fn();
      outcome = "success";
      return v;
    } catch (e) {
      outcome = classify(e);
      throw e;
    } finally {
      this.release(ticket, outcome);
    }
  }

  private open(): void {
    this.openedAt = this.clock.now();
    this.transition("open");
  }

  private transition(to: BreakerState): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    this.generation++;
    this.failures = 0;
    if (to !== "half_open") this.probeInFlight = false;
    for (const l of this.listeners) {
      try {
        l(to, from);
      } catch {
        // a listener's bug must not break the breaker
      }
    }
  }
}
