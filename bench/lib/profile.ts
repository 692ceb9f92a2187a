import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Self time by function (name + file:line), most first. */
  functions: { name: string; where: string; ms: number; share: number }[];
  /** Self time by area: a package under node_modules, a src/ file, node internals, GC, idle. */
  areas: { area: string; ms: number; share: number }[];
}

function area(url: string, name: string): string {
  if (name === "(garbage collector)") return "(garbage collector)";
  if (name === "(idle)") return "(idle)";
  if (name === "(program)") return "(program)";
  if (!url) return "(native)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm?.[1]) return nm[1];
  if (url.startsWith("node:")) return "node internals";
  const src = /\/dist\/(.+)\.js$/.exec(url) ?? /\/src\/(.+)\.ts$/.exec(url);
  if (src?.[1]) return `src/${src[1]}`;
  return url;
}

/** Self-time totals of a V8 .cpuprofile (node --cpu-prof), by function and by package/file. */
export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  if (p.samples && p.timeDeltas) {
    for (let i = 0; i < p.samples.length; i++) {
      const id = p.samples[i] ?? 0;
      self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
    }
  }
  const totalMs = (p.endTime - p.startTime) / 1000;
  const fn = new Map<string, { name: string; where: string; ms: number }>();
  const areas = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const name = functionName || "(anonymous)";
    const where = url
      ? `${url.replace(/^file:\/\/.*?\/(node_modules|dist|src)\//, "$1/")}:${lineNumber + 1}`
      : "";
    const key = `${name}@${where}`;
    const e = fn.get(key) ?? { name, where, ms: 0 };
    e.ms += t;
    fn.set(key, e);
    const a = area(url, name);
    areas.set(a, (areas.get(a) ?? 0) + t);
  }
  const busy = [...areas.entries()].filter(([a]) => a !== "(idle)").reduce((s, [, v]) => s + v, 0) || 1;
  return {
    file,
    totalMs,
    functions: [...fn.values()]
      .filter((f) => f.name !== "(idle)")
      .sort((x, y) => y.ms - x.ms)
      .slice(0, top)
      .map((f) => ({ ...f, share: f.ms / busy })),
    areas: [...areas.entries()]
      .filter(([a]) => a !== "(idle)")
      .sort((x, y) => y[1] - x[1])
      .slice(0, top)
      .map(([a, ms]) => ({ area: a, ms, share: ms / busy })),
  };
}

export function profilesIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(".cpuprofile"))
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

export function formatSummary(title: string, s: ProfileSummary): string {
  const pc = (v: number) => `${(v * 100).toFixed(1)}%`;
  return [
    `#### ${title}`,
    "",
    "| area (self time, idle excluded) | ms | share |",
    "|---|---|---|",
    ...s.areas.map((a) => `| ${a.area} | ${a.ms.toFixed(0)} | ${pc(a.share)} |`),
    "",
    "| function | where | ms | share |",
    "|---|---|---|---|",
    ...s.functions.map((f) => `| ${f.name} | ${f.where} | ${f.ms.toFixed(0)} | ${pc(f.share)} |`),
  ].join("\n");
}
