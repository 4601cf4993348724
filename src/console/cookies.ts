import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { isLoopback } from "../http/loopback.js";
import { SESSION_COOKIE, type SessionCookie } from "./session.js";

/**
 * The attributes of every cookie the console sets. HttpOnly: no script reads it; Secure: never sent
 * in clear; SameSite=Strict: no other site's link or form carries it. Not Secure only at localhost
 * over http, where nothing leaves the machine: Safari drops a Secure cookie there, as every browser
 * does elsewhere over http.
 */
export function consoleCookie(url: string, path: string) {
  const { protocol, hostname } = new URL(url);
  // A browser takes *.localhost to this machine itself, as it does localhost.
  const local = isLoopback(hostname) || hostname.endsWith(".localhost");
  return { path, httpOnly: true, secure: protocol !== "http:" || !local, sameSite: "Strict" } as const;
}

/** Whether a browser drops the cookies a response to this URL sets: Secure ones, over http. */
export function dropsConsoleCookies(url: string): boolean {
  return new URL(url).protocol === "http:" && consoleCookie(url, "/").secure;
}

/** The session's cookie, for the whole console. */
function sessionCookieAttributes(url: string) {
  return consoleCookie(url, "/admin");
}

export function setSessionCookie(c: Context, cookie: SessionCookie): void {
  setCookie(c, SESSION_COOKIE, cookie.value, { ...sessionCookieAttributes(c.req.url), maxAge: cookie.maxAgeSeconds });
}

export function dropSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, sessionCookieAttributes(c.req.url));
}

/**
 * The values of every cookie of the session's name the request carries, in the order sent. A browser
 * sends one of the console's own (one name, one path), but another host of the same site may set
 * more of that name, sent before it when their paths are longer (`/admin/`, `/admin/console`, …):
 * reading only some, those would hide the operator's session, and logging in again would not help.
 * How many there can be is bounded by the size of a Cookie header.
 */
export function sessionCookiesSent(c: Context): string[] {
  return cookiesSent(c, SESSION_COOKIE);
}

/** The values of every cookie of this name the request carries, in the order sent (sessionCookiesSent says why all). */
export function cookiesSent(c: Context, name: string): string[] {
  const values: string[] = [];
  for (const pair of (c.req.header("cookie") ?? "").split(";")) {
    const at = pair.indexOf("=");
    if (at !== -1 && pair.slice(0, at).trim() === name) values.push(pair.slice(at + 1).trim());
  }
  return values;
}
