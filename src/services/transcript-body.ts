import type { Segment } from "../meetings/transcript-store.js";
import { type Anchor, inWindow, type Window } from "../meetings/window.js";

/**
 * Serialisations shared by every reader of one transcript. A live transcript (or a finished one from the final
 * cache) is one shared segments array; everything derived from it — a holding's windowed cut, the response
 * bytes for a given head — is computed once and kept beside it (weakly: it goes when the array goes), so a
 * hot read copies nothing and serialises nothing.
 */

// A few distinct windows or heads per transcript are normal (users who joined late, per-user start times);
// beyond this many, results are computed per request rather than held.
const PER_TRANSCRIPT = 64;

const derived = new WeakMap<Segment[], Map<string, unknown>>();

function memo<V>(segments: Segment[], key: string, make: () => V): V {
  let m = derived.get(segments);
  if (!m) {
    m = new Map();
    derived.set(segments, m);
  }
  const hit = m.get(key) as V | undefined;
  if (hit !== undefined) return hit;
  const v = make();
  if (m.size < PER_TRANSCRIPT) m.set(key, v);
  return v;
}

/** This holding's cut of a shared transcript (the shared array itself when its window covers everything). */
export function windowed(segments: Segment[], w: Window, anchor: Anchor): Segment[] {
  if (w.from === null && w.to === null) return segments;
  return memo(segments, `w\u0000${w.from}\u0000${w.to}\u0000${anchor}`, () => inWindow(segments, w, anchor));
}

/** The TranscriptionResponse bytes: `head`'s keys in Vexa's order, then the (shared) segments. */
export function transcriptBytes(head: Record<string, unknown>, segments: Segment[]): Buffer {
  const headJson = JSON.stringify(head);
  const json = memo(segments, "json", () => JSON.stringify(segments));
  const build = () => Buffer.from(`${headJson.slice(0, -1)},"segments":${json}}`);
  // A large transcript keeps one serialisation, not one copy per distinct head (up to PER_TRANSCRIPT of them).
  return json.length > MAX_MEMO_BYTES ? build() : memo(segments, `b\u0000${headJson}`, build);
}

const MAX_MEMO_BYTES = 256 * 1024;
