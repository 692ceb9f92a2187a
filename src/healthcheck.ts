import { loadConfig } from "./config.js";

/**
 * The container HEALTHCHECK: GET /health on the port this process's role listens on. Exits 0 when it answers 200.
 * (`node dist/healthcheck.js`; no curl in the slim image.)
 */
const config = loadConfig(undefined, process.argv.slice(2));
const port =
  config.role === "bot-manager"
    ? config.botManagerPort
    : config.role === "admin-api"
      ? config.adminPort
      : config.gatewayPort;
try {
  const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2500) });
  process.exit(res.status === 200 ? 0 : 1);
} catch {
  process.exit(1);
}
