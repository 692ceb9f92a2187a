import type { ValidationItem } from "../errors.js";

/** Deepest nesting of arrays and objects a JSON body may have; Vexa's own objects are two or three deep. */
export const MAX_JSON_DEPTH = 32;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Parses a request body as JSON, or says why not as a pydantic item. The bytes must be UTF-8 and the nesting at
 * most MAX_JSON_DEPTH, both checked before JSON.parse: a megabyte of brackets costs JSON.parse a second of CPU and
 * breaks every recursive consumer after it (serialisers, PostgreSQL's jsonb input).
 */
export function parseJsonBody(body: Buffer): { value: unknown } | { error: ValidationItem } {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    const pos = firstInvalidUtf8(body);
    return {
      error: { loc: ["body", pos], msg: "body is not valid UTF-8", type: "value_error.unicodedecode" },
    };
  }
  const deep = tooDeepAt(text, MAX_JSON_DEPTH);
  if (deep >= 0) {
    return {
      error: {
        loc: ["body", deep],
        msg: `JSON nested deeper than ${MAX_JSON_DEPTH} levels`,
        type: "value_error.jsondepth",
        ctx: { limit_value: MAX_JSON_DEPTH },
      },
    };
  }
  try {
    return { value: JSON.parse(text) };
  } catch (err) {
    const pos = Number(/position (\d+)/.exec(String(err))?.[1] ?? 0);
    return {
      error: {
        loc: ["body", pos],
        msg: "Expecting value",
        type: "value_error.jsondecode",
        ctx: { msg: "Expecting value", pos },
      },
    };
  }
}

/** Offset of the first bracket past `max` levels outside string literals, or -1; one pass, no allocation. */
export function tooDeepAt(text: string, max: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return i;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return -1;
}

function firstInvalidUtf8(body: Buffer): number {
  // Bisect on the decoder itself rather than re-implement UTF-8: the first prefix that fails ends at the bad byte.
  let lo = 0;
  let hi = body.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(body.subarray(0, mid + 1), { stream: true });
      lo = mid + 1;
    } catch {
      hi = mid;
    }
  }
  // Report where the broken sequence starts (its lead byte), as Python's decoder does.
  for (let i = lo - 1; i >= Math.max(0, lo - 3); i--) {
    const kind = (body[i] ?? 0) >> 6;
    if (kind === 3) return i;
    if (kind !== 2) break;
  }
  return lo;
}

// With the `u` flag a proper surrogate pair is one code point, so \p{Cs} matches only a lone surrogate.
const LONE_SURROGATE = /\p{Cs}/u;
const isBadText = (s: string) => s.includes("\u0000") || LONE_SURROGATE.test(s);

/**
 * The first value in a request's path parameters, query string or body (object keys included) that PostgreSQL or
 * the wholesaler would not receive as given: a NUL character (text and jsonb cannot hold one), a lone UTF-16
 * surrogate (it would be stored as U+FFFD but sent upstream as the escape) or a non-finite number (AJV coerces
 * "Infinity" and 1e400 to Infinity and then skips the range checks). Iterative, so no nesting overflows the stack.
 */
export function badInput(request: {
  params?: unknown;
  query?: unknown;
  body?: unknown;
}): ValidationItem | null {
  interface Node {
    value: unknown;
    key: string | number;
    parent: Node | null;
  }
  const locOf = (n: Node | null, last?: string): (string | number)[] => {
    const out: (string | number)[] = last === undefined ? [] : [last];
    for (let x = n; x; x = x.parent) out.unshift(x.key);
    return out;
  };
  const stack: Node[] = [
    { value: request.body, key: "body", parent: null },
    { value: request.query, key: "query", parent: null },
    { value: request.params, key: "path", parent: null },
  ];
  while (stack.length > 0) {
    const node = stack.pop() as Node;
    const { value } = node;
    if (typeof value === "string") {
      if (isBadText(value)) return textItem(locOf(node), value);
    } else if (typeof value === "number") {
      if (!Number.isFinite(value)) return numberItem(locOf(node));
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], key: i, parent: node });
    } else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) {
        if (isBadText(k)) return textItem(locOf(node, k), k);
        stack.push({ value: v, key: k, parent: node });
      }
    }
  }
  return null;
}

function textItem(loc: (string | number)[], value: string): ValidationItem {
  return value.includes("\u0000")
    ? { loc, msg: "NUL characters are not allowed", type: "value_error.str.nul" }
    : { loc, msg: "string is not valid Unicode (lone UTF-16 surrogate)", type: "value_error.str.unicode" };
}

function numberItem(loc: (string | number)[]): ValidationItem {
  // Path and query numbers were text coerced for an integer field: pydantic's int() refusal reads the same.
  return loc[0] === "body"
    ? { loc, msg: "ensure this value is a finite number", type: "value_error.number.not_finite" }
    : { loc, msg: "value is not a valid integer", type: "type_error.integer" };
}
