import { base64UrlDecode, base64UrlEncode } from "../encoding/bytes.js";
import { hmacKeyFor, hmacSign } from "../secrets/derive.js";

/**
 * The console's sessions: a cookie signed with a key derived from ADMIN_TOKEN, so the relay keeps no
 * session state, and rotating the token ends every session at once. A session ends when it has gone
 * unused for a while, and a while after its login however much it is used; it carries its own CSRF
 * token, derived from the same key, for the forms of its pages.
 */

export const SESSION_COOKIE = "tfy_relay_console";
/** Short: a console left open and unused on a shared screen stops working within the half hour. */
export const SESSION_SECONDS = 30 * 60;
/** However much it is used, a session ends this long after its login: a copied cookie is not good for ever. */
export const SESSION_MAX_SECONDS = 12 * 60 * 60;

export interface ConsoleSession {
  expiresAt: number;
  /** When its login was. */
  startedAt: number;
  nonce: string;
  /** Put in every form of the session's pages, and checked on every change. */
  csrfToken: string;
}

/** A session's cookie, and how long the browser is to keep it. */
export interface SessionCookie {
  value: string;
  maxAgeSeconds: number;
}

const encoder = new TextEncoder();

function sessionKey(adminToken: string): Promise<CryptoKey> {
  return hmacKeyFor(adminToken, "tfy-relay console session v1", ["sign", "verify"]);
}

/**
 * A signature as the cookie carries it, or undefined for text that is not the 43 base64url
 * characters of 32 bytes (atob throws on some other lengths, and on other characters) or not the
 * one way the relay writes those bytes: the last character of a 32-byte signature carries two
 * unused bits, and decoding ignores them, so without this check four cookies would stand for each
 * signature.
 */
function signatureBytes(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]{43}$/.test(text)) return undefined;
  const bytes = base64UrlDecode(text);
  return base64UrlEncode(bytes) === text ? bytes : undefined;
}

async function csrfTokenOf(key: CryptoKey, nonce: string): Promise<string> {
  return hmacSign(key, `csrf.${nonce}`);
}

/** A new session from `now`. */
export async function startSession(adminToken: string, now: number): Promise<SessionCookie> {
  const nonce = base64UrlEncode(crypto.getRandomValues(new Uint8Array(16)));
  return sessionCookie(await sessionKey(adminToken), now + SESSION_SECONDS * 1000, now, nonce, now);
}

/**
 * The session renewed for SESSION_SECONDS from `now`, or until SESSION_MAX_SECONDS after its login if
 * that is sooner; undefined when that would not move its end by a minute, so a page does not set its
 * cookie again on every click. The nonce stays, and with it the CSRF token of the pages already open.
 */
export async function renewedSession(adminToken: string, session: ConsoleSession, now: number): Promise<SessionCookie | undefined> {
  const expiresAt = Math.min(now + SESSION_SECONDS * 1000, session.startedAt + SESSION_MAX_SECONDS * 1000);
  if (expiresAt - session.expiresAt < 60_000) return undefined;
  return sessionCookie(await sessionKey(adminToken), expiresAt, session.startedAt, session.nonce, now);
}

async function sessionCookie(key: CryptoKey, expiresAt: number, startedAt: number, nonce: string, now: number): Promise<SessionCookie> {
  const signature = await hmacSign(key, `session.${expiresAt}.${startedAt}.${nonce}`);
  return { value: `${expiresAt}.${startedAt}.${nonce}.${signature}`, maxAgeSeconds: Math.ceil((expiresAt - now) / 1000) };
}

/** The session a cookie stands for, when the relay signed it with the current token and it has not expired. */
export async function readSession(adminToken: string, cookie: string | undefined, now: number): Promise<ConsoleSession | undefined> {
  const [expires, started, nonce, signature, ...rest] = (cookie ?? "").split(".");
  const expiresAt = timeOf(expires);
  const startedAt = timeOf(started);
  const signed = signatureBytes(signature ?? "");
  if (rest.length > 0 || !nonce || !signed || expiresAt <= now) return undefined;
  const key = await sessionKey(adminToken);
  // verify compares in constant time.
  if (!(await crypto.subtle.verify("HMAC", key, signed, encoder.encode(`session.${expiresAt}.${startedAt}.${nonce}`)))) return undefined;
  return { expiresAt, startedAt, nonce, csrfToken: await csrfTokenOf(key, nonce) };
}

/** A time in ms as the cookie writes it, no other spelling of it (leading zeros); 0, long past, for anything else. */
function timeOf(text: string | undefined): number {
  return /^[1-9]\d{0,14}$/.test(text ?? "") ? Number(text) : 0;
}
