import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/app-env.js";
import { bearerToken } from "../http/bearer.js";
import { RelayError } from "../http/errors.js";
import { adminTokenInForce, MIN_ADMIN_TOKEN_CHARS } from "../secrets/admin-token.js";
import { containsSecret, secretsEqual } from "../secrets/compare.js";
import { RELAY_SECRET_SHOWN, relaySecretIn } from "../tenants/credentials.js";

/** The ADMIN_TOKEN secret, or a refusal saying why `what` (the admin API, the console) is disabled. */
export function configuredAdminToken(
  env: { ADMIN_TOKEN?: string; ENCRYPTION_KEY?: string | undefined; ENCRYPTION_KEY_PREVIOUS?: string | undefined },
  what: string,
): string {
  const token = env.ADMIN_TOKEN;
  if (!token) throw new RelayError("unauthenticated", `${what} is disabled: set the ADMIN_TOKEN secret`);
  if (token.length < MIN_ADMIN_TOKEN_CHARS) {
    throw new RelayError(
      "unauthenticated",
      `${what} is disabled: ADMIN_TOKEN is shorter than ${MIN_ADMIN_TOKEN_CHARS} characters; set a random one (openssl rand -base64 32)`,
    );
  }
  // Another of the relay's secrets pasted in its place, the clipboard's last: ENCRYPTION_KEY is made by the
  // same command a line apart, and would open every stored key wherever the admin token is kept (browsers,
  // password managers, shells, CI); an ingest token is in a tenant's gateway, whose operators would be admins.
  const sealing = { ENCRYPTION_KEY: env.ENCRYPTION_KEY, ENCRYPTION_KEY_PREVIOUS: env.ENCRYPTION_KEY_PREVIOUS };
  const secret = relaySecretIn(token, sealing);
  if (secret !== undefined) {
    throw new RelayError(
      "unauthenticated",
      `${what} is disabled: ADMIN_TOKEN is ${RELAY_SECRET_SHOWN[secret]}, ${secret === "ingest token" ? "which a tenant's gateway holds and sends with every export" : "which would open every stored key wherever the admin token is kept"}; set another random one (openssl rand -base64 32)`,
    );
  }
  return token;
}

/**
 * A refusal with the admin token masked wherever the caller's text put it: a token pasted into a
 * path by mistake (a hex one has a tenant id's shape, and is named as one) never comes back in the
 * answer, nor in whatever logs it. A token too short to be taken disables the API, and is not looked for.
 */
export function withAdminTokenMasked(error: RelayError, env: { ADMIN_TOKEN?: string }): RelayError {
  const message = adminTokenMasked(error.message, env);
  return message === error.message ? error : new RelayError(error.code, message, error.options);
}

/** The text with the admin token, wherever it is in it, shown as `[the admin token]`. */
export function adminTokenMasked(text: string, env: { ADMIN_TOKEN?: string }): string {
  const token = adminTokenInForce(env);
  // Caller text, anyone's (an ingest path): looked through in time that does not tell how much of the token it matched.
  if (!token || !containsSecret(text, token)) return text;
  return text.replaceAll(token, ADMIN_TOKEN_SHOWN_AS);
}

/** What the admin token is shown as where a caller's text had it. */
export const ADMIN_TOKEN_SHOWN_AS = "[the admin token]";

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
