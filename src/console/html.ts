/** Markup that is already safe: produced by `html` or a trusted constant. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Part = Html | string | number | boolean | null | undefined | Part[];

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function render(p: Part): string {
  if (p instanceof Html) return p.value;
  if (Array.isArray(p)) return p.map(render).join("");
  if (p === null || p === undefined || p === false) return "";
  return escapeHtml(String(p));
}

/** Template tag that escapes every interpolated value unless it is itself `Html`: nothing reaches a page raw. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0] ?? "";
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? "");
  return new Html(out);
}

/** JSON for a `<script type="application/json">` block: `<` is escaped so no value can close the element. */
export function jsonScript(id: string, value: unknown): Html {
  const json = JSON.stringify(value).replace(/</g, "\\u003c");
  return new Html(`<script type="application/json" id="${escapeHtml(id)}">${json}</script>`);
}

export const fmt = {
  int: (n: number) => n.toLocaleString("en-US"),
  minutes: (n: number) => n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
  /** Vexa's naive UTC timestamps, shortened for tables. */
  time: (ts: string | null | undefined) => (ts ? `${ts.replace("T", " ").slice(0, 19)} UTC` : "—"),
};
