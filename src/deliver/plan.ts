import { toBinary } from "@bufbuild/protobuf";
import { ExportTraceServiceRequestSchema } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { countSpans } from "../otlp/placed-spans.js";
import type { ProcessedSpans } from "../process/pipeline.js";
import type { RequestBody } from "../receive/body.js";
import type { OtlpFormat } from "../receive/content-type.js";
import type { BraintrustCredential } from "../tenants/credentials.js";
import type { Tenant } from "../tenants/schema.js";
import type { Delivery } from "./message.js";
import { splitBySize } from "./split.js";

/** Braintrust takes at most 10 MB per request and answers more with 413; this leaves room for estimates. */
export const MAX_UPSTREAM_REQUEST_BYTES = 9_000_000;

export interface PlanInput {
  body: RequestBody;
  format: OtlpFormat;
  /** Whether validation took spans out of the request. */
  spansRejected: boolean;
  processed: ProcessedSpans;
  tenant: Tenant;
  credential: BraintrustCredential;
}

/**
 * The upstream requests for one ingest request: one per parent, each under Braintrust's limit.
 * When nothing about the spans changed, the bytes that came in go out as they are (gzip ones
 * without even recompressing); everything else is encoded anew.
 */
export function planDeliveries({ body, format, spansRejected, processed, tenant, credential }: PlanInput): Delivery[] {
  const base = { tenantId: tenant.id, apiUrl: tenant.api_url, credential };
  const untouched = format === "protobuf" && !spansRejected && !processed.changed && processed.batches.length === 1;
  const [only] = processed.batches;
  if (untouched && only && body.bytes.byteLength <= MAX_UPSTREAM_REQUEST_BYTES) {
    const payload = body.coding === "gzip" ? { protobuf: body.bytes, gzipped: body.wire } : { protobuf: body.bytes };
    return [{ ...base, id: crypto.randomUUID(), parent: only.parent, payload, request: only.request, spans: countSpans(only.request) }];
  }
  return processed.batches.flatMap(({ parent, request }) => {
    if (countSpans(request) === 0) return [];
    const protobuf = toBinary(ExportTraceServiceRequestSchema, request);
    const pieces = protobuf.byteLength <= MAX_UPSTREAM_REQUEST_BYTES ? [{ request, protobuf, spans: countSpans(request) }] : splitBySize(request, MAX_UPSTREAM_REQUEST_BYTES);
    return pieces.map((piece) => ({ ...base, id: crypto.randomUUID(), parent, payload: { protobuf: piece.protobuf }, request: piece.request, spans: piece.spans }));
  });
}
