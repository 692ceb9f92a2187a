import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * No two folders of src/ import each other, even through others (biome.json's per-folder noRestrictedImports
 * says which way each may point; this catches a loop no single rule names). Type-only imports count: a cycle of
 * types is still two folders that cannot be read or moved apart. A file directly in src/ is a node of its own.
 */

const SRC = join(import.meta.dirname, "..", "..", "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [path] : [];
  });
}

/** src/http/routes/bots.ts → "http"; src/config.ts → "config.ts". */
function nodeOf(root: string, file: string): string {
  const [first = "", ...rest] = relative(root, file).split("/");
  return rest.length > 0 ? first : first.replace(/\.js$/, ".ts");
}

/** Folder → folder edges, each with one import that makes it. */
function folderEdges(root: string): Map<string, Map<string, string>> {
  const edges = new Map<string, Map<string, string>>();
  for (const file of sourceFiles(root)) {
    const from = nodeOf(root, file);
    for (const imported of ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles) {
      if (!imported.fileName.startsWith(".")) continue;
      const target = resolve(dirname(file), imported.fileName);
      if (relative(root, target).startsWith("..")) continue;
      const to = nodeOf(root, target);
      if (to === from) continue;
      const out = edges.get(from) ?? new Map<string, string>();
      if (!out.has(to)) out.set(to, `${relative(root, file)} imports ${imported.fileName}`);
      edges.set(from, out);
    }
  }
  return edges;
}

/** The strongly connected groups of more than one folder (Tarjan), each with the imports that close it. */
function folderCycles(root: string): string[][] {
  const edges = folderEdges(root);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v) ?? 0);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    let w: string | undefined;
    do {
      w = stack.pop();
      if (w !== undefined) {
        onStack.delete(w);
        group.push(w);
      }
    } while (w !== v && w !== undefined);
    if (group.length > 1) groups.push(group);
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return groups.map((g) =>
    g.flatMap((a) =>
      g.flatMap((b) => (edges.get(a)?.get(b) ? [`${a} → ${b}: ${edges.get(a)?.get(b)}`] : [])),
    ),
  );
}

describe("source layers", () => {
  it("no folder of src/ imports, directly or through others, a folder that imports it", () => {
    expect(folderCycles(SRC)).toEqual([]);
  });

  it("the check finds a cycle through a third folder, type-only imports included", () => {
    const root = mkdtempSync(join(tmpdir(), "layers-"));
    try {
      const write = (path: string, text: string) => {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), text);
      };
      write("a/x.ts", 'import { y } from "../b/y.js";\nexport const x = y;\n');
      write("b/y.ts", 'import type { Z } from "../c/deep/z.js";\nexport const y: Z = 1;\n');
      write("c/deep/z.ts", 'export type Z = number;\nexport { x } from "../../a/x.js";\n');
      write("d.ts", 'import { x } from "./a/x.js";\nexport const d = x;\n');
      const cycles = folderCycles(root);
      expect(cycles).toHaveLength(1);
      expect(cycles[0]?.map((e) => e.split(":")[0]).sort()).toEqual(["a → b", "b → c", "c → a"]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
