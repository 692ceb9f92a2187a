import { Redis } from "ioredis";
import pg from "pg";

export const PG_SERVER = process.env.TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/**
 * A test leg that needs an outside server: on a developer machine without it the leg is skipped with a loud
 * notice; where REQUIRE_PG / REQUIRE_REDIS is set (`.ci/run` sets both) its absence fails the run instead.
 */
async function probe(name: string, required: boolean, answers: () => Promise<void>): Promise<boolean> {
  try {
    await answers();
    return true;
  } catch (err) {
    const why = `${name} does not answer (${err instanceof Error ? err.message : String(err)})`;
    if (required) throw new Error(`${why}; this run requires it.`);
    console.warn(
      `\n*** NOTICE: ${why}: the tests that need it are SKIPPED. CI sets REQUIRE_* and fails. ***\n`,
    );
    return false;
  }
}

let pgAnswering: Promise<boolean> | undefined;
let redisAnswering: Promise<boolean> | undefined;

export function pgAnswers(): Promise<boolean> {
  pgAnswering ??= probe(`PostgreSQL at ${PG_SERVER}`, Boolean(process.env.REQUIRE_PG), async () => {
    const client = new pg.Client({ connectionString: PG_SERVER, connectionTimeoutMillis: 5000 });
    try {
      await client.connect();
      await client.query("SELECT 1");
    } finally {
      await client.end().catch(() => undefined);
    }
  });
  return pgAnswering;
}

export function redisAnswers(): Promise<boolean> {
  redisAnswering ??= probe(`Redis at ${REDIS_URL}`, Boolean(process.env.REQUIRE_REDIS), async () => {
    const r = new Redis(REDIS_URL, {
      lazyConnect: true,
      connectTimeout: 5000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    try {
      await r.connect();
      if ((await r.ping()) !== "PONG") throw new Error("PING did not answer PONG");
    } finally {
      r.disconnect();
    }
  });
  return redisAnswering;
}
