import { createServer } from "node:http";
import { createDb } from "../src/db/client.js";

/**
 * The honest baseline for a finished transcript: node:http, one pool, the retailer's own segment query, and
 * JSON.stringify of the rows. No auth, no meeting lookup, no schema serializer. Measured through autocannon
 * exactly like the retailer. GET /segments/<meeting id>.
 *
 * Env: DATABASE_URL (PostgreSQL) or DATA_DIR (PGlite), DB_POOL_SIZE (default 10, like the retailer), PORT.
 */
const SQL = `SELECT start_time, end_time, text, language, created_at_text, speaker, absolute_start_time, absolute_end_time
               FROM transcriptions WHERE meeting_id = $1 ORDER BY seq, start_time, id`;

const url = process.env.DATABASE_URL;
const db = url
  ? await createDb({ kind: "pg", url, poolSize: Number(process.env.DB_POOL_SIZE ?? 10) })
  : await createDb({ kind: "pglite", dataDir: process.env.DATA_DIR ?? "memory://" });

const server = createServer((req, res) => {
  const m = /^\/segments\/(\d+)$/.exec(req.url ?? "");
  if (req.method !== "GET" || !m) {
    res.writeHead(404).end();
    return;
  }
  db.query(SQL, [Number(m[1])]).then(
    (r) => {
      const body = JSON.stringify(r.rows);
      res.writeHead(200, { "content-type": "application/json; charset=utf-8" }).end(body);
    },
    (err: unknown) => {
      res.writeHead(500).end(String(err));
    },
  );
});

server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const a = server.address();
  process.stdout.write(`baseline listening on ${typeof a === "object" && a ? a.port : "?"}\n`);
});

const stop = () => {
  server.close();
  server.closeAllConnections();
  db.close().finally(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
