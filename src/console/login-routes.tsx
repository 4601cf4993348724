import { type Context, Hono } from "hono";
import { singleValuedQuery } from "../admin/query.js";
import { RelayError } from "../http/errors.js";
import { secretsEqual } from "../secrets/compare.js";
import { type ConsoleEnv, sessionOf } from "./console-env.js";
import { dropSessionCookie, dropsConsoleCookies, setSessionCookie } from "./cookies.js";
import { endSession } from "./ended-sessions.js";
import { formOf } from "./form.js";
import { adminTokenOf, requireSameOrigin } from "./guard.js";
import { renderPage, renderRefusal } from "./layout.js";
import { LoginPage } from "./login-page.js";
import { otherConsoleMethods } from "./other-methods.js";
import { CONSOLE_PATHS, pageAfterLogin } from "./paths.js";
import { startSession } from "./session.js";
import { CONSOLE_CSS } from "./style.js";

/** What the console serves without a session: the login form and its stylesheet. */
export const loginRoutes = new Hono<ConsoleEnv>();

loginRoutes.get("/style.css", (c) => {
  c.header("content-type", "text/css; charset=utf-8");
  c.header("cache-control", "public, max-age=300");
  return c.body(CONSOLE_CSS);
});

loginRoutes.get("/login", (c) => {
  // It reads only the page to open once logged in: any other parameter is refused, as every page refuses one it does not read.
  const { next } = singleValuedQuery(c, ["next"]);
  // A console without a usable admin token says so at once, not after the form is filled in.
  adminTokenOf(c);
  return renderPage(c, <LoginPage plainHttp={dropsConsoleCookies(c.req.url)} next={pageAfterLogin(next, c.env)} />);
});

loginRoutes.post("/login", async (c) => {
  // A login from another site would put the operator in a session that site chose.
  requireSameOrigin(c);
  const adminToken = adminTokenOf(c);
  const form = await formOf(c);
  const next = pageAfterLogin(form.next, c.env);
  // Pasted, the token may bring white space from a terminal's selection; none is at the ends of one a bearer header can carry.
  if (typeof form.token !== "string" || !(await secretsEqual(form.token.trim(), adminToken))) {
    const refusal = new RelayError("unauthenticated", "That is not the admin token.");
    return renderRefusal(c, <LoginPage error={refusal.message} plainHttp={dropsConsoleCookies(c.req.url)} next={next} />, refusal);
  }
  setSessionCookie(c, await startSession(adminToken, Date.now()));
  return c.redirect(next ?? CONSOLE_PATHS.home, 303);
});

loginRoutes.all("/style.css", otherConsoleMethods("GET, HEAD"));
loginRoutes.all("/login", otherConsoleMethods("GET, HEAD, POST"));

/** Registered behind the session and CSRF checks, so another site cannot log an operator out. */
export async function logout(c: Context<ConsoleEnv>): Promise<Response> {
  await endSession(c.env.TENANTS, sessionOf(c), Date.now());
  dropSessionCookie(c);
  return c.redirect(CONSOLE_PATHS.login, 303);
}
