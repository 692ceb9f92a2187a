import { type Html, html, jsonScript } from "./html.js";

export function card(
  label: string,
  value: string | number,
  hint?: string,
  tone?: "ok" | "warn" | "bad",
): Html {
  return html`<div class="card${tone ? ` ${tone}` : ""}"><dt>${label}</dt><dd>${value}</dd>${
    hint ? html`<dd class="hint">${hint}</dd>` : ""
  }</div>`;
}

export interface Series {
  label: string;
  values: (number | null)[];
}

/**
 * A chart drawn in the browser (uPlot) from the JSON beside it; `summary` is what a screen reader hears and what
 * shows when scripts are off.
 */
export function chart(
  id: string,
  title: string,
  summary: string,
  data: {
    x: number[];
    series: Series[];
    kind?: "line" | "bars";
    labels?: string[];
    range?: [number, number];
  },
): Html {
  return html`<figure class="chart" aria-labelledby="${id}-title">
  <figcaption id="${id}-title">${title}</figcaption>
  <div class="plot" data-chart="${id}" role="img" aria-label="${summary}"></div>
  <p class="chart-summary">${summary}</p>
  ${jsonScript(id, data)}
</figure>`;
}

/** Previous/next links for a list shown `size` rows at a time. */
export function pager(
  base: string,
  params: Record<string, string>,
  skip: number,
  size: number,
  total: number,
) {
  const link = (to: number) => {
    const q = new URLSearchParams({ ...params, skip: String(to) });
    return `${base}?${q.toString()}`;
  };
  if (total <= size) return html``;
  const last = Math.min(skip + size, total);
  return html`<nav class="pager" aria-label="Pages">
  ${skip > 0 ? html`<a href="${link(Math.max(0, skip - size))}" rel="prev">Previous</a>` : ""}
  <span>${skip + 1}–${last} of ${total.toLocaleString("en-US")}</span>
  ${last < total ? html`<a href="${link(skip + size)}" rel="next">Next</a>` : ""}
</nav>`;
}

export function flash(message: string | undefined): Html {
  return message ? html`<p class="flash" role="status">${message}</p>` : html``;
}

export function csrfField(csrf: string): Html {
  return html`<input type="hidden" name="_csrf" value="${csrf}">`;
}
