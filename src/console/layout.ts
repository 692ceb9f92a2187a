import type { Asset } from "./assets.js";
import { type Html, html } from "./html.js";

export const PAGES = [
  ["overview", "Overview"],
  ["customers", "Customers"],
  ["meetings", "Meetings"],
  ["usage", "Usage"],
  ["deliveries", "Deliveries"],
  ["wholesaler", "Wholesaler"],
] as const;

export type PageId = (typeof PAGES)[number][0];

export interface Shell {
  assets: Map<string, Asset>;
  /** Present once signed in: the CSRF token every change must carry. */
  csrf?: string;
}

const tag = (assets: Map<string, Asset>, name: string): Html => {
  const a = assets.get(name);
  if (!a) return html``;
  return name.endsWith(".css")
    ? html`<link rel="stylesheet" href="/console/assets/${name}?v=${a.version}">`
    : html`<script defer src="/console/assets/${name}?v=${a.version}"></script>`;
};

/** The page's styles and scripts; uPlot only where there are charts. */
function assetTags(assets: Map<string, Asset>, charts: boolean): Html {
  if (!assets.has("console.css") || !assets.has("console.js"))
    return html`<p class="notice" role="alert">Console assets are not built: run <code>npm run build</code>.</p>`;
  const names = charts
    ? ["console.css", "charts.css", "console.js", "charts.js"]
    : ["console.css", "console.js"];
  return html`${names.map((n) => tag(assets, n))}`;
}

/** The page shell: skip link, navigation (current page marked for screen readers), sign-out, main content. */
export function page(
  shell: Shell,
  opts: { title: string; current?: PageId; charts?: boolean },
  body: Html,
): Html {
  const nav = shell.csrf
    ? html`<nav aria-label="Console"><ul>${PAGES.map(
        ([id, label]) =>
          html`<li><a href="/console/${id === "overview" ? "" : id}"${
            id === opts.current ? html` aria-current="page"` : ""
          }>${label}</a></li>`,
      )}</ul>
  <form method="post" action="/console/sign-out" class="sign-out">
    <input type="hidden" name="_csrf" value="${shell.csrf}">
    <button type="submit">Sign out</button>
  </form></nav>`
    : "";
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"historyCacheSize":0}'>
<title>${opts.title} · Vexa Retailer console</title>
${assetTags(shell.assets, opts.charts ?? false)}
</head>
<body${shell.csrf ? html` data-csrf="${shell.csrf}"` : ""}>
<a class="skip" href="#main">Skip to content</a>
<header><span class="brand">Vexa Retailer</span>${nav}</header>
<main id="main" tabindex="-1">
<h1>${opts.title}</h1>
${body}
</main>
</body>
</html>`;
}
