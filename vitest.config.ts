import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { unstable_readConfig } from "wrangler";
import { defaultVars } from "./scripts/lib/default-vars.js";

const standin = "./test/standin/global-setup.ts";

/** How long a worker test may run: retries wait for real queue delays; waits inside tests have their own deadlines. */
const workerTestTimeout = 60_000;

/** The per-location ceiling as wrangler.toml declares it; the ceiling tests lower its limit, never its period. */
const ceiling = unstable_readConfig({ config: "wrangler.toml" }).ratelimits.find(
  (binding: { name: string }) => binding.name === "TENANT_RATE_CEILING",
);
if (!ceiling) throw new Error("wrangler.toml declares no TENANT_RATE_CEILING rate limit");

/** The Worker inside workerd, with miniflare's KV, Queues, R2 and rate limiter, as the tests configure it. */
function workerInWorkerd(ratelimits?: Record<string, { namespace_id: string; simple: { limit: number; period: 10 | 60 } }>) {
  return cloudflareTest(({ inject }) => ({
    wrangler: { configPath: "./wrangler.toml" },
    miniflare: {
      bindings: {
        // Every var at its default first, so a developer's own .dev.vars, which wrangler reads too, changes nothing here.
        ...defaultVars(),
        ADMIN_TOKEN: "test-admin-token-0123456789abcdef",
        ENCRYPTION_KEY: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        ALLOW_INSECURE_UPSTREAM: "true",
        // As long as a test may run, so no answer of the stand-in, however slowly a loaded machine brings
        // it, times out: a timed-out attempt is retried, which changes what a test counts. The test of
        // the timeout sets a short one of its own.
        UPSTREAM_TIMEOUT_MS: String(workerTestTimeout),
        QUEUED_UPSTREAM_TIMEOUT_MS: String(workerTestTimeout),
        RETRY_BASE_DELAY_SECONDS: "1",
        // Counts go to the tenant's object right after each request, so a test reads them without waiting 10 s.
        STATS_FLUSH_SECONDS: "0",
        STANDIN_URL: inject("standinUrl"),
        CEILING_PERIOD_SECONDS: String(ceiling.simple.period),
      },
      ...(ratelimits ? { ratelimits } : {}),
    },
  }));
}

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [workerInWorkerd()],
        test: {
          name: "worker",
          include: ["test/*.test.ts"],
          testTimeout: workerTestTimeout,
          globalSetup: [standin],
        },
      },
      {
        // The per-location ceiling, lowered so a test can reach it (wrangler.toml's is 3000 per 10 s).
        plugins: [workerInWorkerd({ TENANT_RATE_CEILING: { ...ceiling, simple: { limit: 5, period: ceiling.simple.period as 10 | 60 } } })],
        test: {
          name: "worker-ceiling",
          include: ["test/rate-ceiling/*.test.ts"],
          testTimeout: workerTestTimeout,
          globalSetup: [standin],
        },
      },
      {
        // Real processes: wrangler's dev server driven by real OpenTelemetry exporters.
        test: {
          name: "node",
          include: ["test/node/*.test.ts"],
          environment: "node",
          globalSetup: [standin],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        // The admin console in a real browser: Debian's Chromium driven by playwright-core, against wrangler's dev server.
        test: {
          name: "browser",
          include: ["test/browser/*.test.ts"],
          environment: "node",
          globalSetup: [standin],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        // The pipeline on the worst requests, each in a Node process whose heap is capped like an isolate's.
        test: {
          name: "memory",
          include: ["test/memory/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
        },
      },
      // The pure modules in Node; the project `npm run mutate` drives.
      "./vitest.unit.config.ts",
    ],
  },
});
