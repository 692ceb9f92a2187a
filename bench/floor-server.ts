import { readFileSync } from "node:fs";
import { createServer } from "node:http";

/**
 * The floor: what this machine allows for an answer of this size. A bare node:http server returning the same
 * bytes (read once from BODY_FILE) to every request, with STATUS (200, or 201 for POST /bots); a request body
 * is read and dropped. No routing, no auth, no database, no serialisation.
 *
 * Env: BODY_FILE, STATUS (default 200), PORT.
 */
const body = readFileSync(process.env.BODY_FILE ?? "");
const status = Number(process.env.STATUS ?? 200);
const headers = { "content-type": "application/json; charset=utf-8", "content-length": String(body.length) };

const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => res.writeHead(status, headers).end(body));
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const a = server.address();
  process.stdout.write(`floor listening on ${typeof a === "object" && a ? a.port : "?"}\n`);
});

const stop = () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
