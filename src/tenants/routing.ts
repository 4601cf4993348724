import type { StoredTenant } from "./schema.js";

/**
 * How long a trace's trace-routes object remembers where the trace went: a day. Agent traces run for
 * minutes, some for an hour, and an exporter may send a span again much later; a decision is one
 * small row, so a day costs nothing.
 */
export const DECISION_TTL_MS = 24 * 60 * 60 * 1000;

/** Its routes are only counted: a tenant as the admin API shows it (the CLI's, checked loosely) will do. */
type RoutingConfig = { routes: readonly unknown[] } & Pick<StoredTenant, "parent_from_attribute">;
type Routing = RoutingConfig & Pick<StoredTenant, "routed_until">;

/** Whether the tenant's configuration sends any trace anywhere but its default parent. */
function routesByConfig(tenant: RoutingConfig): boolean {
  return tenant.routes.length > 0 || tenant.parent_from_attribute;
}

/**
 * Whether the tenant's traces go through its trace-routes objects: it routes, or stopped routing
 * less than a day ago (`routed_until`). For that day a decided trace's later spans still follow its
 * decision, and spans waiting for their trace still go with its top span, rather than each part
 * going to the default parent on its own.
 */
export function routesTraces(tenant: Routing, now = Date.now()): boolean {
  return routesByConfig(tenant) || (tenant.routed_until !== undefined && Date.parse(tenant.routed_until) > now);
}

/** The `routed_until` of a tenant replaced by a configuration of `next`, at `now`: a day from now when it stops routing, else what holds. */
export function routedUntil(existing: Routing | undefined, next: RoutingConfig, now: number): string | undefined {
  if (!existing || routesByConfig(next)) return undefined;
  if (routesByConfig(existing)) return new Date(now + DECISION_TTL_MS).toISOString();
  return routesTraces(existing, now) ? existing.routed_until : undefined;
}
