import { defineConfig } from "vitest/config";

/**
 * The pure modules (processing, delivery decisions, secrets, body limits and decoding, auth) tested
 * in Node: fast, and the project `npm run mutate` drives; Stryker could drive the workerd pool, but
 * the worker suite waits on real queue delays, minutes a pass, far too slow to run per mutant.
 * `npm test` runs it too, as a project of vitest.config.ts.
 */
export default defineConfig({
  test: {
    name: "unit",
    include: ["test/unit/*.test.ts"],
    environment: "node",
    // Property tests run hundreds of cases: 3 s on a quiet machine, past vitest's 5 s default under a load of 11.
    testTimeout: 30_000,
    setupFiles: ["./test/unit/setup.ts"],
  },
});
