import type { ExportTraceServiceRequest } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { Span } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { hex } from "../../src/encoding/bytes.js";
import { spansOf } from "./traces.js";

function attribute(span: Span, key: string): string | undefined {
  const value = span.attributes.find((a) => a.key === key)?.value?.value;
  return value?.case === "stringValue" ? value.value : undefined;
}

function json(text: string | undefined): Record<string, unknown> {
  try {
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** One line per span: name, duration, and what Braintrust will show (type, tokens, cost). */
function describe(span: Span): string {
  // A span sent without an end (or ending before it starts) has no duration to show.
  const ended = span.endTimeUnixNano >= span.startTimeUnixNano && span.endTimeUnixNano > 0n;
  const ms = ended ? Number((span.endTimeUnixNano - span.startTimeUnixNano) / 1_000_000n) : "?";
  const type = json(attribute(span, "braintrust.span_attributes")).type;
  const metrics = json(attribute(span, "braintrust.metrics"));
  const parts = [`${span.name}  ${ms} ms`];
  if (typeof type === "string") parts.push(`[${type}]`);
  if (typeof metrics.prompt_tokens === "number" || typeof metrics.completion_tokens === "number") {
    parts.push(`${metrics.prompt_tokens ?? 0} → ${metrics.completion_tokens ?? 0} tokens`);
  }
  if (typeof metrics.estimated_cost === "number") parts.push(`$${metrics.estimated_cost.toFixed(6)}`);
  if (span.status?.code === 2) parts.push(`✗ ${span.status.message}`);
  return parts.join("  ");
}

/** A readable tree per trace of one request Braintrust received, under the parent it went to. */
export function formatTraces(parent: string, request: ExportTraceServiceRequest): string {
  const spans = spansOf(request);
  const byTrace = Map.groupBy(spans, (s) => hex(s.traceId));
  const lines: string[] = [];
  for (const [traceId, traceSpans] of byTrace) {
    lines.push(`▸ trace ${traceId.slice(0, 12)}… → x-bt-parent: ${parent}`);
    const ids = new Set(traceSpans.map((s) => hex(s.spanId)));
    const children = Map.groupBy(traceSpans, (s) => (ids.has(hex(s.parentSpanId)) ? hex(s.parentSpanId) : ""));
    const walk = (span: Span, indent: string, last: boolean, top: boolean) => {
      lines.push(`${indent}${top ? "  " : last ? "└─ " : "├─ "}${describe(span)}`);
      const kids = children.get(hex(span.spanId)) ?? [];
      for (const [i, kid] of kids.entries())
        walk(kid, top ? `${indent}  ` : `${indent}${last ? "   " : "│  "}`, i === kids.length - 1, false);
    };
    for (const root of children.get("") ?? []) walk(root, "", true, true);
  }
  return lines.join("\n");
}
