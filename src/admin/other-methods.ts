import type { Handler } from "hono";
import type { AppEnv } from "../http/app-env.js";
import { RelayError } from "../http/errors.js";

/**
 * Registered after a path's handlers: a method the path does not take is 405 with the methods it
 * does take in `Allow` (RFC 9110, section 15.5.6), as ingest answers one. A path that is no call at
 * all is app.ts's 404.
 */
export function otherMethods(allow: string): Handler<AppEnv> {
  return (c) => {
    throw new RelayError(
      "method_not_allowed",
      `no such admin API call: ${c.req.method} ${new URL(c.req.url).pathname} (this path takes ${allow})`,
      { allow },
    );
  };
}
