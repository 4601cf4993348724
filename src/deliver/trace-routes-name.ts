import type { Tenant } from "../tenants/schema.js";

/** Whose traces an object decides: a tenant, and the incarnation of it (tenants/schema.ts). */
export type TraceRoutesOwner = Pick<Tenant, "id" | "incarnation">;

/**
 * The name of the object deciding the traces of `tenant` whose id (hex) ends with `shard`. One per
 * incarnation: a tenant deleted and created again under its id starts with objects of its own, so
 * the decisions the deleted one made (kept a day) never send the next owner's spans to its parents,
 * and spans it left waiting never pass for the same bytes sent by the next owner, which were then
 * kept nowhere. A record without an incarnation keeps the name objects had before there were any.
 */
export function traceRoutesName(tenant: TraceRoutesOwner, shard: string): string {
  return tenant.incarnation === undefined ? `${tenant.id}:${shard}` : `${tenant.id}:${tenant.incarnation}:${shard}`;
}

/** The tenant whose trace-routes object has this name: tenant ids hold no ":". */
export function tenantOfObject(name: string): string {
  return name.slice(0, name.indexOf(":"));
}

/** The incarnation of the tenant whose trace-routes object has this name; undefined for a name made before there were any. */
export function incarnationOfObject(name: string): string | undefined {
  const parts = name.split(":");
  return parts.length === 3 ? parts[1] : undefined;
}
