import { type ConsoleSession, SESSION_MAX_SECONDS } from "./session.js";

/**
 * Sessions logged out before their end. A session is a signed cookie the relay keeps no record of,
 * and one in use is renewed (session.ts): without this, a copy of the cookie, or a page read that
 * crossed the log-out and renewed it, would keep a logged-out session going until its login's
 * 12 hours. Kept in KV by the session's nonce (random, and no secret: the key signs the cookie) until
 * then. KV is eventually consistent: a log-out may take up to a minute to reach other locations.
 */
const PREFIX = "console-session-ended:";
/** KV keeps nothing for less. */
const MIN_TTL_SECONDS = 60;

export async function endSession(kv: KVNamespace, session: ConsoleSession, now: number): Promise<void> {
  const left = Math.ceil((session.startedAt + SESSION_MAX_SECONDS * 1000 - now) / 1000);
  await kv.put(`${PREFIX}${session.nonce}`, "1", { expirationTtl: Math.max(MIN_TTL_SECONDS, left) });
}

export async function hasEnded(kv: KVNamespace, session: ConsoleSession): Promise<boolean> {
  return (await kv.get(`${PREFIX}${session.nonce}`)) !== null;
}
