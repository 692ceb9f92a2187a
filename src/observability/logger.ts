import { createRequire } from "node:module";
import { type DestinationStream, type Logger, pino } from "pino";
import type PinoPretty from "pino-pretty";
import { SECRET_VARIABLES } from "../config.js";

const CENSOR = "<redacted>";

/** Every path a secret could appear under in our log objects: headers, config objects and env-named fields. */
export const REDACT_PATHS = [
  "req.headers['x-api-key']",
  "req.headers['x-admin-api-key']",
  "req.headers.authorization",
  "req.headers.cookie",
  "res.headers['set-cookie']",
  "headers['x-api-key']",
  "headers['x-admin-api-key']",
  "headers.authorization",
  "apiKey",
  "*.apiKey",
  "adminApiToken",
  "*.adminApiToken",
  "webhookSecrets",
  "*.webhookSecrets",
  "token",
  "*.token",
  "webhook_secret",
  "*.webhook_secret",
  "password",
  "*.password",
  ...SECRET_VARIABLES,
  ...SECRET_VARIABLES.map((v) => `*.${v}`),
];

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
    redact: { paths: REDACT_PATHS, censor: CENSOR },
  };
  const out = format === "pretty" ? prettyStream(destination) : destination;
  return out ? pino(options, out) : pino(options);
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
