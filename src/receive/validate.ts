import type { ExportTraceServiceRequest } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { Span } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { countSpans, removeSpans } from "../otlp/placed-spans.js";

/** What is left of a request once spans no receiver may accept are taken out. */
export interface AcceptedSpans {
  request: ExportTraceServiceRequest;
  accepted: number;
  rejected: number;
  /** For the client's partial_success.error_message; empty when nothing was rejected. */
  rejectionMessage: string;
}

const MAX_REASONS = 3;

/**
 * OTLP requires a 16-byte trace id and an 8-byte span id, neither all zeros, and a parent id
 * that is empty or 8 bytes. Such spans are rejected one by one (OTLP partial success), so the
 * rest of the request still goes through. Removes them from `request` in place.
 */
export function rejectInvalidSpans(request: ExportTraceServiceRequest): AcceptedSpans {
  const reasons: string[] = [];
  const rejected = removeSpans(request, (span) => {
    const reason = invalidSpanReason(span);
    if (reason && reasons.length < MAX_REASONS) reasons.push(`span ${JSON.stringify(span.name.slice(0, 64))}: ${reason}`);
    return reason === undefined;
  });
  const accepted = countSpans(request);
  const more = rejected > reasons.length ? ` (and ${rejected - reasons.length} more)` : "";
  const rejectionMessage = rejected === 0 ? "" : `rejected ${rejected} of ${accepted + rejected} spans: ${reasons.join("; ")}${more}`;
  return { request, accepted, rejected, rejectionMessage };
}

/** Why a span's ids break OTLP's rules, or undefined when they are fine. */
export function invalidSpanReason(span: Pick<Span, "traceId" | "spanId" | "parentSpanId">): string | undefined {
  if (!isId(span.traceId, 16)) return `trace_id must be 16 bytes and not all zero, got ${span.traceId.byteLength} bytes`;
  if (!isId(span.spanId, 8)) return `span_id must be 8 bytes and not all zero, got ${span.spanId.byteLength} bytes`;
  if (span.parentSpanId.byteLength !== 0 && span.parentSpanId.byteLength !== 8) {
    return `parent_span_id must be empty or 8 bytes, got ${span.parentSpanId.byteLength} bytes`;
  }
  return undefined;
}

function isId(bytes: Uint8Array, length: number): boolean {
  if (bytes.byteLength !== length) return false;
  for (let i = 0; i < length; i++) if (bytes[i] !== 0) return true;
  return false;
}
