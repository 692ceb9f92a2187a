/**
 * Splits a SQL script on top-level semicolons, honouring '…' (and E'…') strings, "…" identifiers, $tag$…$tag$
 * bodies and comments. Returns trimmed statements; ones holding only comments/whitespace are dropped.
 */
export function splitSql(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  let hasCode = false;
  let i = 0;
  const n = text.length;
  const push = (end: number) => {
    if (hasCode) out.push(text.slice(start, end).trim());
    hasCode = false;
  };
  while (i < n) {
    const c = text[i] as string;
    const next = text[i + 1];
    if (c === "-" && next === "-") {
      const e = text.indexOf("\n", i);
      i = e < 0 ? n : e + 1;
      continue;
    }
    if (c === "/" && next === "*") {
      const e = text.indexOf("*/", i + 2);
      i = e < 0 ? n : e + 2;
      continue;
    }
    if (c === ";") {
      push(i);
      start = i + 1;
      i++;
      continue;
    }
    if (!/\s/.test(c)) hasCode = true;
    if (c === "'" || c === '"') {
      const backslashEscapes =
        c === "'" && /[eE]/.test(text[i - 1] ?? "") && !/[\w$]/.test(text[i - 2] ?? "");
      i++;
      while (i < n) {
        const d = text[i];
        if (backslashEscapes && d === "\\") {
          i += 2;
          continue;
        }
        if (d === c) {
          if (text[i + 1] === c) {
            i += 2;
            continue;
          }
          break;
        }
        i++;
      }
      i++;
      continue;
    }
    if (c === "$" && !/[\w$]/.test(text[i - 1] ?? "")) {
      const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i, i + 66))?.[0];
      if (tag) {
        const e = text.indexOf(tag, i + tag.length);
        i = e < 0 ? n : e + tag.length;
        continue;
      }
    }
    i++;
  }
  push(n);
  return out;
}
