/**
 * Child process for the crash test in src/jobs/queue.test.ts: opens the database, works one queue with a
 * handler that never returns, prints `STARTED <job id>` and waits to be SIGKILLed.
 * Usage: node --import tsx test/jobs/crash-worker.ts '{"target":{...DbTarget},"schema":"…","queue":"…"}'
 */
import { createDb, type DbTarget } from "../../src/db/client.js";
import { createJobQueue } from "../../src/jobs/queue.js";

const cfg = JSON.parse(process.argv[2] ?? "{}") as { target: DbTarget; schema: string; queue: string };
const db = await createDb(cfg.target);
const queue = createJobQueue(db, { schema: cfg.schema, pollingIntervalSeconds: 0.2 });
await queue.start();
await queue.work(cfg.queue, async (job) => {
  process.stdout.write(`STARTED ${job.id}\n`);
  await new Promise(() => undefined);
});
process.stdout.write("READY\n");
