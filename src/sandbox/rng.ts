import { createHash } from "node:crypto";

/** Hex digest of the parts; the sandbox derives every id and every word from it so runs repeat exactly. */
export function digest(...parts: (string | number)[]): string {
  return createHash("sha256").update(parts.join("\u0000")).digest("hex");
}

export function hexId(length: number, ...parts: (string | number)[]): string {
  let out = "";
  for (let i = 0; out.length < length; i++) out += digest(i, ...parts);
  return out.slice(0, length);
}

export function uuidFrom(...parts: (string | number)[]): string {
  const h = digest("uuid", ...parts);
  const variant = ((Number.parseInt(h.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A small seeded PRNG (mulberry32) for ordered streams of choices. */
export class Rng {
  private state: number;

  constructor(...parts: (string | number)[]) {
    this.state = Number.parseInt(digest("rng", ...parts).slice(0, 8), 16) >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  range(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  }
}
