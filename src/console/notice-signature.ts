import type { Context } from "hono";
import { secretsEqual } from "../secrets/compare.js";
import { hmacTag } from "../secrets/derive.js";
import { type ConsoleEnv, sessionOf } from "./console-env.js";
import { adminTokenOf } from "./guard.js";
import { NOTICE_PARAMETERS, NOTICE_SIGNATURE } from "./notices.js";

/**
 * A change's notice (`done=revoked`, a replay's counts and where the next replay goes on from) is
 * said only in the session that made the change: the redirect after it signs the page's path and its
 * notice parameters with the session's nonce, which only the session's HttpOnly cookie holds. A link
 * someone else made says nothing, even opened in a logged-in console (pasted into its address bar,
 * where the browser sends the cookie); a reload of the page in the same session says it again.
 */

/** A console page's path, with its change's notice parameters, signed for this session. */
export async function signedForSession(c: Context<ConsoleEnv>, path: string): Promise<string> {
  const url = new URL(path, ANY_ORIGIN);
  return `${path}&${NOTICE_SIGNATURE}=${await noticeSignature(c, url.pathname, url.searchParams)}`;
}

/** The page's query when this session signed its notice parameters for this page; without them otherwise. */
export async function signedNoticeOnly(c: Context<ConsoleEnv>, query: Record<string, string>): Promise<Record<string, string>> {
  const presented = query[NOTICE_SIGNATURE];
  const signed =
    presented !== undefined &&
    (await secretsEqual(presented, await noticeSignature(c, new URL(c.req.url).pathname, new URLSearchParams(query))));
  if (signed) return query;
  return Object.fromEntries(Object.entries(query).filter(([name]) => !(NOTICE_PARAMETERS as readonly string[]).includes(name)));
}

const ANY_ORIGIN = "https://console.invalid";

function noticeSignature(c: Context<ConsoleEnv>, pathname: string, parameters: URLSearchParams): Promise<string> {
  const signed = NOTICE_PARAMETERS.filter((name) => name !== NOTICE_SIGNATURE).map((name) => parameters.get(name));
  return hmacTag(adminTokenOf(c), "tfy-relay console notice v1", JSON.stringify([sessionOf(c).nonce, pathname, ...signed]));
}
