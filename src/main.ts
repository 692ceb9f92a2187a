import { type Config, ConfigError, loadConfig } from "./config.js";
import { createDb, type Db } from "./db/client.js";
import { createDeps, type Deps } from "./deps.js";
import { AppError } from "./errors.js";
import { buildApp } from "./http/app.js";
import { buildOpsApp } from "./http/ops-app.js";
import { createLogger } from "./observability/logger.js";
import { databaseStartFailure, listenStartFailure, StartFailure } from "./start-failure.js";

type Logger = ReturnType<typeof createLogger>;
interface Server {
  close(): Promise<unknown>;
}
interface Listener extends Server {
  listen(o: { port: number; host: string }): Promise<string>;
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(undefined, process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, undefined, config.logFormat);
  logger.info(
    {
      role: config.role,
      node: process.version,
      database: config.database.kind,
      redis: Boolean(config.redisUrl),
    },
    "retailer starting",
  );
  const deps = await startDeps(config, logger);
  const servers: Server[] = [];
  installShutdown(config, deps, servers, logger);
  const { role } = config;
  if (role === "all" || role === "api-gateway") {
    const app = await buildApp("gateway", deps, { logger });
    await listen(app, config.gatewayPort, config.host, "API_GATEWAY_PORT");
    servers.push(app);
    if (deps.sandbox) {
      const address = app.server.address();
      const port = typeof address === "object" && address ? address.port : config.gatewayPort;
      await deps.registerReceiver(`http://127.0.0.1:${port}`);
    }
  }
  if (config.publicUrl) {
    await deps
      .registerReceiver(config.publicUrl)
      .then(() =>
        logger.info(
          { url: `${config.publicUrl}/webhooks/meeting-finished` },
          "registered webhook receiver with the wholesaler",
        ),
      )
      .catch((err) => logger.error({ err }, "could not register the webhook receiver with the wholesaler"));
  }
  if (role === "all" || role === "admin-api") {
    const app = await buildApp("admin", deps, { logger });
    await listen(app, config.adminPort, config.host, "ADMIN_API_PORT");
    servers.push(app);
  }
  if (role === "bot-manager") {
    // No API here: background jobs only, plus probes and metrics for the orchestrator.
    const app = await buildOpsApp({ ops: deps.ops, metrics: deps.metrics }, { logger });
    await listen(app, config.botManagerPort, config.host, "BOT_MANAGER_PORT");
    servers.push(app);
  }
  logger.info({ role }, "retailer ready");
}

/** Opens and migrates the database; any trouble reaching or writing it is reported against its variable. */
async function startDeps(config: Config, logger: Logger): Promise<Deps> {
  let db: Db | undefined;
  try {
    db = await createDb(config.database);
    await db.query("SELECT 1");
    return await createDeps(config, { logger, db });
  } catch (err) {
    if (!db || (err instanceof AppError && err.code === "DATABASE_UNAVAILABLE"))
      throw databaseStartFailure(config, err);
    throw err;
  }
}

async function listen(app: Listener, port: number, host: string, portVariable: string): Promise<void> {
  try {
    await app.listen({ port, host });
  } catch (err) {
    throw listenStartFailure(err, port, portVariable);
  }
}

/**
 * SIGTERM/SIGINT: /ready turns 503, listeners stop accepting, in-flight requests finish, running jobs get the rest
 * of the budget, pools close; past SHUTDOWN_TIMEOUT_MS the process exits 1 regardless. A second signal exits at once.
 */
function installShutdown(config: Config, deps: Deps, servers: Server[], logger: Logger): void {
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    closing = true;
    const started = Date.now();
    logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, "shutting down");
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, "shutdown timed out; exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    deps.beginShutdown();
    await Promise.allSettled(servers.map((s) => s.close()));
    // Jobs get what is left of the budget, less a margin for closing pools.
    const left = config.shutdownTimeoutMs - (Date.now() - started);
    await deps.close({ timeoutMs: Math.max(100, left - Math.min(1000, left / 4)) });
    logger.info({ ms: Date.now() - started }, "shut down cleanly");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((err) => {
  // A configuration problem is one line naming what to fix; anything else is a bug, so its stack helps.
  const text =
    err instanceof StartFailure
      ? err.message
      : err instanceof Error
        ? (err.stack ?? err.message)
        : String(err);
  process.stderr.write(`fatal: ${text}\n`);
  process.exit(1);
});
