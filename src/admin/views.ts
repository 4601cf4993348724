import type { RequestRateLimit } from "../tenants/processing-schema.js";
import { routesTraces } from "../tenants/routing.js";
import { authModeOf, type Tenant } from "../tenants/schema.js";

/**
 * What a tenant view shows that a PUT does not take: the CLI leaves them out of a --config file, so
 * a view saved with `tenants get --json`, edited, can be put back as it is.
 */
export const VIEW_ONLY_FIELDS = ["id", "auth", "tokens", "routed_until", "created_at", "updated_at"] as const;

/** A tenant's own rate limit in words, as the console's tenant page and the CLI's table show it. */
export function rateLimitText(rateLimit: RequestRateLimit | undefined): string {
  return rateLimit ? `${rateLimit.requests_per_second}/s, burst ${rateLimit.burst}` : "the relay's default";
}

/** A tenant's redaction in words, as the console's tenant page and the CLI's table show it: its rules of each kind counted. */
export function redactionText(redact: { keys: unknown[]; values: unknown[] }): string {
  const rules = (n: number, kind: string) => `${n} ${kind} rule${n === 1 ? "" : "s"}`;
  return `${rules(redact.keys.length, "key")}, ${rules(redact.values.length, "value")}`;
}

/** A tenant as the admin API shows it: everything but secrets and token hashes. */
export function tenantView(tenant: Tenant) {
  return {
    id: tenant.id,
    parent: tenant.parent,
    braintrust: { api_url: tenant.api_url },
    auth: authModeOf(tenant),
    tokens: tenant.tokens.map(({ id, created_at }) => ({ id, created_at })),
    routes: tenant.routes,
    parent_from_attribute: tenant.parent_from_attribute,
    trace_wait_seconds: tenant.trace_wait_seconds,
    translate: tenant.translate,
    keep_source_attributes: tenant.keep_source_attributes,
    keep_caller_parent: tenant.keep_caller_parent,
    drop_non_ai_spans: tenant.drop_non_ai_spans,
    redact: tenant.redact,
    ...(tenant.rate_limit ? { rate_limit: tenant.rate_limit } : {}),
    // Read-only: until when a tenant that stopped routing still sends its traces through its trace-routes objects.
    ...(routesTraces(tenant) && tenant.routed_until ? { routed_until: tenant.routed_until } : {}),
    created_at: tenant.created_at,
    updated_at: tenant.updated_at,
  };
}
