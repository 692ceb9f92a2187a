import { misheard, OTHER_LANGUAGES, SENTENCES, SPEAKER_NAMES } from "./corpus.js";
import { awareIso, type Micros, naiveIso } from "./format.js";
import { Rng } from "./rng.js";

/** A transcript segment exactly as GET /transcripts prints it (baseline §3.7, key order matters). */
export interface SegmentOut {
  start: number;
  end: number;
  text: string;
  language: string | null;
  created_at: string | null;
  speaker: string | null;
  absolute_start_time: string;
  absolute_end_time: string;
}

interface Speaker {
  name: string;
  language: string;
}

/** One planned utterance; what is visible of it depends on the clock. */
interface Slot {
  k: number;
  startUs: Micros;
  endUs: Micros;
  speaker: Speaker;
  words: string[];
  draft: string[] | null;
  revisionUs: number;
}

interface BulkBlock {
  fromUs: Micros;
  toUs: Micros;
  segments: { startUs: Micros; out: SegmentOut }[];
}

const IMMUTABLE_AFTER_US = 30_000_000; // Vexa's IMMUTABILITY_THRESHOLD
const FLUSH_TICK_US = 10_000_000; // the collector's background task interval
const PROGRESS_STEP_US = 500_000; // live segments grow in steps, like WhisperLive updates

/**
 * The transcript of one simulated meeting, computed lazily from the clock: nothing is generated
 * until someone reads, and segments already immutable are kept so reads stay cheap.
 */
export class Transcript {
  readonly speakers: Speaker[];
  endUs: Micros | null = null;
  private readonly bulk: BulkBlock[] = [];
  private readonly frozen: SegmentOut[] = [];
  private genCursor = 0;
  private bulkCursor = 0;
  private bulkCount = 0;

  constructor(
    private readonly key: string,
    readonly sessionStartUs: Micros,
    private readonly intervalUs: number,
  ) {
    const rng = new Rng(key, "speakers");
    const names = [...SPEAKER_NAMES];
    const n = 3 + rng.int(3);
    const foreign = rng.next() < 0.3 ? rng.pick(OTHER_LANGUAGES) : null;
    this.speakers = [];
    for (let i = 0; i < n; i++) {
      const name = names.splice(rng.int(names.length), 1)[0] ?? "Speaker";
      this.speakers.push({ name, language: foreign && i === n - 1 ? foreign : "en" });
    }
  }

  /** Every segment visible at `nowUs`, ordered by absolute start. */
  segments(nowUs: Micros): SegmentOut[] {
    const horizon = Math.min(nowUs, this.endUs ?? Number.POSITIVE_INFINITY);
    const tail: SegmentOut[] = [];
    let freezing = true;
    let g = this.genCursor;
    let b = this.bulkCursor;
    for (;;) {
      const slot = this.nextVisibleSlot(g, horizon);
      const bulk = this.bulkAt(b);
      if (!slot && !bulk) break;
      let out: SegmentOut;
      let immutable: boolean;
      if (slot && (!bulk || slot.startUs <= bulk.startUs)) {
        const r = this.render(slot, nowUs);
        out = r.out;
        immutable = r.immutable;
        g = slot.k + 1;
      } else if (bulk) {
        out = bulk.out;
        immutable = true;
        b++;
      } else break;
      if (freezing && immutable) {
        this.frozen.push(out);
        this.genCursor = g;
        this.bulkCursor = b;
      } else {
        freezing = false;
        tail.push(out);
      }
    }
    return tail.length === 0 ? this.frozen.slice() : this.frozen.concat(tail);
  }

  /** Appends `count` immutable segments after the newest content, packed to end by now where they fit. */
  addBulk(count: number, nowUs: Micros): void {
    if (count <= 0) return;
    const horizon = Math.min(nowUs, this.endUs ?? Number.POSITIVE_INFINITY);
    const cursor = this.contentEnd(horizon);
    const spacing = Math.max(1, Math.min(this.intervalUs, Math.floor((horizon - cursor) / count)));
    const dur = Math.max(1, Math.floor(spacing * 0.85));
    const rng = new Rng(this.key, "bulk", this.bulk.length);
    const createdAt = naiveIso(nowUs + 1 + rng.int(999));
    const segments: BulkBlock["segments"] = [];
    for (let i = 0; i < count; i++) {
      const startUs = cursor + i * spacing + (spacing - dur);
      const speaker = this.speakers[rng.int(this.speakers.length)] ?? this.speakers[0];
      if (!speaker) break;
      const text = rng.pick(SENTENCES[speaker.language] ?? SENTENCES.en ?? []);
      const out = this.segmentOut(startUs, startUs + dur, text, speaker, createdAt);
      segments.push({ startUs, out });
    }
    this.bulk.push({ fromUs: cursor, toUs: cursor + count * spacing, segments });
    this.bulkCount += count;
  }

  private bulkAt(flatIndex: number): { startUs: Micros; out: SegmentOut } | undefined {
    if (flatIndex >= this.bulkCount) return undefined;
    let i = flatIndex;
    for (const block of this.bulk) {
      if (i < block.segments.length) return block.segments[i];
      i -= block.segments.length;
    }
    return undefined;
  }

