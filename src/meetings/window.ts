import { msFromTimestamp, naiveFromMs } from "../clock.js";

/**
 * A holding's transcript window, on the wholesaler's timeline (naive UTC as the wholesaler prints times).
 * `from: null`: the holding started the bot; `to: null`: still attached (or attached when the meeting ended).
 */
export interface Window {
  from: string | null;
  to: string | null;
}

/** Where relative segment times are measured from: the wholesaler's meeting start, on its own clock. */
export type Anchor = number | null;

interface Timed {
  start: number;
  absolute_start_time: string | null;
}

/** Our clock's instant on the wholesaler's timeline; offset = wholesaler time − our time. */
export function onWholesalerTimeline(ourMs: number, offsetMs: number): string {
  return naiveFromMs(ourMs + offsetMs);
}

/**
 * Only what this holding's own bot would have heard: segments that started inside its window. Times are the
 * wholesaler's own (absolute, else anchor + relative start), so no clock skew between us and it moves a cut.
 * A segment that cannot be placed at all is kept only by an unbounded window; when every segment is inside, the
 * shared array is returned as it is (no copy).
 */
export function inWindow<T extends Timed>(segments: T[], w: Window, anchor: Anchor): T[] {
  if (w.from === null && w.to === null) return segments;
  const from = w.from === null ? Number.NEGATIVE_INFINITY : msFromTimestamp(w.from);
  const to = w.to === null ? Number.POSITIVE_INFINITY : msFromTimestamp(w.to);
  const inside = (s: T) => {
    const t = segmentTime(s, anchor);
    return t !== null && t >= from && t <= to;
  };
  const kept = segments.filter(inside);
  return kept.length === segments.length ? segments : kept;
}

function segmentTime(s: Timed, anchor: Anchor): number | null {
  if (s.absolute_start_time) {
    const t = msFromTimestamp(s.absolute_start_time);
    if (Number.isFinite(t)) return t;
  }
  if (anchor === null || !Number.isFinite(s.start)) return null;
  return anchor + s.start * 1000;
}
