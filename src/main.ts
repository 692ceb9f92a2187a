import { pino } from "pino";
import { ConfigError, loadConfig, SECRET_VARIABLES } from "./config.js";
import { createDeps } from "./deps.js";
import { buildApp } from "./http/app.js";

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(undefined, process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = pino({
    level: config.logLevel,
    redact: { paths: ["req.headers['x-api-key']", "req.headers['x-admin-api-key']", "req.headers.authorization", ...SECRET_VARIABLES], censor: "<redacted>" },
  });
  const deps = await createDeps(config, { logger });
  logger.info({ role: config.role, database: config.database.kind }, "retailer starting");
  const servers: Awaited<ReturnType<typeof buildApp>>[] = [];
  if (config.role === "all" || config.role === "api-gateway") {
    const app = await buildApp("gateway", deps, { logger });
    await app.listen({ port: config.gatewayPort, host: config.host });
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
      .then(() => logger.info({ url: `${config.publicUrl}/webhooks/meeting-finished` }, "registered webhook receiver with the wholesaler"))
      .catch((err) => logger.error({ err }, "could not register the webhook receiver with the wholesaler"));
  }
  if (config.role === "all" || config.role === "admin-api") {
    const app = await buildApp("admin", deps, { logger });
    await app.listen({ port: config.adminPort, host: config.host });
    servers.push(app);
  }
  const shutdown = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    const timer = setTimeout(() => process.exit(1), config.shutdownTimeoutMs);
    timer.unref();
    await Promise.allSettled(servers.map((s) => s.close()));
    await deps.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((err) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
