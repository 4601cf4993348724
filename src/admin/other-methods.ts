import type { Context, Env, Handler } from "hono";
import { quoted, RelayError } from "../http/errors.js";

/** The method and path asked for, as a refusal quotes them: the path is the caller's, of any length. */
export function requestedCall(c: Context): string {
  return quoted(`${c.req.method} ${new URL(c.req.url).pathname}`);
}

/**
 * Registered after a path's handlers: a method the path does not take is 405 with the methods it
 * does take in `Allow` (RFC 9110, section 15.5.6), as ingest answers one. A path that is no call at
 * all is app.ts's 404. The console's paths answer the same, as `what` they are.
 */
export function otherMethods<E extends Env>(allow: string, what = "admin API call"): Handler<E> {
  return (c) => {
    throw new RelayError("method_not_allowed", `no such ${what}: ${requestedCall(c)} (this path takes ${allow})`, { allow });
  };
}
