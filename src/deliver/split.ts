import { toBinary } from "@bufbuild/protobuf";
import {
  type ExportTraceServiceRequest,
  ExportTraceServiceRequestSchema,
} from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { ResourceSpansSchema, type ScopeSpans, ScopeSpansSchema, SpanSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { type PlacedSpan, placedSpans, regroup } from "../otlp/placed-spans.js";

/** An encoded piece of a request. */
export interface EncodedChunk {
  request: ExportTraceServiceRequest;
  protobuf: Uint8Array;
  spans: number;
}

/** How many bytes a span takes, and its resource and scope wrappers the first time a chunk needs them. */
export interface SpanSizes {
  span: (placed: PlacedSpan) => number;
  wrappers: (placed: PlacedSpan) => number;
}

/** A length-delimited field's tag plus a length prefix of up to 5 bytes. */
export const FIELD_OVERHEAD = 6;
/** The field overhead of each of the three levels of nesting: resource, scope, span list. */
export const NESTING_OVERHEAD = 3 * FIELD_OVERHEAD;

/**
 * Groups spans, in order, into chunks of at most `maxBytes`, counting each chunk's resource and
 * scope wrappers once. A span too large on its own comes out alone, over the limit.
 */
export function chunkBySize(placed: PlacedSpan[], sizes: SpanSizes, maxBytes: number): PlacedSpan[][] {
  const chunks: PlacedSpan[][] = [];
  let current: PlacedSpan[] = [];
  let scopes = new Set<ScopeSpans>();
  let size = 0;
  for (const p of placed) {
    const spanSize = sizes.span(p);
    if (current.length > 0 && size + spanSize + (scopes.has(p.scopeSpans) ? 0 : sizes.wrappers(p)) > maxBytes) {
      chunks.push(current);
      current = [];
      scopes = new Set();
      size = 0;
    }
    size += spanSize + (scopes.has(p.scopeSpans) ? 0 : sizes.wrappers(p));
    scopes.add(p.scopeSpans);
    current.push(p);
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function encode(placed: PlacedSpan[]): EncodedChunk {
  const request = regroup(placed);
  return { request, protobuf: toBinary(ExportTraceServiceRequestSchema, request), spans: placed.length };
}

/** Sizes measured by encoding, for spans that have no original bytes to measure. */
function encodedSizes(): SpanSizes {
  const wrapperSize = new Map<ScopeSpans, number>();
  return {
    span: (p) => toBinary(SpanSchema, p.span).byteLength + FIELD_OVERHEAD,
    wrappers: (p) => {
      let size = wrapperSize.get(p.scopeSpans);
      if (size === undefined) {
        size =
          toBinary(ResourceSpansSchema, { ...p.resourceSpans, scopeSpans: [] }).byteLength +
          toBinary(ScopeSpansSchema, { ...p.scopeSpans, spans: [] }).byteLength +
          NESTING_OVERHEAD;
        wrapperSize.set(p.scopeSpans, size);
      }
      return size;
    },
  };
}

/** Splits by spans into encoded requests of at most `maxBytes`, each span keeping its resource and scope. */
export function splitBySize(request: ExportTraceServiceRequest, maxBytes: number): EncodedChunk[] {
  return chunkBySize(placedSpans(request), encodedSizes(), maxBytes).map(encode);
}

/** Two requests with half the spans each, for answering Braintrust's 413; undefined for a single span. */
export function halve(request: ExportTraceServiceRequest): [EncodedChunk, EncodedChunk] | undefined {
  const placed = placedSpans(request);
  if (placed.length < 2) return undefined;
  const middle = Math.ceil(placed.length / 2);
  return [encode(placed.slice(0, middle)), encode(placed.slice(middle))];
}
