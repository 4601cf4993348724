import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../http/app-env.js";
import { adminErrorResponse, asRelayError, RelayError } from "../http/errors.js";
import { logEvent } from "../log/events.js";
import { deadLettersRoutes } from "./dead-letters-routes.js";
import { keysRoutes } from "./keys-routes.js";
import { MAX_ADMIN_BODY_BYTES } from "./limits.js";
import { requireAdmin, withAdminTokenMasked } from "./require-admin.js";
import { statsRoutes } from "./stats-routes.js";
import { tenantsRoutes } from "./tenants-routes.js";
import { tokensRoutes } from "./tokens-routes.js";

/** Everything under /admin, behind the admin token. */
export const adminApp = new Hono<AppEnv>();

// No answer is kept by a cache, refusals included: an issued token's is the one place it is ever in plaintext.
adminApp.use("*", async (c, next) => {
  await next();
  c.header("cache-control", "no-store");
});
// The token first, so strangers never make the relay read a body.
adminApp.use(
  "*",
  requireAdmin(),
  bodyLimit({
    maxSize: MAX_ADMIN_BODY_BYTES,
    onError: () => {
      throw new RelayError("too_large", `admin request body is larger than the limit of ${MAX_ADMIN_BODY_BYTES} bytes`);
    },
  }),
);
// Every change an admin made, console or CLI, for the operators who come after: what, and when,
// with what the route says it did (adminChange): a call refused after it had deleted or replayed
// dead letters is a change too. The console calls this app in-process, without the /admin its
// routes are mounted under.
const CHANGES = new Set(["POST", "PUT", "PATCH", "DELETE"]);
adminApp.use("*", async (c, next) => {
  await next();
  const detail = c.get("adminChange");
  if (CHANGES.has(c.req.method) && (c.res.status < 400 || detail !== undefined)) {
    const path = new URL(c.req.url).pathname;
    logEvent({
      event: "admin_change",
      method: c.req.method,
      path: path.startsWith("/admin/") ? path : `/admin${path}`,
      status: c.res.status,
      ...detail,
    });
  }
});
adminApp.route("/tenants", tenantsRoutes);
adminApp.route("/tenants", tokensRoutes);
adminApp.route("/dead-letters", deadLettersRoutes);
adminApp.route("/keys", keysRoutes);
adminApp.route("/", statsRoutes);
// Past every route: an admin path that is no call, said as the admin API's own error. Not quoted
// back: a path is the caller's text, and may hold a token pasted there by mistake.
adminApp.all("*", () => {
  throw new RelayError("not_found", `no admin API call has this path (the calls are listed in the README, "Admin API")`);
});

// The Worker's own handler answers the same for /admin; this one also answers the console, which calls
// this app in-process (src/console/admin-api.ts) and reads the error body the CLI would.
adminApp.onError((err, c) => adminErrorResponse(withAdminTokenMasked(asRelayError(err), c.env)));
