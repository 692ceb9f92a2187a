import type { TestProject } from "vitest/node";
import { buildPgliteTemplate } from "./pglite-template.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** The migrated PGlite data directory every test database starts from (see pglite-template.ts). */
    pgliteTemplate: string;
  }
}

/** Runs once per `vitest run`, before any test file. */
export default async function setup(project: TestProject): Promise<void> {
  // .ci/run's log shows which Node the suite really ran on (test/ops/node-version.test.ts asserts it).
  console.log(`vitest: Node ${process.version} (${process.execPath})`);
  const started = performance.now();
  project.provide("pgliteTemplate", await buildPgliteTemplate());
  console.log(`vitest: PGlite template ready in ${Math.round(performance.now() - started)} ms`);
}
