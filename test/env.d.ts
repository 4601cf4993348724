import type { Env as RelayEnv } from "../src/env.js";

declare global {
  namespace Cloudflare {
    interface Env extends RelayEnv {
      /** Base URL of the Braintrust stand-in (test/standin), provided by the global setup. */
      STANDIN_URL: string;
    }
    interface GlobalProps {
      mainModule: typeof import("../src/index.js");
    }
  }
}
