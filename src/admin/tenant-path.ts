import type { Context } from "hono";
import type { AppEnv } from "../http/app-env.js";
import { RelayError } from "../http/errors.js";
import { errorText, logEvent } from "../log/events.js";
import { authoritativeTenant } from "../tenants/authoritative.js";
import { TENANT_ID, TENANT_ID_RULE, type Tenant } from "../tenants/schema.js";
import { type TenantSummary, tenantStoreOf } from "../tenants/store.js";
import { givenCursor, storeCursor } from "./cursors.js";

/** A page of tenants from the KV replica, from a cursor the admin API gave out (cursors.ts), with the next. */
/** `GET /admin/tenants`. */
export interface TenantList {
  tenants: TenantSummary[];
  cursor: string | null;
}

export async function tenantPage(c: Context<AppEnv>, cursor: string | undefined, limit: number): Promise<TenantList> {
  const page = await tenantStoreOf(c.env).list(await storeCursor(c, "tenants", cursor), limit);
  return { tenants: page.tenants, cursor: await givenCursor(c, "tenants", page.cursor) };
}

/**
 * `work` for each tenant of a page, each on its own: one whose call throws (its object overloaded,
 * reset by a deploy) is logged as `failure` and named apart, so one tenant's trouble does not take
 * every tenant's page down (a page of tenants, or of everyone's dead letters). The relay's own
 * refusal (a RelayError, such as ENCRYPTION_KEY_PREVIOUS malformed) is the operator's to fix, for
 * every tenant alike: it is thrown, as it was made.
 */
export async function eachTenantOnItsOwn<T>(
  tenants: readonly string[],
  work: (tenantId: string) => Promise<T>,
  failure: "stats_read_failed" | "key_reseal_failed" | "replay_claim_failed",
): Promise<{ answered: Array<{ tenant: string; answer: T }>; failed: string[] }> {
  const settled = await Promise.allSettled(tenants.map((id) => work(id)));
  const refused = settled.find((result) => result.status === "rejected" && result.reason instanceof RelayError);
  if (refused?.status === "rejected") throw refused.reason;
  const answered: Array<{ tenant: string; answer: T }> = [];
  const failed: string[] = [];
  settled.forEach((result, i) => {
    const tenant = tenants[i]!;
    if (result.status === "fulfilled") answered.push({ tenant, answer: result.value });
    else {
      failed.push(tenant);
      logEvent({ event: failure, tenant, error: errorText(result.reason) });
    }
  });
  return { answered, failed };
}

/** The `:tenant` path parameter, validated: the admin API creates tenants, so a bad id is a 400. */
export function tenantIdParam(c: Context<AppEnv>): string {
  return checkedTenantId(c.req.param("tenant") ?? "");
}

/** A tenant id as the caller gave it, or a 400 saying the rule it fails, without repeating it. */
export function checkedTenantId(id: string): string {
  if (!TENANT_ID.test(id)) {
    throw new RelayError("invalid_field", `tenant: ids are ${TENANT_ID_RULE}`, { field: "tenant" });
  }
  return id;
}

/** The path's tenant as its Durable Object holds it, or 404. */
export async function existingTenant(c: Context<AppEnv>): Promise<Tenant> {
  const id = tenantIdParam(c);
  const tenant = await authoritativeTenant(c.env, id);
  if (!tenant) throw noSuchTenant(id);
  return tenant;
}

/** Clears this isolate's cached copy after the tenant's Durable Object changed the record, so this isolate applies the change at once. */
export function forgetCachedTenant(c: Context<AppEnv>, id: string): void {
  tenantStoreOf(c.env).forget(id);
}

export function noSuchTenant(id: string): RelayError {
  return new RelayError("not_found", `no such tenant: ${id}`);
}
