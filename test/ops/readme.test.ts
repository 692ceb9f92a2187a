import { existsSync, readdirSync, readFileSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES } from "../../src/config.js";

const readme = readFileSync("README.md", "utf8");

describe("README stays true", () => {
  it("lists every configuration variable in its table, and no unknown one", () => {
    const rows = [...readme.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]);
    expect(rows.filter((v) => !CONFIG_VARIABLES.includes(v ?? ""))).toEqual([]);
    expect(CONFIG_VARIABLES.filter((v) => !rows.includes(v))).toEqual([]);
  });

  it("links only to files that exist inside the repository", () => {
    const links = [...readme.matchAll(/\]\(((?!https?:)[^)#]+)\)/g)].map((m) => m[1] ?? "");
    expect(links.filter((l) => !existsSync(l))).toEqual([]);
    const outside = (l: string) => relative(process.cwd(), resolve(l)).startsWith("..") || isAbsolute(l);
    expect(links.filter(outside)).toEqual([]);
    // Nor points a reader at a path outside it in prose.
    expect(readme.match(/`\.\.\/[^`]*`/g) ?? []).toEqual([]);
  });

  it("docs/ links and points only inside the repository too", () => {
    const outside: string[] = [];
    for (const name of readdirSync("docs").filter((f) => f.endsWith(".md"))) {
      const text = readFileSync(join("docs", name), "utf8");
      const links = [...text.matchAll(/\]\(((?!https?:)[^)#]+)\)/g)].map((m) => m[1] ?? "");
      const paths = [...text.matchAll(/`(\.\.?\/[^`\s]*)`/g)].map((m) => m[1] ?? "");
      for (const l of [...links, ...paths]) {
        const target = resolve("docs", l);
        if (relative(process.cwd(), target).startsWith("..") || !existsSync(target))
          outside.push(`${name}: ${l}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it("names the two commands: one to run, one to test", () => {
    expect(readme).toContain("export ADMIN_API_TOKEN=$(openssl rand -hex 32)");
    expect(readme).toContain("npm install && npm start");
    expect(readme).toContain("npm test");
  });
});
