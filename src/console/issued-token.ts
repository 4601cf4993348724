import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { openSecret, sealSecret, UnreadableSecret } from "../secrets/seal.js";
import type { IssuedToken } from "./answers.js";
import { type ConsoleEnv, sessionOf } from "./console-env.js";
import { consoleCookie, cookiesSent } from "./cookies.js";
import { CONSOLE_PATHS } from "./paths.js";

/**
 * A token just issued, handed from the POST that issued it to the tenant's page the POST redirects
 * to (Post/Redirect/Get): answered with the token itself, the POST's page issued another token each
 * time the browser reloaded it. The token never goes in a URL (history, logs and `Referer` keep
 * those), and the relay keeps it nowhere: it travels in a cookie, sealed with AES-256-GCM under
 * ENCRYPTION_KEY (as stored keys are; no tenant takes tokens without one), bound to the tenant and the
 * session, for at most a minute, scoped to the tenant's page and out of scripts' reach. The page that
 * shows the token drops the cookie, so a reload shows it no more; a copy of the cookie taken in that
 * minute opens only for the same session, which can issue tokens itself.
 */
const ISSUED_COOKIE = "tfy_relay_issued_token";
/** The redirect is followed at once: a minute leaves room for a slow network, not for later. */
const ISSUED_SECONDS = 60;

function cookieOptions(c: Context<ConsoleEnv>, tenant: string) {
  return consoleCookie(c.req.url, CONSOLE_PATHS.tenant(tenant));
}

/** What the seal is bound to: this tenant's page in this session (its CSRF token is the session's own). */
function sealContext(c: Context<ConsoleEnv>, tenant: string): string {
  return `console issued token v1\n${tenant}\n${sessionOf(c).csrfToken}`;
}

/** Hands `issued` to the tenant's page, on the redirect this request answers with. */
export async function handOverIssuedToken(c: Context<ConsoleEnv>, tenant: string, issued: IssuedToken): Promise<void> {
  const until = Date.now() + ISSUED_SECONDS * 1000;
  const sealed = await sealSecret(JSON.stringify({ ...issued, until }), c.env, sealContext(c, tenant));
  setCookie(c, ISSUED_COOKIE, sealed, { ...cookieOptions(c, tenant), maxAge: ISSUED_SECONDS });
}

/**
 * The token handed to the tenant's page, once: the cookie is dropped whether or not it opens. Every
 * cookie of its name is tried, in the order sent: another host of the site may set one of that name
 * on this path, which a browser sends first, and read alone it would hide the token, never shown
 * again, while the page says it was.
 */
export async function takeIssuedToken(c: Context<ConsoleEnv>, tenant: string): Promise<IssuedToken | undefined> {
  const sent = cookiesSent(c, ISSUED_COOKIE);
  if (sent.length === 0) return undefined;
  deleteCookie(c, ISSUED_COOKIE, cookieOptions(c, tenant));
  for (const sealed of sent) {
    const opened = await openedOrUndefined(c, tenant, sealed);
    if (opened === undefined) continue;
    const { until, ...issued } = JSON.parse(opened) as IssuedToken & { until: number };
    return until > Date.now() ? issued : undefined;
  }
  return undefined;
}

/** The handover opened, or undefined for another session's or tenant's, one under a key since rotated, or no seal at all. */
async function openedOrUndefined(c: Context<ConsoleEnv>, tenant: string, sealed: string): Promise<string | undefined> {
  try {
    return await openSecret(sealed, c.env, sealContext(c, tenant));
  } catch (err) {
    if (err instanceof UnreadableSecret) return undefined;
    throw err;
  }
}
