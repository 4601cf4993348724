import type { Tenant } from "./schema.js";

/** The Durable Object that owns the tenant's record and statistics. */
export function tenantObject(env: Env, id: string) {
  return env.TENANT_OBJECTS.getByName(id);
}

/** The tenant as its Durable Object holds it, the authoritative copy (KV's may lag a change); undefined once deleted. */
export async function authoritativeTenant(env: Env, id: string): Promise<Tenant | undefined> {
  const stored = await tenantObject(env, id).read(id);
  return stored && { ...stored, id };
}
