/** Runs once per `vitest run`, before any test file. */
export default function setup(): void {
  // .ci/run's log shows which Node the suite really ran on (test/ops/node-version.test.ts asserts it).
  console.log(`vitest: Node ${process.version} (${process.execPath})`);
}
