import { toBinary } from "@bufbuild/protobuf";
import {
  ExportTraceServiceRequestSchema,
  type ExportTraceServiceRequest,
} from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { ResourceSpansSchema, ScopeSpansSchema, SpanSchema, type ScopeSpans } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { placedSpans, regroup, type PlacedSpan } from "../otlp/placed-spans.js";

/** An encoded piece of a request. */
export interface EncodedChunk {
  request: ExportTraceServiceRequest;
  protobuf: Uint8Array;
  spans: number;
}

// Tag plus a length prefix of up to 5 bytes, for each of the three levels of nesting.
const NESTING_OVERHEAD = 3 * 6;

function encode(placed: PlacedSpan[]): EncodedChunk {
  const request = regroup(placed);
  return { request, protobuf: toBinary(ExportTraceServiceRequestSchema, request), spans: placed.length };
}

/**
 * Splits by spans into requests of at most `maxBytes` encoded, each span keeping its resource and
 * scope. A span too large on its own comes out alone, over the limit, for the caller to handle.
 */
export function splitBySize(request: ExportTraceServiceRequest, maxBytes: number): EncodedChunk[] {
  const wrapperSize = new Map<ScopeSpans, number>();
  const sizeOfWrappers = (p: PlacedSpan) => {
    let size = wrapperSize.get(p.scopeSpans);
    if (size === undefined) {
      size =
        toBinary(ResourceSpansSchema, { ...p.resourceSpans, scopeSpans: [] }).byteLength +
        toBinary(ScopeSpansSchema, { ...p.scopeSpans, spans: [] }).byteLength +
        NESTING_OVERHEAD;
      wrapperSize.set(p.scopeSpans, size);
    }
    return size;
  };

  const chunks: EncodedChunk[] = [];
  let current: PlacedSpan[] = [];
  let currentScopes = new Set<ScopeSpans>();
  let currentSize = 0;
  for (const placed of placedSpans(request)) {
    const spanSize = toBinary(SpanSchema, placed.span).byteLength + 6;
    const added = spanSize + (currentScopes.has(placed.scopeSpans) ? 0 : sizeOfWrappers(placed));
    if (current.length > 0 && currentSize + added > maxBytes) {
      chunks.push(encode(current));
      current = [];
      currentScopes = new Set();
      currentSize = 0;
    }
    currentSize += spanSize + (currentScopes.has(placed.scopeSpans) ? 0 : sizeOfWrappers(placed));
    currentScopes.add(placed.scopeSpans);
    current.push(placed);
  }
  if (current.length > 0) chunks.push(encode(current));
  return chunks;
}

/** Two requests with half the spans each, for answering Braintrust's 413; undefined for a single span. */
export function halve(request: ExportTraceServiceRequest): [EncodedChunk, EncodedChunk] | undefined {
  const placed = placedSpans(request);
  if (placed.length < 2) return undefined;
  const middle = Math.ceil(placed.length / 2);
  return [encode(placed.slice(0, middle)), encode(placed.slice(middle))];
}
