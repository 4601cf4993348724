import { type Context, Hono } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { singleValuedQuery } from "../admin/query.js";
import { RelayError } from "../http/errors.js";
import { secretsEqual } from "../secrets/compare.js";
import type { ConsoleEnv } from "./console-env.js";
import { formOf } from "./form.js";
import { adminTokenOf, requireSameOrigin } from "./guard.js";
import { renderPage, renderRefusal } from "./layout.js";
import { LoginPage } from "./login-page.js";
import { otherConsoleMethods } from "./other-methods.js";
import { CONSOLE_PATHS } from "./paths.js";
import { SESSION_COOKIE, SESSION_SECONDS, startSession } from "./session.js";
import { CONSOLE_CSS } from "./style.js";

/** What the console serves without a session: the login form and its stylesheet. */
export const loginRoutes = new Hono<ConsoleEnv>();

/** HttpOnly: no script reads it; Secure: never sent in clear; SameSite=Strict: no other site's link or form carries it. */
const COOKIE_OPTIONS = { path: "/admin", httpOnly: true, secure: true, sameSite: "Strict" } as const;

loginRoutes.get("/style.css", (c) => {
  c.header("content-type", "text/css; charset=utf-8");
  c.header("cache-control", "public, max-age=300");
  return c.body(CONSOLE_CSS);
});

loginRoutes.get("/login", (c) => {
  // It reads no query: any parameter is refused, as every page refuses one it does not read.
  singleValuedQuery(c, []);
  // A console without a usable admin token says so at once, not after the form is filled in.
  adminTokenOf(c);
  return renderPage(c, <LoginPage plainHttp={dropsSecureCookie(c.req.url)} />);
});

loginRoutes.post("/login", async (c) => {
  // A login from another site would put the operator in a session that site chose.
  requireSameOrigin(c);
  const adminToken = adminTokenOf(c);
  const presented = (await formOf(c)).token;
  if (typeof presented !== "string" || !(await secretsEqual(presented, adminToken))) {
    const refusal = new RelayError("unauthenticated", "That is not the admin token.");
    return renderRefusal(c, <LoginPage error={refusal.message} plainHttp={dropsSecureCookie(c.req.url)} />, refusal);
  }
  const cookie = await startSession(adminToken, Date.now());
  setCookie(c, SESSION_COOKIE, cookie, { ...COOKIE_OPTIONS, maxAge: SESSION_SECONDS });
  return c.redirect(CONSOLE_PATHS.home, 303);
});

/**
 * Whether a browser drops the Secure cookie a response to this URL sets: one sent over http is kept
 * only from localhost, which browsers treat as a secure context.
 */
function dropsSecureCookie(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol !== "http:") return false;
  return !(hostname === "localhost" || hostname.endsWith(".localhost") || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname));
}

loginRoutes.all("/style.css", otherConsoleMethods("GET, HEAD"));
loginRoutes.all("/login", otherConsoleMethods("GET, HEAD, POST"));

/** Registered behind the session and CSRF checks, so another site cannot log an operator out. */
export function logout(c: Context<ConsoleEnv>): Response {
  deleteCookie(c, SESSION_COOKIE, COOKIE_OPTIONS);
  return c.redirect(CONSOLE_PATHS.login, 303);
}
