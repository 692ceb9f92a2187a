/**
 * The wholesaler's clock offset (its time − ours), estimated from bounds: each observation says the offset
 * lies in [lo, hi]. A `Date` header (1 s resolution) stamped while our request was in flight gives
 * [date − received, date + 1000 − sent]; a meeting `created_at` stamped inside a POST /bots gives
 * [created − received, created − sent], as tight as the round trip. The estimate is the middle of the
 * intersection of recent bounds, so Date headers falling at different sub-second phases narrow it well
 * below a second. Bounds that no longer intersect mean the wholesaler's clock moved: start again from
 * the newest one.
 */

export type OffsetSource = "date" | "created_at";

export interface ClockOffset {
  /** Best estimate of wholesaler time − our time, in ms; 0 before any observation. */
  offsetMs: number;
  /** Half the width of the interval the offset is known to lie in (Infinity before any observation). */
  uncertaintyMs: number;
  /** Observations in the current estimate. */
  samples: number;
  /** The kind of the tightest observation in the current estimate. */
  source: OffsetSource | null;
}

interface Bound {
  lo: number;
  hi: number;
  at: number;
  source: OffsetSource;
}

export interface OffsetEstimatorOptions {
  /** Bounds older than this are forgotten, so a slowly drifting clock is followed (default 10 min). */
  maxAgeMs?: number;
  /** At most this many bounds are kept (default 32). */
  maxSamples?: number;
}

export class ClockOffsetEstimator {
  private bounds: Bound[] = [];
  private readonly maxAgeMs: number;
  private readonly maxSamples: number;

  constructor(o: OffsetEstimatorOptions = {}) {
    this.maxAgeMs = o.maxAgeMs ?? 600_000;
    this.maxSamples = o.maxSamples ?? 32;
  }

  /** A response's `Date` header, our send time and our receive time (ms, our clock). */
  observeDate(dateHeader: string | undefined, sentMs: number, receivedMs: number): void {
    if (!dateHeader) return;
    const date = Date.parse(dateHeader);
    if (Number.isNaN(date)) return;
    this.add({ lo: date - receivedMs, hi: date + 1000 - sentMs, at: receivedMs, source: "date" });
  }

  /** A timestamp the wholesaler wrote while handling our request (e.g. a new meeting's `created_at`). */
  observeStamp(stamp: string | null | undefined, sentMs: number, receivedMs: number): void {
    const at = parseUpstreamTime(stamp);
    if (at === undefined) return;
    this.add({ lo: at - receivedMs, hi: at - sentMs, at: receivedMs, source: "created_at" });
  }

  estimate(): ClockOffset {
    const b = this.bounds;
    if (b.length === 0)
      return { offsetMs: 0, uncertaintyMs: Number.POSITIVE_INFINITY, samples: 0, source: null };
    const { lo, hi } = intersect(b);
    const tightest = b.reduce((x, y) => (y.hi - y.lo < x.hi - x.lo ? y : x));
    return {
      offsetMs: Math.round((lo + hi) / 2),
      uncertaintyMs: Math.round((hi - lo) / 2),
      samples: b.length,
      source: tightest.source,
    };
  }

  private add(bound: Bound): void {
    if (!(bound.hi >= bound.lo)) return; // a clock that went backwards during the call says nothing
    const kept = this.bounds.filter((x) => bound.at - x.at <= this.maxAgeMs).slice(-(this.maxSamples - 1));
    kept.push(bound);
    const { lo, hi } = intersect(kept);
    this.bounds = lo <= hi ? kept : [bound];
  }
}

function intersect(bounds: Bound[]): { lo: number; hi: number } {
  let lo = Number.NEGATIVE_INFINITY;
  let hi = Number.POSITIVE_INFINITY;
  for (const x of bounds) {
    lo = Math.max(lo, x.lo);
    hi = Math.min(hi, x.hi);
  }
  return { lo, hi };
}

/** Vexa's timestamps: naive UTC in the baseline ("2025-06-08T17:11:32.049728"), `Z` or `+00:00` in current Vexa. */
export function parseUpstreamTime(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const zoned = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(value);
  const ms = Date.parse(zoned ? value : `${value}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}
