import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { ExportTraceServiceRequestSchema } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import type { Redact } from "../tenants/processing-schema.js";
import { maskValues, type OwnTexts, resourceTexts, scopeTexts, spanTexts } from "./mask-values.js";
import { newParseBudget } from "./raw-json.js";
import { type CompiledRedaction, compileRedaction, spanAttributeLists } from "./redact.js";
import { redactKeys } from "./redact-keys.js";

/**
 * Spans the relay kept (an upstream request's bytes, masked when they arrived) masked by a tenant's
 * rules as they are now, for spans sent after the rules changed: keys first, then values, as
 * process-spans.ts runs them, over every resource, scope and span. New bytes when that changed
 * anything; undefined when not, or when the tenant has no rules. Translation is not run again: what it
 * derived from a key a rule now removes stays, unless a value rule masks it.
 */
export function maskedAgain(protobuf: Uint8Array, redact: Redact): Uint8Array | undefined {
  const rules = compileRedaction(redact);
  if (!rules) return undefined;
  const request = fromBinary(ExportTraceServiceRequestSchema, protobuf);
  let changed = false;
  for (const resourceSpans of request.resourceSpans) {
    changed = masked([resourceSpans.resource?.attributes ?? []], resourceTexts(resourceSpans), rules) || changed;
    for (const scopeSpans of resourceSpans.scopeSpans) {
      changed = masked([scopeSpans.scope?.attributes ?? []], scopeTexts(scopeSpans), rules) || changed;
      for (const span of scopeSpans.spans) changed = masked(spanAttributeLists(span), spanTexts(span), rules) || changed;
    }
  }
  return changed ? toBinary(ExportTraceServiceRequestSchema, request) : undefined;
}

function masked(lists: KeyValue[][], ownTexts: OwnTexts, rules: CompiledRedaction): boolean {
  newParseBudget();
  const removed = redactKeys(lists, rules);
  newParseBudget();
  return maskValues(lists, rules, ownTexts) || removed;
}
