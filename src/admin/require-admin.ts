import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/app-env.js";
import { bearerToken } from "../http/bearer.js";
import { RelayError } from "../http/errors.js";
import { secretsEqual } from "../secrets/compare.js";

/**
 * The shortest admin token the relay takes. Nothing locks out a caller who guesses wrong (the
 * admin API and the console's login answer every attempt), so what stops guessing is the token's
 * length: 32 characters is 24 random bytes in base64, as `npm run dev` makes one.
 */
export const MIN_ADMIN_TOKEN_CHARS = 32;

/** The ADMIN_TOKEN secret, or a refusal saying why `what` (the admin API, the console) is disabled. */
export function configuredAdminToken(env: { ADMIN_TOKEN?: string }, what: string): string {
  const token = env.ADMIN_TOKEN;
  if (!token) throw new RelayError("unauthenticated", `${what} is disabled: set the ADMIN_TOKEN secret`);
  if (token.length < MIN_ADMIN_TOKEN_CHARS) {
    throw new RelayError(
      "unauthenticated",
      `${what} is disabled: ADMIN_TOKEN is shorter than ${MIN_ADMIN_TOKEN_CHARS} characters; set a random one (openssl rand -base64 32)`,
    );
  }
  return token;
}

/** Admin calls carry `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async function requireAdminToken(c, next) {
    const adminToken = configuredAdminToken(c.env, "the admin API");
    const presented = bearerToken(c.req.header("authorization"));
    if (!presented || !(await secretsEqual(presented, adminToken))) {
      throw new RelayError("unauthenticated", "missing or wrong admin token");
    }
    await next();
  };
}
