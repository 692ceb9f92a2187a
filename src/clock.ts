/** Time source injected everywhere time matters, so tests can run an hour-long meeting in milliseconds. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** A clock that moves only when told to; due timers fire in order during advance(). */
export class ManualClock implements Clock {
  private current: number;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private nextId = 1;

  constructor(start = Date.parse("2026-01-01T10:00:00Z")) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.current + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let dueId: number | undefined;
      let dueAt = Number.POSITIVE_INFINITY;
      for (const [id, t] of this.timers) {
        if (t.at <= target && t.at < dueAt) {
          dueAt = t.at;
          dueId = id;
        }
      }
      if (dueId === undefined) break;
      const timer = this.timers.get(dueId);
      this.timers.delete(dueId);
      this.current = dueAt;
      timer?.fn();
    }
    this.current = target;
  }
}

export function naiveFromMs(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000`;
}

/** Parses a naive-UTC or offset ISO timestamp to epoch ms (naive means UTC, as in Vexa). */
export function msFromTimestamp(ts: string): number {
  const s = ts.replace(" ", "T");
  const hasZone = /([zZ]|[+-]\d{2}:?\d{2})$/.test(s);
  // JS Date keeps milliseconds only; microseconds matter for ordering, so add them back as a fraction.
  const micro = /\.(\d{4,6})/.exec(s)?.[1];
  const base = Date.parse(hasZone ? s : `${s}Z`);
  return micro ? base + Number(`0.${micro.slice(3).padEnd(3, "0")}`) : base;
}
