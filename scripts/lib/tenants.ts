import { StoredTenantSchema, type Tenant } from "../../src/tenants/schema.js";

/** A tenant record as the store returns it, defaults filled in by the real schema, for tests of the pure modules. */
export function tenantRecord(overrides: Record<string, unknown> = {}): Tenant {
  const record = StoredTenantSchema.parse({
    parent: "project_name:default",
    api_url: "https://api.braintrust.dev",
    created_at: "2026-11-27T10:00:00.000Z",
    updated_at: "2026-11-27T10:00:00.000Z",
    ...overrides,
  });
  return { id: "acme", ...record };
}
