declare global {
  namespace Cloudflare {
    interface Env {
      /** Base URL of the Braintrust stand-in (scripts/lib/braintrust-standin.ts), provided by the global setup. */
      STANDIN_URL: string;
      /** The period wrangler.toml gives the per-location ceiling (vitest.config.ts reads it). */
      CEILING_PERIOD_SECONDS: string;
    }
  }
}

export {};
