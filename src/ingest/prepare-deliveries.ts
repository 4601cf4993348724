import type { Delivery } from "../deliver/message.js";
import { planDeliveries, unchangedDelivery } from "../deliver/plan.js";
import { spanShape } from "../deliver/splice.js";
import type { RelayConfig } from "../env.js";
import type { OtlpFormat, RequestBody } from "../otlp/format.js";
import type { PartialSuccess } from "../otlp/partial-success.js";
import { leavesSpansAlone, processSpans } from "../process/process-spans.js";
import { decodeExportRequest } from "../receive/decode.js";
import { rejectInvalidSpans } from "../receive/validate.js";
import { vouchedSpanCount } from "../receive/wire-check.js";
import type { BraintrustCredential } from "../tenants/credentials.js";
import type { Tenant } from "../tenants/schema.js";

export interface PreparedRequest {
  deliveries: Delivery[];
  /** Spans refused here, for the client's partial_success. */
  rejections: PartialSuccess;
}

/**
 * All the relay's work on a request between reading the body and sending upstream, with no I/O:
 * decode → validate → route, filter, redact, translate → plan one request per parent. The ingest
 * route and the benchmark both run exactly this.
 */
export function prepareDeliveries(
  body: RequestBody,
  format: OtlpFormat,
  tenant: Tenant,
  credential: BraintrustCredential,
  config: RelayConfig,
): PreparedRequest {
  // A tenant that changes nothing needs no decoded spans: when the wire check vouches that the
  // decode would succeed and validation keep every span, the bytes go as they came.
  if (format === "protobuf" && leavesSpansAlone(tenant)) {
    const spans = vouchedSpanCount(body.bytes);
    // A request without spans takes the full path, which answers it without sending anything.
    const unchanged =
      spans !== undefined && spans > 0 ? unchangedDelivery(body, tenant.parent, spans, { tenant, credential, config }) : undefined;
    if (unchanged) return { deliveries: [unchanged], rejections: { rejectedSpans: 0n, errorMessage: "" } };
  }
  const decoded = decodeExportRequest(body.bytes, format);
  // Taken before validation takes spans out, while the decoded shape still matches the bytes.
  const shape = format === "protobuf" ? spanShape(decoded) : undefined;
  const accepted = rejectInvalidSpans(decoded);
  const rejections = { rejectedSpans: BigInt(accepted.rejected), errorMessage: accepted.rejectionMessage };
  if (accepted.accepted === 0) return { deliveries: [], rejections };
  const processed = processSpans(accepted.request, tenant);
  return {
    deliveries: planDeliveries({ body, format, shape, spansRejected: accepted.rejected > 0, processed, tenant, credential, config }),
    rejections,
  };
}
