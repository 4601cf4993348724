import { type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { ResourceSpansSchema, ScopeSpansSchema, SpanSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { assembleRequest, type OutgoingSpan, outgoingHeader } from "../otlp/outgoing.js";
import { assemble, type Piece, type Range, scanRequest, sizeOf } from "../otlp/wire.js";
import type { Redact } from "../tenants/processing-schema.js";
import { maskValues, type OwnTexts, resourceTexts, scopeTexts, spanTexts } from "./mask-values.js";
import { newParseBudget } from "./raw-json.js";
import { type CompiledRedaction, compileRedaction, spanAttributeLists } from "./redact.js";
import { redactKeys } from "./redact-keys.js";

/**
 * Spans the relay kept (an upstream request's bytes, masked when they arrived) masked by a tenant's
 * rules as they are now, for spans sent after the rules changed: keys first, then values, as
 * process-spans.ts runs them, over every resource, scope and span. One span decoded at a time, as
 * ingest decodes them (a request of many small spans decoded whole takes many times its size), and
 * only what changed encoded anew. New bytes when anything changed, or the request held what the scan
 * leaves out; undefined when not, or when the tenant has no rules. Translation is not run again: what
 * it derived from a key a rule now removes stays, unless a value rule masks it.
 */
export function maskedAgain(protobuf: Uint8Array, redact: Redact): Uint8Array | undefined {
  const rules = compileRedaction(redact);
  if (!rules) return undefined;
  const request = scanRequest(protobuf);
  // What the scan leaves out (a resource or scope without spans) was never masked: as ingest does for
  // a tenant with rules, the request is assembled anew from what was read, never sent as it was.
  let changed = request.leftOutEmpty || request.legacyScopes;
  const spans: OutgoingSpan[] = [];
  /** The pieces as masked, encoded anew, or as they were when masking changed nothing. */
  const masked = <Desc extends DescMessage>(desc: Desc, pieces: Range[], parts: Parts<MessageShape<Desc>>): Piece[] => {
    const message = fromBinary(desc, assemble(protobuf, pieces));
    if (!maskedParts(parts.attributes(message), parts.texts(message), rules)) return pieces;
    changed = true;
    return [toBinary(desc, message)];
  };
  for (const resource of request.resources) {
    const resourceHeader = outgoingHeader(masked(ResourceSpansSchema, resource.header, RESOURCE_PARTS));
    for (const scope of resource.scopes) {
      const outgoingScope = { resource: resourceHeader, header: outgoingHeader(masked(ScopeSpansSchema, scope.header, SCOPE_PARTS)) };
      for (const range of scope.spans) {
        const pieces = masked(SpanSchema, [range], SPAN_PARTS);
        spans.push({ scope: outgoingScope, pieces, size: sizeOf(pieces) });
      }
    }
  }
  return changed ? assembleRequest(protobuf, spans) : undefined;
}

/** Where a message's attribute lists and its own texts are, for masking. */
interface Parts<T> {
  attributes: (message: T) => KeyValue[][];
  texts: (message: T) => OwnTexts;
}

const RESOURCE_PARTS: Parts<MessageShape<typeof ResourceSpansSchema>> = {
  attributes: (resourceSpans) => [resourceSpans.resource?.attributes ?? []],
  texts: resourceTexts,
};
const SCOPE_PARTS: Parts<MessageShape<typeof ScopeSpansSchema>> = {
  attributes: (scopeSpans) => [scopeSpans.scope?.attributes ?? []],
  texts: scopeTexts,
};
const SPAN_PARTS: Parts<MessageShape<typeof SpanSchema>> = { attributes: spanAttributeLists, texts: spanTexts };

function maskedParts(lists: KeyValue[][], ownTexts: OwnTexts, rules: CompiledRedaction): boolean {
  newParseBudget();
  const removed = redactKeys(lists, rules);
  newParseBudget();
  return maskValues(lists, rules, ownTexts) || removed;
}
