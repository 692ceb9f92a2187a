/** ERROR: a target row whose runs had failed requests (figures from 2xx only, verdict withheld). */
export type Verdict = "PASS" | "MISS" | "info" | "ERROR";

/** One line of the result table: a measured figure, its baseline in the same run, and the §6 target if any. */
export interface Row {
  scenario: string;
  metric: string;
  retailer: string;
  baseline: string;
  ratio: string;
  target: string;
  result: Verdict;
  note?: string;
}

export const ms = (v: number) => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms` : "n/a");
export const rps = (v: number) =>
  Number.isFinite(v) ? `${v >= 100 ? Math.round(v) : v.toFixed(1)} req/s` : "n/a";
export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
export const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(0)}%` : "n/a");
export const verdict = (ok: boolean): Verdict => (ok ? "PASS" : "MISS");

const COLUMNS: [keyof Row, string][] = [
  ["scenario", "Scenario"],
  ["metric", "Metric"],
  ["retailer", "Retailer"],
  ["baseline", "Baseline"],
  ["ratio", "Ratio / delta"],
  ["target", "Target"],
  ["result", "Result"],
];

export function textTable(rows: Row[]): string {
  const cells = rows.map((r) => COLUMNS.map(([k]) => String(r[k] ?? "")));
  const widths = COLUMNS.map(([, h], i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i] ?? 0)).join(" | ");
  const out = [line(COLUMNS.map(([, h]) => h)), widths.map((w) => "-".repeat(w)).join("-+-")];
  let prev = "";
  for (const c of cells) {
    const shown = [...c];
    if (shown[0] === prev) shown[0] = "";
    else prev = shown[0] ?? "";
    out.push(line(shown));
  }
  return out.join("\n");
}

export function markdownTable(rows: Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const out = [`| ${COLUMNS.map(([, h]) => h).join(" | ")} |`, `|${COLUMNS.map(() => "---").join("|")}|`];
  for (const r of rows) {
    out.push(
      `| ${COLUMNS.map(([k]) => {
        const v = esc(String(r[k] ?? ""));
        return k === "result" && (v === "PASS" || v === "MISS" || v === "ERROR") ? `**${v}**` : v;
      }).join(" | ")} |`,
    );
  }
  return out.join("\n");
}
