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
  absolute_start_time: string | null;
  absolute_end_time: string | null;
}

/** A segment with what the current-Vexa view also needs: its identity, whether it is done, whether it was flushed. */
export interface SegmentRecord {
  out: SegmentOut;
  id: string;
  startUs: Micros;
  endUs: Micros;
  /** The utterance is over and its text will not be revised (current Vexa's `completed`). */
  completed: boolean;
  /** Flushed to the database (30 s after its last change): baseline `created_at` is set from here on. */
  immutable: boolean;
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
  segments: SegmentRecord[];
}

export interface BulkOptions {
  /** Start the block this long after the meeting's end (or after now while it is live): segments past end_time. */
  pastEndMs?: number;
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
  private readonly frozen: SegmentRecord[] = [];
  private readonly frozenOut: SegmentOut[] = [];
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

  /** Every segment visible at `nowUs`, ordered by absolute start, as the baseline prints them. */
  segments(nowUs: Micros): SegmentOut[] {
    const tail = this.scan(nowUs);
    return tail.length === 0 ? this.frozenOut.slice() : this.frozenOut.concat(tail.map((r) => r.out));
  }

  /** The same segments with their identity and state. */
  records(nowUs: Micros): SegmentRecord[] {
    const tail = this.scan(nowUs);
    return tail.length === 0 ? this.frozen.slice() : this.frozen.concat(tail);
  }

  /** Freezes what became immutable (cached from then on) and returns the rest. */
  private scan(nowUs: Micros): SegmentRecord[] {
    const horizon = Math.min(nowUs, this.endUs ?? Number.POSITIVE_INFINITY);
    const tail: SegmentRecord[] = [];
    let freezing = true;
    let g = this.genCursor;
    let b = this.bulkCursor;
    // The next visible slot is looked up again only once consumed: bulk blocks can hide many of them.
    let slot = this.nextVisibleSlot(g, horizon);
    for (;;) {
      const bulk = this.bulkAt(b);
      if (!slot && !bulk) break;
      let rec: SegmentRecord;
      if (slot && (!bulk || slot.startUs <= bulk.startUs)) {
        rec = this.render(slot, nowUs);
        g = slot.k + 1;
        slot = this.nextVisibleSlot(g, horizon);
      } else if (bulk) {
        rec = bulk;
        b++;
      } else break;
      // Segments past the horizon stay out of the cache: content spoken before them may still appear.
      if (freezing && rec.immutable && rec.startUs <= horizon) {
        this.frozen.push(rec);
        this.frozenOut.push(rec.out);
        this.genCursor = g;
        this.bulkCursor = b;
      } else {
        freezing = false;
        tail.push(rec);
      }
    }
    return tail;
  }

  /**
   * Appends `count` immutable segments, spoken before now (and before the meeting's end): after the newest
   * content where they fit, else over the most recent stretch (hiding live segments there). With
   * `pastEndMs` they start that long after the end (or now) instead, as lagging or synthetic audio does.
   */
  addBulk(count: number, nowUs: Micros, opts: BulkOptions = {}): void {
    if (count <= 0) return;
    const horizon = Math.min(nowUs, this.endUs ?? Number.POSITIVE_INFINITY);
    const floor = Math.max(this.sessionStartUs, this.bulk.at(-1)?.toUs ?? 0);
    let cursor: Micros;
    let spacing: number;
    if (opts.pastEndMs !== undefined) {
      cursor = Math.max(this.contentEnd(horizon), horizon) + Math.round(opts.pastEndMs * 1000);
      spacing = this.intervalUs;
    } else {
      cursor = this.contentEnd(horizon);
      if (horizon - cursor < count) cursor = Math.max(floor, horizon - count * this.intervalUs);
      if (horizon - cursor < count)
        throw new RangeError(`no room for ${count} segments before ${naiveIso(horizon)}`);
      spacing = Math.min(this.intervalUs, Math.floor((horizon - cursor) / count));
    }
    const dur = Math.max(1, Math.floor(spacing * 0.85));
    const rng = new Rng(this.key, "bulk", this.bulk.length);
    const createdAt = naiveIso(nowUs + 1 + rng.int(999));
    const segments: SegmentRecord[] = [];
    for (let i = 0; i < count; i++) {
      const startUs = cursor + i * spacing + (spacing - dur);
      const speaker = this.speakers[rng.int(this.speakers.length)] ?? this.speakers[0];
      if (!speaker) break;
      const text = rng.pick(SENTENCES[speaker.language] ?? SENTENCES.en ?? []);
      segments.push({
        out: this.segmentOut(startUs, startUs + dur, text, speaker, createdAt),
        id: `${this.key}:bulk:${this.bulkCount + i}`,
        startUs,
        endUs: startUs + dur,
        completed: true,
        immutable: true,
      });
    }
    this.bulk.push({ fromUs: cursor, toUs: cursor + count * spacing, segments });
    this.bulkCount += segments.length;
  }

  private bulkAt(flatIndex: number): SegmentRecord | undefined {
    if (flatIndex >= this.bulkCount) return undefined;
    let i = flatIndex;
    for (const block of this.bulk) {
      if (i < block.segments.length) return block.segments[i];
      i -= block.segments.length;
    }
    return undefined;
  }

  /** End of the newest finished content: where appended segments may start without overlapping it. */
  private contentEnd(horizon: Micros): Micros {
    let cursor = Math.max(this.sessionStartUs, this.bulk.at(-1)?.toUs ?? 0);
    for (let k = Math.floor((horizon - this.sessionStartUs) / this.intervalUs) + 1; k >= 0; k--) {
      const slot = this.plan(k);
      if (slot.startUs < cursor) break;
      if (this.firstVisible(slot) <= horizon && !this.suppressed(slot)) {
        const end = Math.min(slot.endUs, this.endUs ?? slot.endUs);
        // An utterance still being spoken is replaced by what is appended, never followed by it.
        cursor = Math.max(cursor, end <= horizon ? end : slot.startUs);
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
  private render(slot: Slot, nowUs: Micros): SegmentRecord {
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
    const tickAt = this.sessionStartUs + firstTick * FLUSH_TICK_US + 1 + ((slot.k * 7919) % 40_000);
    // When the meeting ends everything still unflushed is written at once (in the millisecond its end falls in,
    // which the clock already shows), so a final transcript is all stamped.
    const flushAt = this.endUs === null ? tickAt : Math.min(tickAt, Math.floor(this.endUs / 1000) * 1000);
    const immutable = nowUs >= flushAt;
    const createdAt = immutable ? naiveIso(flushAt) : null;
    return {
      out: this.segmentOut(slot.startUs, shownEnd, text.join(" "), slot.speaker, createdAt),
      id: `${this.key}:${slot.k}`,
      startUs: slot.startUs,
      endUs: shownEnd,
      completed: nowUs >= lastUpdate,
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
