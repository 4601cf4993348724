import type { Context } from "hono";
import type { AppEnv } from "../http/app-env.js";
import { type TenantSummary, tenantStoreOf } from "../tenants/store.js";
import { givenCursor, storeCursor } from "./cursors.js";

/** `GET /admin/tenants`. */
export interface TenantList {
  tenants: TenantSummary[];
  cursor: string | null;
}

/** A page of tenants from the KV replica, from a cursor the admin API gave out (cursors.ts), with the next. */
export async function tenantPage(c: Context<AppEnv>, cursor: string | undefined, limit: number): Promise<TenantList> {
  const page = await tenantStoreOf(c.env).list(await storeCursor(c, "tenants", cursor), limit);
  return { tenants: page.tenants, cursor: await givenCursor(c, "tenants", page.cursor) };
}
