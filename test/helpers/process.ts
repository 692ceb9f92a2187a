import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");

/** A port nothing listens on right now (the OS picks it; a tiny race with other processes is acceptable in tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      const port = typeof address === "object" && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface RetailerProcess {
  proc: ChildProcess;
  /** Parsed JSON log lines so far (stdout). */
  logs: Record<string, any>[];
  stderr(): string;
  /** Resolves with the exit code (null if killed by a signal). */
  exited: Promise<number | null>;
  /** Polls GET url until it answers 200, or fails after timeoutMs with the process output. */
  waitReady(url: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL if still running after graceMs. */
  stop(graceMs?: number): Promise<number | null>;
}

/** Runs `node --import tsx src/main.ts` with exactly this environment (plus PATH/HOME), as production would. */
export function spawnRetailer(env: Record<string, string>, args: string[] = []): RetailerProcess {
  const proc = spawn(process.execPath, ["--import", "tsx", "src/main.ts", ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, any>[] = [];
  let buffered = "";
  let err = "";
  proc.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split("\n");
    buffered = parts.pop() ?? "";
    for (const line of parts.filter(Boolean)) {
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  proc.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  let done = false;
  void exited.then(() => {
    done = true;
  });
  const describe = () =>
    `exit=${done} stderr=${err.slice(-2000)} logs=${logs
      .slice(-10)
      .map((l) => JSON.stringify(l))
      .join("\n")}`;
  return {
    proc,
    logs,
    stderr: () => err,
    exited,
    async waitReady(url, timeoutMs = 90_000) {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        if (done) throw new Error(`process exited before ${url} answered: ${describe()}`);
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
          if (res.status === 200) return;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out waiting for ${url}: ${describe()}`);
    },
    async stop(graceMs = 15_000) {
      if (done) return exited;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
