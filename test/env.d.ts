declare global {
  namespace Cloudflare {
    interface Env {
      /** Base URL of the Braintrust stand-in (test/standin), provided by the global setup. */
      STANDIN_URL: string;
    }
  }
}

export {};
