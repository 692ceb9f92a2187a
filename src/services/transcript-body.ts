import type { Segment } from "../meetings/transcript-store.js";
import { type Anchor, inWindow, type Window } from "../meetings/window.js";

/**
 * Serialisations shared by every reader of one transcript. A live transcript (or a finished one from the final
 * cache) is one shared segments array; everything derived from it — a holding's windowed cut, the response
 * bytes for a given head — is computed once and kept beside it (weakly: it goes when the array goes), so a
 * hot read copies nothing and serialises nothing.
 */

// A few distinct windows and heads per transcript are normal (users who joined late, per-user start times);
// beyond this many of each kind, results are computed per request rather than held. Each kind has its own
// bound: 50 readers whose windows all cover the transcript share one array, which then also carries their 50
// heads (one shared bound made the 65th entry onwards recompute their window and bytes on every request).
const PER_TRANSCRIPT = 64;

const derived = new WeakMap<
  Segment[],
  { windows: Map<string, Segment[]>; heads: Map<string, Buffer>; json?: Buffer }
>();

function memoOf(segments: Segment[]) {
  let m = derived.get(segments);
  if (!m) {
    m = { windows: new Map(), heads: new Map() };
    derived.set(segments, m);
  }
  return m;
}

function kept<V>(m: Map<string, V>, key: string, make: () => V): V {
  const hit = m.get(key);
  if (hit !== undefined) return hit;
  const v = make();
  if (m.size < PER_TRANSCRIPT) m.set(key, v);
  return v;
}

/** This holding's cut of a shared transcript (the shared array itself when its window covers everything). */
export function windowed(segments: Segment[], w: Window, anchor: Anchor): Segment[] {
  if (w.from === null && w.to === null) return segments;
  return kept(memoOf(segments).windows, `${w.from}\u0000${w.to}\u0000${anchor}`, () =>
    inWindow(segments, w, anchor),
  );
}

/** Response bytes: one buffer, or for a large transcript its parts (the reader's own head, the shared rest). */
export type TranscriptBody = Buffer | readonly Buffer[];

/** The TranscriptionResponse bytes: `head`'s keys in Vexa's order, then the (shared) segments. */
export function transcriptBytes(head: Record<string, unknown>, segments: Segment[]): TranscriptBody {
  const headJson = JSON.stringify(head);
  const m = memoOf(segments);
  // Encoded once: a response is then these bytes behind a head, never a new UTF-8 encoding of the transcript.
  m.json ??= Buffer.from(JSON.stringify(segments));
  const json = m.json;
  const open = () => Buffer.from(`${headJson.slice(0, -1)},"segments":`);
  // A large transcript keeps one serialisation, not one copy per distinct head (up to PER_TRANSCRIPT of them),
  // and is sent behind each reader's head as it is: no per-request copy either.
  if (json.length > MAX_MEMO_BYTES) return [open(), json, CLOSE];
  return kept(m.heads, headJson, () => Buffer.concat([open(), json, CLOSE]));
}

const CLOSE = Buffer.from("}");
const MAX_MEMO_BYTES = 256 * 1024;
