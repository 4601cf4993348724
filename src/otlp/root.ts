import type { Span } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";

/**
 * Whether a span is its trace's root: its parent_span_id is empty, as OTLP has a root's, or all zeros,
 * the invalid span id some exporters and converters (Zipkin and Jaeger bridges, hand-written JSON)
 * send for none. Whatever asks whether a span is a root asks this (routing's top span, the non-AI
 * filter, a caller's parent), so both read alike everywhere (docs/otlp-http.md, "Span ids").
 */
export function isRoot(span: Pick<Span, "parentSpanId">): boolean {
  const parent = span.parentSpanId;
  for (let i = 0; i < parent.byteLength; i++) if (parent[i] !== 0) return false;
  return true;
}

/**
 * A root sent with a parent_span_id of zeros: it leaves without it (process/process-spans.ts), or
 * Braintrust would look for a span of that id, which never comes, and hide the trace from its Logs.
 */
export function hasZeroParent(span: Pick<Span, "parentSpanId">): boolean {
  return span.parentSpanId.byteLength > 0 && isRoot(span);
}
