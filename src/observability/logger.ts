import { createRequire } from "node:module";
import { type DestinationStream, destination as pinoDestination, type Logger, pino } from "pino";
import type PinoPretty from "pino-pretty";
import { SECRET_VARIABLES } from "../config.js";

const CENSOR = "<redacted>";

/** Keys whose values are secrets, at the top level of a log object or one level down (`*.apiKey`). */
const SECRET_KEYS = new Set([
  "apiKey",
  "adminApiToken",
  "webhookSecrets",
  "token",
  "webhook_secret",
  "password",
  ...SECRET_VARIABLES,
]);
/** Header names censored in `headers`, `req.headers` and `res.headers`. */
const SECRET_HEADERS = new Set(["x-api-key", "x-admin-api-key", "authorization", "cookie", "set-cookie"]);

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** `o` with the keys in `names` censored: `o` itself when it has none (copied on the first censored key). */
function censorKeys(o: Obj, names: ReadonlySet<string>, nested: (k: string, v: Obj) => Obj): Obj {
  let out = o;
  for (const k in o) {
    const v = o[k];
    const to = names.has(k) ? CENSOR : isObject(v) ? nested(k, v) : v;
    if (to === v) continue;
    if (out === o) out = { ...o };
    out[k] = to;
  }
  return out;
}

const keep = (_k: string, v: Obj) => v;
const censorHeaders = (v: Obj) => censorKeys(v, SECRET_HEADERS, keep);
const secondLevel = (k: string, v: Obj): Obj => {
  if (k === "headers") return censorHeaders(v);
  return censorKeys(v, SECRET_KEYS, (k2, v2) =>
    k2 === "headers" && (k === "req" || k === "res") ? censorHeaders(v2) : v2,
  );
};

/**
 * Secrets censored by key (what pino's `redact` paths did: `apiKey`, `*.apiKey`, `req.headers['x-api-key']`, …),
 * without its cost: pino's redaction parsed every path and cloned the object on every line, a third of what a
 * request allocated (heap sampling of the cache-off live read). A line without secrets (the request line) is
 * walked once and written as it is.
 */
export function censorSecrets(o: Obj): Obj {
  return censorKeys(o, SECRET_KEYS, secondLevel);
}

export type LogFormat = "json" | "pretty";

/**
 * JSON lines on stdout (pino): Fastify's child loggers add `reqId` (also sent back as `x-request-id`) to every
 * line logged while serving a request; secrets are censored by path (before either format is written).
 * `pretty` is for people at a terminal: one coloured line per entry with its fields below (pino-pretty).
 */
export function createLogger(
  level: string,
  destination?: DestinationStream,
  format: LogFormat = "json",
): Logger {
  const options = {
    level,
    base: { service: "vexa-retailer", pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Log objects only: child bindings (pino skips formatters for them) are Fastify's `reqId`, never a secret.
    formatters: { log: censorSecrets },
  };
  const out = format === "pretty" ? prettyStream(destination) : (destination ?? stdoutInBatches());
  return pino(options, out);
}

/**
 * stdout (or `fd`), written 4 KB at a time or every 250 ms, whichever comes first: one write per request line
 * cost the cache-off live read a thread-pool round trip each (~5% of the retailer's CPU in its profile). Each
 * batch is written synchronously, as Node writes stdout to pipes and files: with asynchronous writes, lines
 * arriving faster than one write at a time completed piled up in memory (13 MB of unwritten log text in a heap
 * snapshot of 500 closed-loop readers). Only a SIGKILL loses lines: up to 4 KB or 250 ms of them.
 */
export function stdoutInBatches(fd = 1): DestinationStream {
  const dest = pinoDestination({ dest: fd, minLength: 4096, periodicFlush: 250, sync: true });
  // pino writes out what is buffered at exit only for asynchronous destinations: without this, a batch's last
  // lines ("shut down cleanly", a crash's error) would go with the process.
  const flush = () => {
    try {
      dest.flushSync();
    } catch {
      // Closed already: nothing buffered.
    }
  };
  process.once("exit", flush);
  dest.once("close", () => process.off("exit", flush));
  return dest;
}

function prettyStream(destination?: DestinationStream): DestinationStream {
  // Loaded only in pretty mode: a production process writing JSON never pays for it.
  const pretty = createRequire(import.meta.url)("pino-pretty") as typeof PinoPretty;
  return pretty({
    ...(destination ? { destination } : {}),
    colorize: destination ? false : Boolean(process.stdout.isTTY),
    translateTime: "SYS:HH:MM:ss.l",
    ignore: "pid,hostname,service",
    sync: true,
  });
}