  /** End of the newest visible content: where appended segments may start without overlapping. */
  private contentEnd(horizon: Micros): Micros {
    let cursor = Math.max(this.sessionStartUs, this.bulk.at(-1)?.toUs ?? 0);
    for (let k = Math.floor((horizon - this.sessionStartUs) / this.intervalUs) + 1; k >= 0; k--) {
      const slot = this.plan(k);
      if (slot.startUs < cursor) break;
      if (this.firstVisible(slot) <= horizon && !this.suppressed(slot)) {
        cursor = Math.max(cursor, Math.min(slot.endUs, this.endUs ?? slot.endUs));
        break;
      }
    }
    return cursor;
  }

  private nextVisibleSlot(from: number, horizon: Micros): Slot | null {
    for (let k = from; ; k++) {
      const slot = this.plan(k);
      if (this.firstVisible(slot) > horizon) return null;
      if (!this.suppressed(slot)) return slot;
    }
  }

  private firstVisible(slot: Slot): Micros {
    return slot.startUs + Math.min(1_000_000, slot.endUs - slot.startUs);
  }

  private suppressed(slot: Slot): boolean {
    return this.bulk.some((b) => slot.startUs < b.toUs && slot.endUs > b.fromUs);
  }

  private plan(k: number): Slot {
    const rng = new Rng(this.key, "slot", k);
    const i = this.intervalUs / 1000;
    const startMs = Math.round(k * i + rng.range(0, 0.15) * i);
    const endMs = Math.round((k + 1) * i - rng.range(0.05, 0.3) * i);
    const turn = new Rng(this.key, "turn", Math.floor(k / 2));
    const speaker = this.speakers[turn.int(this.speakers.length)] ?? { name: "Speaker", language: "en" };
    const pool = SENTENCES[speaker.language] ?? SENTENCES.en ?? [];
    const sentences = i >= 8000 ? [rng.pick(pool), rng.pick(pool)] : [rng.pick(pool)];
    const words = sentences.join(" ").split(" ");
    return {
      k,
      startUs: this.sessionStartUs + startMs * 1000,
      endUs: this.sessionStartUs + endMs * 1000,
      speaker,
      words,
      draft: rng.next() < 0.45 ? misheard(words, rng) : null,
      revisionUs: Math.round(rng.range(1.5, 6) * 1_000_000),
    };
  }

  /** What a slot looks like at `nowUs`: growing while spoken, then a draft, then final; frozen 30 s after its last change. */
  private render(slot: Slot, nowUs: Micros): { out: SegmentOut; immutable: boolean } {
    const end = this.endUs ?? Number.POSITIVE_INFINITY;
    const truncated = end < slot.endUs;
    const effEnd = truncated ? end : slot.endUs;
    const revised = slot.draft !== null && slot.endUs + slot.revisionUs <= end;
    const lastUpdate = revised ? slot.endUs + slot.revisionUs : effEnd;
    let text: string[];
    let shownEnd = effEnd;
    if (nowUs < effEnd || truncated) {
      const until = Math.min(nowUs, effEnd);
      const steps = Math.floor((until - slot.startUs) / PROGRESS_STEP_US);
      shownEnd =
        nowUs < effEnd
          ? Math.max(slot.startUs + PROGRESS_STEP_US, slot.startUs + steps * PROGRESS_STEP_US)
          : effEnd;
      const fraction = Math.min(1, (shownEnd - slot.startUs) / (slot.endUs - slot.startUs));
      // While spoken, the text is a prefix of the first-pass guess; the revision comes once the utterance ends.
      const guess = slot.draft ?? slot.words;
      text = guess.slice(0, Math.max(1, Math.ceil(guess.length * fraction)));
    } else if (revised && slot.draft && nowUs < slot.endUs + slot.revisionUs) {
      text = slot.draft;
    } else {
      text = slot.draft && !revised ? slot.draft : slot.words;
    }
    const firstTick = Math.ceil((lastUpdate + IMMUTABLE_AFTER_US - this.sessionStartUs) / FLUSH_TICK_US);
    const flushAt = this.sessionStartUs + firstTick * FLUSH_TICK_US + 1 + ((slot.k * 7919) % 40_000);
    const immutable = nowUs >= flushAt;
    const createdAt = immutable ? naiveIso(flushAt) : null;
    return {
      out: this.segmentOut(slot.startUs, shownEnd, text.join(" "), slot.speaker, createdAt),
      immutable,
    };
  }

  private segmentOut(
    startUs: Micros,
    endUs: Micros,
    text: string,
    speaker: Speaker,
    createdAt: string | null,
  ): SegmentOut {
    return {
      start: (startUs - this.sessionStartUs) / 1e6,
      end: (endUs - this.sessionStartUs) / 1e6,
      text,
      language: speaker.language,
      created_at: createdAt,
      speaker: speaker.name,
      absolute_start_time: awareIso(startUs),
      absolute_end_time: awareIso(endUs),
    };
  }
}
