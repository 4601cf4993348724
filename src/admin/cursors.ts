import type { Context } from "hono";
import type { AppEnv } from "../http/app-env.js";
import { RelayError } from "../http/errors.js";
import { secretsEqual } from "../secrets/compare.js";
import { hmacTag } from "../secrets/derive.js";
import { configuredAdminToken } from "./require-admin.js";

/**
 * The cursors the admin API's lists give out: the store's own (KV's or R2's, opaque) and an HMAC
 * of it and of the list it goes on with. KV and R2 throw on a cursor they did not make (miniflare
 * takes any), which would answer a mistyped or truncated cursor with a 500, and one list's cursor
 * given to another is no cursor of it: a cursor the relay did not give out for this list is a 400,
 * and no store sees it. The key is derived from ADMIN_TOKEN, so rotating the token voids cursors
 * as it ends console sessions: a list starts again from its first page.
 */

/** The lists: every tenant (a page of them, their statistics, their keys resealed), and dead letters, everyone's or a tenant's. */
export type CursorList = "tenants" | `dead-letters/${string}`;

function tagOf(c: Context<AppEnv>, list: CursorList, cursor: string): Promise<string> {
  return hmacTag(configuredAdminToken(c.env, "the admin API"), "tfy-relay list cursor v1", `${list}\n${cursor}`);
}

/** A page's cursor as the admin API gives it out; null when the list is at its end. */
export async function givenCursor(c: Context<AppEnv>, list: CursorList, cursor: string | null): Promise<string | null> {
  return cursor === null ? null : `${cursor}.${await tagOf(c, list, cursor)}`;
}

/** The store's cursor inside one the admin API gave out for `list`; a 400 naming `cursor` for any other text. */
export async function storeCursor(c: Context<AppEnv>, list: CursorList, given: string | undefined): Promise<string | undefined> {
  if (given === undefined) return undefined;
  const dot = given.lastIndexOf(".");
  const cursor = given.slice(0, dot);
  if (dot < 1 || !(await secretsEqual(given.slice(dot + 1), await tagOf(c, list, cursor)))) {
    throw new RelayError("invalid_field", "cursor: not one this list gave out: list again from the first page, without a cursor", {
      field: "cursor",
    });
  }
  return cursor;
}
