// Bundles the console's scripts and styles (htmx, uPlot, our own) into dist/console-assets: no CDN at run time.
import { build } from "esbuild";

await build({
  entryPoints: { console: "web/console.ts", charts: "web/charts.ts" },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome111", "firefox115", "safari16"],
  outdir: "dist/console-assets",
  legalComments: "eof",
  logLevel: "warning",
});
