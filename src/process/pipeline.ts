import type { ExportTraceServiceRequest } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { StoredTenant } from "../tenants/schema.js";
import { dropNonAiSpans } from "./filter.js";
import { compileRedaction, maskValues, redactKeys } from "./redact.js";
import { decideParents, groupByParent, type ParentBatch } from "./route.js";
import { translateRequest } from "./translate.js";

export interface ProcessedSpans {
  /** One per Braintrust parent. */
  batches: ParentBatch[];
  /** Whether any span differs from what arrived, so the original bytes can no longer be sent. */
  changed: boolean;
  /** Spans the tenant's filter dropped. */
  dropped: number;
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
  let changed = dropped > 0;
  if (redaction) changed = redactKeys(request, redaction) || changed;
  if (tenant.translate) changed = translateRequest(request) || changed;
  if (redaction) changed = maskValues(request, redaction) || changed;
  return { batches: groupByParent(request, parents, tenant.parent), changed, dropped };
}
