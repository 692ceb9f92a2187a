import type { Segment } from "../meetings/transcript-store.js";

/**
 * Finished transcripts never change (only a delete removes them, and every read first checks in the database
 * that the caller still holds the meeting), so the most recently read ones are kept in memory, up to a total
 * number of segments that bounds the memory they take.
 */
export interface FinalTranscriptCache {
  get(meetingId: number): Segment[] | undefined;
  set(meetingId: number, segments: Segment[]): void;
}

export function createFinalTranscriptCache(maxSegments = 40_000): FinalTranscriptCache {
  const entries = new Map<number, Segment[]>();
  let total = 0;
  return {
    get(meetingId) {
      const hit = entries.get(meetingId);
      if (hit) {
        // Re-insert: Map order is our recency order.
        entries.delete(meetingId);
        entries.set(meetingId, hit);
      }
      return hit;
    },
    set(meetingId, segments) {
      if (segments.length > maxSegments || entries.has(meetingId)) return;
      while (total + segments.length > maxSegments) {
        const [oldest, segs] = entries.entries().next().value as [number, Segment[]];
        entries.delete(oldest);
        total -= segs.length;
      }
      entries.set(meetingId, segments);
      total += segments.length;
    },
  };
}
