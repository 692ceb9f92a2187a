import type { Clock } from "../clock.js";
import { SandboxHttpError } from "./errors.js";

/**
 * Ways a real wholesaler differs from a well-behaved one, settable at any time (tests of clock skew and
 * of transcripts whose times do not line up). Every field is optional; absent means well-behaved.
 */
export interface Tweaks {
  /** Added to every time the sandbox prints and to its `Date` header, e.g. ±30000. */
  clockSkewMs?: number;
  /**
   * Added to the absolute times of flushed (final) segments only, so the final transcript's absolute times
   * differ by a constant from the live ones. Current mode also recomputes them from the meeting start.
   */
  finalTimeShiftMs?: number;
  /** Every segment is served with null `absolute_start_time`/`absolute_end_time`. */
  nullAbsoluteTimes?: boolean;
  /** Current mode: the scopes of the sandbox's key (default `["bot", "tx"]`). */
  scopes?: string[];
}

const KNOWN = new Set(["clockSkewMs", "finalTimeShiftMs", "nullAbsoluteTimes", "scopes"]);
const bad = (detail: string) => new SandboxHttpError(400, detail);

export class TweakControl {
  private current: Tweaks = {};

  constructor(initial: Tweaks = {}) {
    this.set({ ...initial });
  }

  get(): Tweaks {
    return { ...this.current };
  }

  /** Merges; a field given as null or undefined goes back to well-behaved. */
  set(patch: Record<string, unknown>): Tweaks {
    for (const k of Object.keys(patch)) if (!KNOWN.has(k)) throw bad(`unknown tweak: ${k}`);
    const next: Record<string, unknown> = { ...this.current };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null || v === undefined) delete next[k];
      else next[k] = check(k, v);
    }
    this.current = next as Tweaks;
    return this.get();
  }

  reset(): void {
    this.current = {};
  }

  skewMs(): number {
    return this.current.clockSkewMs ?? 0;
  }
}

function check(key: string, v: unknown): unknown {
  if (key === "nullAbsoluteTimes") {
    if (typeof v !== "boolean") throw bad(`${key} must be a boolean`);
  } else if (key === "scopes") {
    if (!Array.isArray(v) || !v.every((s) => typeof s === "string"))
      throw bad(`${key} must be a list of strings`);
  } else if (typeof v !== "number" || !Number.isFinite(v)) throw bad(`${key} must be a number`);
  return v;
}

/** The sandbox's own clock as it prints it: timers run on the real clock, times read `skew` ahead. */
export function skewedClock(clock: Clock, tweaks: TweakControl): Clock {
  return {
    now: () => clock.now() + tweaks.skewMs(),
    setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
    clearTimeout: (h) => clock.clearTimeout(h),
  };
}
