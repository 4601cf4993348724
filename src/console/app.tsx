import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { secureHeaders } from "hono/secure-headers";
import { MAX_ADMIN_BODY_BYTES } from "../admin/limits.js";
import { withAdminTokenMasked } from "../admin/require-admin.js";
import { adminErrorResponse, asRelayError, RelayError } from "../http/errors.js";
import type { ConsoleEnv } from "./console-env.js";
import { deadLetterRoutes } from "./dead-letter-routes.js";
import { ErrorPage } from "./error-page.js";
import { checkChange, fromBrowser, requireSession } from "./guard.js";
import { renderRefusal } from "./layout.js";
import { loginRoutes, logout } from "./login-routes.js";
import { otherConsoleMethods } from "./other-methods.js";
import { CONSOLE_PATHS } from "./paths.js";
import { statsRoutes } from "./stats-routes.js";
import { tenantRoutes, tenantsOverview } from "./tenant-routes.js";

/**
 * The admin console, mounted ahead of the admin API: `/admin/` and `/admin/console/*`, paths the
 * API does not have. Its pages read and change everything through the API itself
 * (admin-api.ts). Middleware is registered for the console's paths only, so API calls never meet it.
 */
export const consoleApp = new Hono<ConsoleEnv>();

const PAGES = ["/admin", "/admin/", "/admin/console/*"];

// No script at all, styles only from the Worker, forms only to it, never framed.
const headers = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    styleSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
  },
  // Not no-referrer: under it a browser sends `Origin: null` with a form, and the Origin check refuses it.
  referrerPolicy: "same-origin",
  xFrameOptions: "DENY",
});
for (const path of PAGES) consoleApp.use(path, headers);

// `/admin` alone is no API path either: the console is one slash away. Any other method is
// answered as `/admin/`'s are, by the 405 below, behind the session or the admin token. Registered
// behind the headers, so this redirect carries them too (HSTS above all).
consoleApp.get("/admin", (c) => c.redirect(CONSOLE_PATHS.home, 301));

consoleApp.on(
  "POST",
  "/admin/console/*",
  bodyLimit({
    maxSize: MAX_ADMIN_BODY_BYTES,
    onError: () => {
      throw new RelayError("too_large", `the form is larger than the limit of ${MAX_ADMIN_BODY_BYTES} bytes`);
    },
  }),
);
// In order: what needs no session answers before the session check is reached.
consoleApp.route("/admin/console", loginRoutes);
for (const path of PAGES) consoleApp.use(path, requireSession());
consoleApp.post("/admin/console/logout", checkChange(), logout);
consoleApp.all("/admin/console/logout", otherConsoleMethods("POST"));
consoleApp.all("/admin", otherConsoleMethods("GET, HEAD"));
consoleApp.get("/admin/", tenantsOverview);
consoleApp.all("/admin/", otherConsoleMethods("GET, HEAD"));
consoleApp.route("/admin/console/tenants", tenantRoutes);
consoleApp.route("/admin/console/stats", statsRoutes);
consoleApp.route("/admin/console/dead-letters", deadLetterRoutes);
// Past every page: a console path that is none is the console's 404, not the admin API's bearer check.
consoleApp.all("/admin/console/*", () => {
  throw new RelayError("not_found", "no such page in the console");
});

consoleApp.onError((err, c) => {
  const error = withAdminTokenMasked(asRelayError(err), c.env);
  // An API client's request (guard.ts) is answered as every other admin call is: in the admin API's JSON.
  if (!fromBrowser(c)) return adminErrorResponse(error);
  const changed = c.req.method !== "GET" && c.req.method !== "HEAD";
  return renderRefusal(c, <ErrorPage status={error.status} message={error.message} changed={changed} session={c.get("session")} />, error);
});
