import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/app-env.js";
import { bearerToken } from "../http/bearer.js";
import { RelayError } from "../http/errors.js";
import { secretsEqual } from "../secrets/compare.js";

/** Admin calls carry `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async function requireAdminToken(c, next) {
    const adminToken = c.env.ADMIN_TOKEN;
    if (!adminToken) throw new RelayError("unauthenticated", "the admin API is disabled: set the ADMIN_TOKEN secret");
    const presented = bearerToken(c.req.header("authorization"));
    if (!presented || !(await secretsEqual(presented, adminToken))) {
      throw new RelayError("unauthenticated", "missing or wrong admin token");
    }
    await next();
  };
}
