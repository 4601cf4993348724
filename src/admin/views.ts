import { authModeOf, type Tenant } from "../tenants/schema.js";

/** A tenant as the admin API shows it: everything but secrets and token hashes. */
export function tenantView(tenant: Tenant) {
  return {
    id: tenant.id,
    parent: tenant.parent,
    braintrust: { api_url: tenant.api_url },
    auth: authModeOf(tenant),
    tokens: tenant.tokens.map(({ id, created_at }) => ({ id, created_at })),
    created_at: tenant.created_at,
    updated_at: tenant.updated_at,
  };
}
