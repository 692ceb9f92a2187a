import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// Built by `npm run build:console` (part of `npm run build`); the same path from src/console and dist/console.
export const ASSETS_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist", "console-assets");

const TYPES: Record<string, string> = {
  "console.js": "text/javascript; charset=utf-8",
  "console.css": "text/css; charset=utf-8",
  "charts.js": "text/javascript; charset=utf-8",
  "charts.css": "text/css; charset=utf-8",
};

export interface Asset {
  body: Buffer;
  gzip: Buffer;
  type: string;
  /** Content digest: part of the URL, so a new build is never served from an old cache. */
  version: string;
}

/** Loads the bundle once at start; a missing build leaves pages working, unstyled, with a notice. */
export function loadAssets(dir = ASSETS_DIR): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(TYPES)) {
    const file = join(dir, name);
    if (!existsSync(file)) continue;
    const body = readFileSync(file);
    assets.set(name, {
      body,
      gzip: gzipSync(body, { level: 9 }),
      type,
      version: createHash("sha256").update(body).digest("hex").slice(0, 12),
    });
  }
  return assets;
}
