import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "..", "..");

/** A scratch directory for the compiled retailer, child logs and (PGlite mode) the database; removed at the end. */
export function makeWorkDir(): string {
  return mkdtempSync(join(tmpdir(), "vexa-bench-"));
}

/**
 * Compiles src/ with the project's own tsc (tsconfig.build.json), so the retailer and the sandbox run as
 * `npm start` runs them (plain `node dist/...`), without tsx's loader thread in their memory or CPU. The output
 * and tsc's incremental state live in node_modules/.cache/vexa-bench (a second run recompiles only what changed:
 * the build is most of a quick run's set-up otherwise); node_modules resolves from there by walking up, and
 * package.json ("type": "module") and migrations/ are placed beside it.
 */
export function buildProduct(): { dist: string; warnings: string } {
  const cache = join(ROOT, "node_modules", ".cache", "vexa-bench");
  const dist = join(cache, "dist");
  const info = join(cache, "tsbuildinfo");
  mkdirSync(cache, { recursive: true });
  // tsc trusts its state file: without the output it describes, start over.
  if (!existsSync(join(dist, "main.js"))) rmSync(info, { force: true });
  const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  const res = spawnSync(
    process.execPath,
    [tsc, "-p", join(ROOT, "tsconfig.build.json"), "--outDir", dist, "--tsBuildInfoFile", info],
    { cwd: ROOT, encoding: "utf8" },
  );
  if (!existsSync(join(dist, "main.js")) || !existsSync(join(dist, "sandbox", "cli.js"))) {
    throw new Error(`tsc produced no build:\n${res.stdout}\n${res.stderr}`);
  }
  if (!existsSync(join(cache, "migrations")))
    symlinkSync(join(ROOT, "migrations"), join(cache, "migrations"), "dir");
  writeFileSync(join(cache, "package.json"), JSON.stringify({ type: "module" }));
  // tsc emits despite type errors (someone else's work in progress): say so, the run still measures the code.
  return { dist, warnings: res.status === 0 ? "" : `${res.stdout}${res.stderr}`.trim() };
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  logFile: string;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
  exited: boolean;
}

const running = new Set<Child>();

/** Starts a node child process with its stdout/stderr in a log file (never a pipe the load generator must drain). */
export function startChild(name: string, args: string[], env: Record<string, string>, logDir: string): Child {
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${name}.log`);
  const fd = openSync(logFile, "a");
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", fd, fd],
  });
  if (proc.pid === undefined) throw new Error(`could not start ${name}`);
  const exitedP = new Promise<void>((r) => proc.once("exit", () => r()));
  const child: Child = {
    name,
    proc,
    pid: proc.pid,
    logFile,
    exited: false,
    async stop(graceMs = 15_000) {
      if (child.exited) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      await exitedP;
      clearTimeout(timer);
    },
  };
  proc.once("exit", () => {
    child.exited = true;
    running.delete(child);
  });
  running.add(child);
  return child;
}

/** Stops every child this run started (by its own pid), e.g. on an error or Ctrl-C. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((c) => c.stop(5000)));
}

export function tailLog(child: Child, lines = 30): string {
  try {
    return readFileSync(child.logFile, "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** Polls until check() is true; throws with the child's log tail if it exits or time runs out. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs?: number; child?: Child; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    if (opts.child?.exited)
      throw new Error(`${opts.child.name} exited while waiting for ${what}:\n${tailLog(opts.child)}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${opts.child ? `:\n${tailLog(opts.child)}` : ""}`);
    }
    await sleep(opts.intervalMs ?? 100);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resident set size of a process in bytes, from /proc (Linux) or ps. */
export function rssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    if (m?.[1]) return Number(m[1]) * 1024;
  } catch {
    // not Linux: fall through
  }
  const ps = spawnSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8" });
  const kb = Number(ps.stdout.trim());
  return Number.isFinite(kb) && kb > 0 ? kb * 1024 : undefined;
}

/** Samples a process's RSS every intervalMs until stopped; reports the peak and the last sample. */
export function sampleRss(pid: number, intervalMs = 100) {
  let peak = 0;
  let last = 0;
  let samples = 0;
  const take = () => {
    const v = rssBytes(pid);
    if (v !== undefined) {
      peak = Math.max(peak, v);
      last = v;
      samples++;
    }
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { peakBytes: peak, lastBytes: last, samples };
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** CPU ticks (USER_HZ) used so far: the whole machine, this harness and its children, and PostgreSQL backends. */
interface CpuSnapshot {
  at: number;
  machineBusy: number;
  ours: number;
  /** Ticks per PostgreSQL backend, by pid (backends come and go: only deltas of the same pid are summed). */
  postgresByPid: Map<number, number>;
  /** Ticks per process of ours: "harness" (this process: the load generator) and each child by name. */
  byName: Map<string, number>;
}

function procTicks(pid: number | string): { ticks: number; comm: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const fields = stat.slice(close + 2).split(" ");
    // fields[0] is state (field 3); utime and stime are fields 14 and 15.
    return { ticks: Number(fields[11]) + Number(fields[12]), comm };
  } catch {
    return undefined;
  }
}

function cpuSnapshot(): CpuSnapshot | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    const machineBusy =
      (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
    const ourPids = new Map<number, string>([
      [process.pid, "harness"],
      ...[...running].map((c) => [c.pid, c.name] as [number, string]),
    ]);
    let ours = 0;
    const postgresByPid = new Map<number, number>();
    const byName = new Map<string, number>();
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const t = procTicks(entry);
      if (!t) continue;
      const name = ourPids.get(Number(entry));
      if (name) {
        ours += t.ticks;
        byName.set(name, t.ticks);
      } else if (t.comm === "postgres") postgresByPid.set(Number(entry), t.ticks);
    }
    return { at: performance.now(), machineBusy, ours, postgresByPid, byName };
  } catch {
    return undefined; // not Linux
  }
}

/** Shares of the whole machine (all cores) used during a window: by us, by PostgreSQL, and by everything else. */
export interface CpuShares {
  ours: number;
  postgres: number;
  other: number;
  /** CPU seconds used during the window by each of our processes, and by all PostgreSQL backends. */
  seconds: Record<string, number>;
}

export function cpuWindow(): { stop(): CpuShares | undefined } {
  const a = cpuSnapshot();
  return {
    stop() {
      const b = cpuSnapshot();
      if (!a || !b) return undefined;
      const hz = 100;
      const capacity = ((b.at - a.at) / 1000) * hz * cpus().length;
      if (capacity <= 0) return undefined;
      const ours = (b.ours - a.ours) / capacity;
      let pgTicks = 0;
      for (const [pid, ticks] of b.postgresByPid) pgTicks += ticks - (a.postgresByPid.get(pid) ?? 0);
      const postgres = pgTicks / capacity;
      const busy = (b.machineBusy - a.machineBusy) / capacity;
      const seconds: Record<string, number> = {};
      for (const [name, ticks] of b.byName) {
        const before = a.byName.get(name);
        if (before !== undefined) seconds[name] = (ticks - before) / hz;
      }
      seconds.postgres = pgTicks / hz;
      return { ours, postgres, other: Math.max(0, busy - ours - postgres), seconds };
    },
  };
}
