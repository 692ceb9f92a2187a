import type { Config } from "./config.js";
import { AppError } from "./errors.js";

/** A start-up step that failed for a reason the operator fixes in configuration; main prints it as one line. */
export class StartFailure extends Error {}

const reason = (err: unknown): string => {
  const cause = err instanceof AppError && err.opts.cause ? err.opts.cause : err;
  const e = cause as { code?: unknown; message?: unknown; errors?: unknown[] };
  if (cause instanceof AggregateError && e.errors?.[0]) return reason(e.errors[0]);
  return [
    typeof e?.code === "string" ? e.code : "",
    typeof e?.message === "string" ? e.message : String(cause),
  ]
    .filter(Boolean)
    .join(": ");
};

/** Where the database is, without credentials. */
function databaseWhere(config: Config): string {
  if (config.database.kind === "pglite") return config.database.dataDir;
  try {
    const u = new URL(config.database.url);
    return `${u.hostname}:${u.port || "5432"}${u.pathname}`;
  } catch {
    return "(unparseable URL)";
  }
}

/** Opening and migrating the database failed: name the variable that points at it. */
export function databaseStartFailure(config: Config, err: unknown): StartFailure {
  const what =
    config.database.kind === "pg" ? "cannot use the database at" : "cannot open the embedded database in";
  return new StartFailure(
    `${what} ${databaseWhere(config)} (check ${config.database.variable}): ${reason(err)}`,
  );
}

/** A listener could not bind: the port is taken, privileged, or the address is not this machine's. */
export function listenStartFailure(err: unknown, port: number, portVariable: string): StartFailure {
  const code = (err as { code?: unknown })?.code;
  const what =
    code === "EADDRINUSE"
      ? `port ${port} is already in use (set ${portVariable} to a free port)`
      : code === "EACCES"
        ? `not allowed to listen on port ${port} (set ${portVariable} above 1023)`
        : code === "EADDRNOTAVAIL" || code === "ENOTFOUND"
          ? `cannot listen on this address (check HOST)`
          : `cannot listen on port ${port} (${portVariable})`;
  return new StartFailure(`${what}: ${reason(err)}`);
}
