import type { ExportTraceServiceRequest } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import type { Span } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import type { StoredTenant } from "../tenants/schema.js";
import { dropNonAiSpans } from "./filter.js";
import { compileRedaction, maskValues, redactKeys } from "./redact.js";
import { decideParents, groupByParent, type ParentBatch, routesTraces } from "./route.js";
import { type SpanTranslation, translateRequest } from "./translate.js";

export interface ProcessedSpans {
  /** One per Braintrust parent. */
  batches: ParentBatch[];
  /** Whether any span differs from what arrived, so the original bytes can no longer be sent. */
  changed: boolean;
  /** Attributes translation appended, per span: all that changed inside those spans, unless `rewritten`. */
  appended: Map<Span, KeyValue[]>;
  /** Redaction changed attributes in place, or translation removed some, so spans must be encoded anew rather than spliced. */
  rewritten: boolean;
  /** Spans the tenant's filter dropped. */
  dropped: number;
}

/**
 * Whether `processSpans` leaves every request of this tenant as it came: no routes, no filter,
 * no redaction, no translation. Such a tenant's spans need not be decoded, only checked.
 */
export function leavesSpansAlone(tenant: StoredTenant): boolean {
  return !routesTraces(tenant) && !tenant.drop_non_ai_spans && !tenant.translate && !compileRedaction(tenant.redact);
}

/**
 * Route → filter → redact keys → translate → mask values. Routes are decided on the spans as they
 * arrived; keys are redacted before translation, so nothing is derived from them; values are
 * masked after it, so the translated JSON is masked too. Pure: no I/O, mutates `request`.
 */
export function processSpans(request: ExportTraceServiceRequest, tenant: StoredTenant): ProcessedSpans {
  const parents = decideParents(request, tenant);
  const dropped = tenant.drop_non_ai_spans ? dropNonAiSpans(request) : 0;
  const redaction = compileRedaction(tenant.redact);
  let rewritten = redaction ? redactKeys(request, redaction) : false;
  const translated = tenant.translate
    ? translateRequest(request, { keepSourceAttributes: tenant.keep_source_attributes })
    : new Map<Span, SpanTranslation>();
  const appended = new Map([...translated].map(([span, t]) => [span, t.added]));
  rewritten = [...translated.values()].some((t) => t.removedKeys.size > 0) || rewritten;
  if (redaction) rewritten = maskValues(request, redaction) || rewritten;
  const changed = dropped > 0 || rewritten || appended.size > 0;
  return { batches: groupByParent(request, parents, tenant.parent), changed, appended, rewritten, dropped };
}
