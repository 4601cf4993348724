import type { Context, MiddlewareHandler } from "hono";
import { configuredAdminToken, requireAdmin } from "../admin/require-admin.js";
import { namesBearer } from "../http/bearer.js";
import { RelayError } from "../http/errors.js";
import { secretsEqual } from "../secrets/compare.js";
import { type ConsoleEnv, sessionOf } from "./console-env.js";
import { sessionCookiesSent, setSessionCookie } from "./cookies.js";
import { hasEnded } from "./ended-sessions.js";
import { formOf } from "./form.js";
import { CONSOLE_PATHS, loginPath, pageAfterLogin } from "./paths.js";
import { type ConsoleSession, readSession, renewedSession } from "./session.js";

/** The admin token, or a refusal saying how to enable the console. */
export function adminTokenOf(c: Context<ConsoleEnv>): string {
  return configuredAdminToken(c.env, "the console");
}

/** Reading a page: a HEAD is answered as its GET is, the same status and headers, without the body (RFC 9110, 9.3.2). */
const PAGE_READS = new Set(["GET", "HEAD"]);

/**
 * Whether the request is one a browser sends the console, answered with its pages: a link's GET (a
 * HEAD is a GET without its page) or a form's POST. A POST with a Bearer token is an API client's, as
 * any other method is: a browser sends none (Basic, a proxy's login in front of the console, it may).
 */
export function fromBrowser(c: Context<ConsoleEnv>): boolean {
  return PAGE_READS.has(c.req.method) || (c.req.method === "POST" && !namesBearer(c.req.header("authorization")));
}

/**
 * Pages need a live session: without one a page goes to the login form, a change is refused. An API
 * client's request (fromBrowser) needs the admin token, as every admin call does.
 */
export function requireSession(): MiddlewareHandler<ConsoleEnv> {
  const requireToken = requireAdmin();
  return async function requireConsoleSession(c, next) {
    if (!fromBrowser(c)) return requireToken(c, next);
    const adminToken = adminTokenOf(c);
    const read = await firstSessionOf(adminToken, sessionCookiesSent(c));
    const session = read && !(await hasEnded(c.env.TENANTS, read)) ? read : undefined;
    if (!session) {
      // Logging out of a session that has ended already is done: the login form, not a refusal.
      // A page a link opened is opened once logged in (an alert's link, a session that ended).
      if (PAGE_READS.has(c.req.method)) {
        const { pathname, search } = new URL(c.req.url);
        return c.redirect(loginPath(pageAfterLogin(pathname + search, c.env)), 303);
      }
      if (c.req.path === CONSOLE_PATHS.logout) return c.redirect(CONSOLE_PATHS.login, 303);
      throw new RelayError("unauthenticated", "your console session has ended: log in again");
    }
    c.set("session", session);
    await next();
    // In use, it lasts on (not past its login's SESSION_MAX_SECONDS): renewed by what was done, never
    // by a request refused (a form from another site, a CSRF token that is not the session's) or a
    // page that failed; logging out ends it instead.
    if (c.res.status < 400 && c.req.path !== CONSOLE_PATHS.logout && isOperatorsOwn(c)) {
      const renewed = await renewedSession(adminToken, session, Date.now());
      if (renewed) setSessionCookie(c, renewed);
    }
  };
}

/** The first of the cookies that is a session the relay signed, read in the order sent. */
async function firstSessionOf(adminToken: string, cookies: string[]): Promise<ConsoleSession | undefined> {
  const now = Date.now();
  for (const cookie of cookies) {
    const session = await readSession(adminToken, cookie, now);
    if (session) return session;
  }
  return undefined;
}

/**
 * Whether the request is the operator's own use of the console, a page opened or a form sent, which
 * alone renews a session: a browser says what else it fetches a page for (`Sec-Fetch-Dest`), and
 * SameSite=Strict sends the cookie with another host of the site's images and frames too, which
 * would keep an idle session going until its last hour. A browser that says nothing is taken at its word.
 */
function isOperatorsOwn(c: Context<ConsoleEnv>): boolean {
  const destination = c.req.header("sec-fetch-dest");
  return destination === undefined || destination === "document";
}

/**
 * Every change is a form POST from one of the console's own pages: the browser's Origin must be the
 * relay's own (so no other site can submit it, whatever the cookie does), and the form must carry the
 * session's CSRF token. Checked on each form's route, so a POST to a page that takes none is its 405.
 */
export function requireSameOrigin(c: Context<ConsoleEnv>): void {
  if (c.req.header("origin") !== new URL(c.req.url).origin) {
    throw new RelayError("forbidden", "this form was not sent from the console's own page: open the console and send it from there");
  }
}

export function checkChange(): MiddlewareHandler<ConsoleEnv> {
  return async function checkConsoleChange(c, next) {
    requireSameOrigin(c);
    const presented = (await formOf(c)).csrf;
    if (typeof presented !== "string" || !(await secretsEqual(presented, sessionOf(c).csrfToken))) {
      throw new RelayError("forbidden", "this form is from an older console session: reload the page and send it again");
    }
    await next();
  };
}
