import {
  type ExportTraceServiceRequest,
  ExportTraceServiceRequestSchema,
} from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { ResourceSpans, ScopeSpans, Span } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";

/** A span with the resource and scope it was sent under. */
export interface PlacedSpan {
  resourceSpans: ResourceSpans;
  scopeSpans: ScopeSpans;
  span: Span;
}

export function placedSpans(request: ExportTraceServiceRequest): PlacedSpan[] {
  return request.resourceSpans.flatMap((resourceSpans) =>
    resourceSpans.scopeSpans.flatMap((scopeSpans) => scopeSpans.spans.map((span) => ({ resourceSpans, scopeSpans, span }))),
  );
}

export function countSpans(request: ExportTraceServiceRequest): number {
  let spans = 0;
  for (const rs of request.resourceSpans) for (const ss of rs.scopeSpans) spans += ss.spans.length;
  return spans;
}

/** Rebuilds a request from spans, each under a copy of its own resource and scope (unknown fields included). */
export function regroup(placed: PlacedSpan[]): ExportTraceServiceRequest {
  const resources = new Map<ResourceSpans, { copy: ResourceSpans; scopes: Map<ScopeSpans, ScopeSpans> }>();
  for (const { resourceSpans, scopeSpans, span } of placed) {
    let resource = resources.get(resourceSpans);
    if (!resource) {
      resource = { copy: { ...resourceSpans, scopeSpans: [] }, scopes: new Map() };
      resources.set(resourceSpans, resource);
    }
    let scope = resource.scopes.get(scopeSpans);
    if (!scope) {
      scope = { ...scopeSpans, spans: [] };
      resource.scopes.set(scopeSpans, scope);
      resource.copy.scopeSpans.push(scope);
    }
    scope.spans.push(span);
  }
  return { $typeName: ExportTraceServiceRequestSchema.typeName, resourceSpans: [...resources.values()].map((r) => r.copy) };
}

/** Removes every span `keep` refuses, in place, and the scopes and resources left empty by it. Returns how many went. */
export function removeSpans(request: ExportTraceServiceRequest, keep: (span: Span, placed: Omit<PlacedSpan, "span">) => boolean): number {
  let removed = 0;
  for (const resourceSpans of request.resourceSpans) {
    for (const scopeSpans of resourceSpans.scopeSpans) {
      // Arrays are only rebuilt for scopes that lose a span: the common case allocates nothing.
      let kept: Span[] | undefined;
      scopeSpans.spans.forEach((span, i) => {
        if (keep(span, { resourceSpans, scopeSpans })) kept?.push(span);
        else kept ??= scopeSpans.spans.slice(0, i);
      });
      if (kept) {
        removed += scopeSpans.spans.length - kept.length;
        scopeSpans.spans = kept;
      }
    }
    if (removed > 0) resourceSpans.scopeSpans = resourceSpans.scopeSpans.filter((ss) => ss.spans.length > 0);
  }
  if (removed > 0) request.resourceSpans = request.resourceSpans.filter((rs) => rs.scopeSpans.length > 0);
  return removed;
}
