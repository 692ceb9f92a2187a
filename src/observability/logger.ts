import { type DestinationStream, type Logger, pino } from "pino";
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

/**
 * JSON lines on stdout (pino): Fastify's child loggers add `reqId` (also sent back as `x-request-id`) to every
 * line logged while serving a request; secrets are censored by path.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: "vexa-retailer", pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: CENSOR },
  };
  return destination ? pino(options, destination) : pino(options);
}
