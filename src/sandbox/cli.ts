import { parseArgs } from "node:util";
import { createSandbox } from "./index.js";

/** `npm run sandbox -- --port 8066`: the simulated upstream Vexa as its own server, for tests, benchmarks and curl. */

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8066" },
    host: { type: "string", default: "127.0.0.1" },
    "api-key": { type: "string" },
    "webhook-url": { type: "string" },
    "webhook-secret": { type: "string" },
    "webhook-format": { type: "string" },
    "stop-delay-ms": { type: "string" },
    "segment-interval-ms": { type: "string" },
    "max-meeting-ms": { type: "string" },
    "max-concurrent-bots": { type: "string" },
    "post-start-status": { type: "string" },
    seed: { type: "string" },
    vexa: { type: "string" },
    "clock-skew-ms": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});

if (values.help) {
  process.stdout.write(
    "usage: npm run sandbox -- [--vexa baseline|current] [--port 8066] [--host 127.0.0.1] [--api-key KEY] [--webhook-url URL]\n" +
      "  [--webhook-secret S] [--webhook-format flat|envelope] [--stop-delay-ms 1500] [--segment-interval-ms 4000]\n" +
      "  [--max-meeting-ms 10800000] [--max-concurrent-bots 100] [--post-start-status active|requested] [--seed 1]\n" +
      "  [--clock-skew-ms 0]\n",
  );
  process.exit(0);
}

function num(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`--${name} must be a non-negative number, got ${raw}\n`);
    process.exit(2);
  }
  return n;
}

function oneOf<T extends string>(
  name: string,
  raw: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) {
    process.stderr.write(`--${name} must be one of ${allowed.join(", ")}, got ${raw}\n`);
    process.exit(2);
  }
  return raw as T;
}

const apiKey = values["api-key"] ?? process.env.SANDBOX_API_KEY ?? "sandbox-key";
const line = (level: string) => (o: object, msg?: string) =>
  process.stdout.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...o })}\n`);

const optional = {
  webhookUrl: values["webhook-url"],
  webhookSecret: values["webhook-secret"],
  webhookFormat: oneOf("webhook-format", values["webhook-format"], ["flat", "envelope"] as const),
  stopDelayMs: num("stop-delay-ms", values["stop-delay-ms"]),
  segmentIntervalMs: num("segment-interval-ms", values["segment-interval-ms"]),
  maxMeetingMs: num("max-meeting-ms", values["max-meeting-ms"]),
  maxConcurrentBots: num("max-concurrent-bots", values["max-concurrent-bots"]),
  postStartStatus: oneOf("post-start-status", values["post-start-status"], ["active", "requested"] as const),
  seed: num("seed", values.seed),
  flavor: oneOf("vexa", values.vexa, ["baseline", "current"] as const),
};
const skew = values["clock-skew-ms"] === undefined ? undefined : Number(values["clock-skew-ms"]);
if (skew !== undefined && !Number.isFinite(skew)) {
  process.stderr.write(`--clock-skew-ms must be a number, got ${values["clock-skew-ms"]}\n`);
  process.exit(2);
}
const sandbox = createSandbox({
  apiKey,
  logger: { info: line("info"), warn: line("warn") },
  ...(skew === undefined ? {} : { tweaks: { clockSkewMs: skew } }),
  ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
});

const url = await sandbox.listen(num("port", values.port), values.host);
process.stdout.write(
  `Vexa sandbox wholesaler (${sandbox.flavor} Vexa) listening on ${url}\nX-API-Key: ${apiKey}\n`,
);

const shutdown = () => {
  sandbox.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
