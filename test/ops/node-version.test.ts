import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const pinned: string = pkg.devDependencies.node;

// npm scripts put node_modules/.bin first on PATH, so the pinned `node` package runs them whatever Node npm has.
describe("the suite runs on the pinned Node 24", () => {
  it("this test worker", () => {
    console.log(`test worker: Node ${process.version} (${process.execPath})`);
    expect(process.version).toBe(`v${pinned}`);
    expect(pinned.split(".")[0]).toBe(readFileSync(join(root, ".nvmrc"), "utf8").trim());
  });

  it("a child process started like the retailer's (tsx on process.execPath)", () => {
    const out = spawnSync(process.execPath, ["--import", "tsx", "-e", "console.log(process.version)"], {
      cwd: root,
      encoding: "utf8",
    });
    expect(out.stderr).toBe("");
    expect(out.stdout.trim()).toBe(`v${pinned}`);
  });

  it("the `node` that npm scripts find on PATH", () => {
    const out = spawnSync("node", ["--version"], { encoding: "utf8" });
    expect(out.stdout.trim()).toBe(`v${pinned}`);
  });
});
