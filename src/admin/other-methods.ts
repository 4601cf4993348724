import type { Env, Handler } from "hono";
import { methodNotAllowed } from "../http/errors.js";
import { calledRoute } from "./called-route.js";

/**
 * Registered after a path's handlers: a method the path does not take is 405, as ingest and
 * /healthz answer one. A path that is no call at all is app.ts's 404. The console's paths answer the same, as `what` they are.
 */
export function otherMethods<E extends Env>(allow: string, what = "admin API call"): Handler<E> {
  return (c) => {
    throw methodNotAllowed(calledRoute(c), allow, what);
  };
}
