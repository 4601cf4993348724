import { base64UrlDecode, base64UrlEncode } from "../encoding/bytes.js";
import { hmacKeyFor } from "../secrets/derive.js";

/**
 * The console's sessions: a cookie signed with a key derived from ADMIN_TOKEN, so the relay keeps no
 * session state, and rotating the token ends every session at once. A session is short-lived and
 * carries its own CSRF token, derived from the same key, for the forms of its pages.
 */

export const SESSION_COOKIE = "tfy_relay_console";
/** Short: a console left open on a shared screen stops working within the half hour. */
export const SESSION_SECONDS = 30 * 60;

export interface ConsoleSession {
  expiresAt: number;
  /** Put in every form of the session's pages, and checked on every change. */
  csrfToken: string;
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

async function sign(key: CryptoKey, message: string): Promise<string> {
  return base64UrlEncode(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message))));
}

async function csrfTokenOf(key: CryptoKey, nonce: string): Promise<string> {
  return sign(key, `csrf.${nonce}`);
}

/** A new session from `now`, as the cookie's value. */
export async function startSession(adminToken: string, now: number): Promise<string> {
  const key = await sessionKey(adminToken);
  const expiresAt = now + SESSION_SECONDS * 1000;
  const nonce = base64UrlEncode(crypto.getRandomValues(new Uint8Array(16)));
  const signature = await sign(key, `session.${expiresAt}.${nonce}`);
  return `${expiresAt}.${nonce}.${signature}`;
}

/** The session a cookie stands for, when the relay signed it with the current token and it has not expired. */
export async function readSession(adminToken: string, cookie: string | undefined, now: number): Promise<ConsoleSession | undefined> {
  const [expires, nonce, signature, ...rest] = (cookie ?? "").split(".");
  const expiresAt = /^\d{1,15}$/.test(expires ?? "") ? Number(expires) : 0;
  const signed = signatureBytes(signature ?? "");
  if (rest.length > 0 || !nonce || !signed || expiresAt <= now) return undefined;
  const key = await sessionKey(adminToken);
  // verify compares in constant time.
  if (!(await crypto.subtle.verify("HMAC", key, signed, encoder.encode(`session.${expiresAt}.${nonce}`)))) return undefined;
  return { expiresAt, csrfToken: await csrfTokenOf(key, nonce) };
}
