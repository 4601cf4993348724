import type { Context } from "hono";
import type { AppEnv } from "../http/app-env.js";
import { RelayError } from "../http/errors.js";
import { authoritativeTenant } from "../tenants/authoritative.js";
import { TENANT_ID, TENANT_ID_RULE, type Tenant } from "../tenants/schema.js";
import { tenantStoreOf } from "../tenants/store.js";

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
