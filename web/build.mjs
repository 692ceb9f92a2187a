// Bundles the console's script and styles (htmx, uPlot, our own) into dist/console-assets: no CDN at run time.
import { build } from "esbuild";

await build({
  entryPoints: { console: "web/console.ts" },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome111", "firefox115", "safari16"],
  outdir: "dist/console-assets",
  legalComments: "eof",
  logLevel: "warning",
});
