import type { ExportTraceServiceRequest } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { hex } from "../encoding/bytes.js";
import { type PlacedSpan, placedSpans, regroup } from "../otlp/placed-spans.js";
import { ParentSchema } from "../tenants/parent.js";
import type { StoredTenant } from "../tenants/schema.js";
import { stringAttribute } from "./attributes.js";
import { matches } from "./match.js";

/** The spans of a request bound for one Braintrust parent. */
export interface ParentBatch {
  parent: string;
  request: ExportTraceServiceRequest;
}

/** Whether the tenant sends any trace anywhere but its default parent. */
export function routesTraces(tenant: Pick<StoredTenant, "routes" | "parent_from_attribute">): boolean {
  return tenant.routes.length > 0 || tenant.parent_from_attribute;
}

/**
 * Decides each trace's parent, before anything changes the spans. Traces stay whole: a trace goes
 * where its first span carrying a valid `braintrust.parent` says (when the tenant allows it), else
 * to the first route any of its spans matches, else to the tenant's default parent.
 */
export function decideParents(
  request: ExportTraceServiceRequest,
  tenant: Pick<StoredTenant, "parent" | "routes" | "parent_from_attribute">,
): Map<string, string> {
  const parents = new Map<string, string>();
  if (!routesTraces(tenant)) return parents;
  const traces = groupPlaced(request, (placed) => hex(placed.span.traceId));
  for (const [key, spans] of traces) {
    const fromAttribute = tenant.parent_from_attribute
      ? spans
          .map((p) => stringAttribute(p.span.attributes, "braintrust.parent"))
          .find((v) => v !== undefined && ParentSchema.safeParse(v).success)
      : undefined;
    const route = fromAttribute
      ? undefined
      : tenant.routes.find((r) =>
          spans.some((p) => matches(r.match, { span: p.span, scope: p.scopeSpans.scope, resource: p.resourceSpans.resource })),
        );
    const parent = fromAttribute ?? route?.parent;
    if (parent && parent !== tenant.parent) parents.set(key, parent);
  }
  return parents;
}

/** One batch per parent; a request whose spans all go to the default parent stays as it is. */
export function groupByParent(request: ExportTraceServiceRequest, parents: Map<string, string>, defaultParent: string): ParentBatch[] {
  if (parents.size === 0) return [{ parent: defaultParent, request }];
  const groups = groupPlaced(request, (placed) => parents.get(hex(placed.span.traceId)) ?? defaultParent);
  return [...groups].map(([parent, spans]) => ({ parent, request: regroup(spans) }));
}

/** The request's spans by a key, each group in the order the spans arrived. */
function groupPlaced(request: ExportTraceServiceRequest, keyOf: (placed: PlacedSpan) => string): Map<string, PlacedSpan[]> {
  const groups = new Map<string, PlacedSpan[]>();
  for (const placed of placedSpans(request)) {
    const key = keyOf(placed);
    const group = groups.get(key);
    if (group) group.push(placed);
    else groups.set(key, [placed]);
  }
  return groups;
}
