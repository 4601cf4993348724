import { hex } from "../encoding/bytes.js";
import type { IncomingSpan } from "../otlp/incoming.js";
import { ParentSchema } from "../tenants/parent.js";
import type { StoredTenant } from "../tenants/schema.js";
import { stringAttribute } from "./attributes.js";
import { matches } from "./match.js";

/** Whether the tenant sends any trace anywhere but its default parent. */
export function routesTraces(tenant: Pick<StoredTenant, "routes" | "parent_from_attribute">): boolean {
  return tenant.routes.length > 0 || tenant.parent_from_attribute;
}

/** What a request's spans have said so far about where their trace goes. */
interface TraceEvidence {
  /** The first valid `braintrust.parent` among the trace's spans, when the tenant allows it. */
  fromAttribute: string | undefined;
  /** The index of the first route any of the trace's spans matches; routes.length when none. */
  route: number;
}

/**
 * Decides each trace's parent from its spans as they arrived, seen one at a time before anything
 * changes them. Traces stay whole: a trace goes where its first span carrying a valid
 * `braintrust.parent` says (when the tenant allows it), else to the first route any of its spans
 * matches, else to the tenant's default parent. Only a summary per trace is kept.
 */
export class TraceRouter {
  private readonly traces = new Map<string, TraceEvidence>();

  constructor(private readonly tenant: Pick<StoredTenant, "parent" | "routes" | "parent_from_attribute">) {}

  /** Takes in what the span says; returns its trace's key for `parentOf`. */
  observe({ span, scope }: IncomingSpan): string {
    const key = hex(span.traceId);
    let evidence = this.traces.get(key);
    if (!evidence) {
      evidence = { fromAttribute: undefined, route: this.tenant.routes.length };
      this.traces.set(key, evidence);
    }
    if (evidence.fromAttribute !== undefined) return key;
    if (this.tenant.parent_from_attribute) {
      const parent = stringAttribute(span.attributes, "braintrust.parent");
      if (parent !== undefined && ParentSchema.safeParse(parent).success) {
        evidence.fromAttribute = parent;
        return key;
      }
    }
    const target = { span, scope: scope.scopeSpans.scope, resource: scope.resource.resourceSpans.resource };
    for (let i = 0; i < evidence.route; i++) {
      if (matches(this.tenant.routes[i]!.match, target)) {
        evidence.route = i;
        break;
      }
    }
    return key;
  }

  parentOf(trace: string): string {
    const evidence = this.traces.get(trace);
    return evidence?.fromAttribute ?? (evidence && this.tenant.routes[evidence.route]?.parent) ?? this.tenant.parent;
  }
}
