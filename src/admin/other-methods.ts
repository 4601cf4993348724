import type { Env, Handler } from "hono";
import { RelayError } from "../http/errors.js";
import { calledRoute } from "./called-route.js";

/**
 * Registered after a path's handlers: a method the path does not take is 405 with the methods it
 * does take in `Allow` (RFC 9110, section 15.5.6), as ingest answers one. A path that is no call at
 * all is app.ts's 404. The console's paths answer the same, as `what` they are.
 */
export function otherMethods<E extends Env>(allow: string, what = "admin API call"): Handler<E> {
  return (c) => {
    throw new RelayError("method_not_allowed", `no such ${what}: ${calledRoute(c)} (this path takes ${allow})`, { allow });
  };
}
