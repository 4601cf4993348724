import { toBinary } from "@bufbuild/protobuf";
import type { ExportTraceServiceRequest } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { type KeyValue, KeyValueSchema } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import type { Span } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import type { PlacedSpan } from "../otlp/placed-spans.js";
import { assemble, type Piece, type Range, type ScannedResource, scanRequest } from "../otlp/wire.js";
import { FIELD_OVERHEAD, NESTING_OVERHEAD, type SpanSizes } from "./split.js";

/** Field numbers: ExportTraceServiceRequest.resource_spans, ResourceSpans.scope_spans, ScopeSpans.spans, Span.attributes. */
const RESOURCE_SPANS = 1;
const SCOPE_SPANS = 2;
const SPANS = 2;
const SPAN_ATTRIBUTES = 9;

interface SpanSource {
  resource: number;
  scope: number;
  range: Range;
}

/** Where each decoded span's bytes are in the request it was decoded from. */
export interface LocatedSpans {
  source: Uint8Array;
  scanned: ScannedResource[];
  spans: Map<Span, SpanSource>;
}

/** The decoded spans as they sat in the request, per resource and scope: taken before anything removes spans. */
export type SpanShape = Span[][][];

export function spanShape(decoded: ExportTraceServiceRequest): SpanShape {
  return decoded.resourceSpans.map((rs) => rs.scopeSpans.map((ss) => ss.spans.slice()));
}

/**
 * Pairs protobuf-es's decoded spans with their byte ranges. Both walk the request in order, so
 * they pair up one to one; when the shapes differ in any way, undefined (encode anew instead).
 */
export function locateSpans(source: Uint8Array, shape: SpanShape): LocatedSpans | undefined {
  const scanned = scanRequest(source);
  if (!scanned || scanned.length !== shape.length) return undefined;
  const spans = new Map<Span, SpanSource>();
  for (const [r, scopes] of shape.entries()) {
    const resource = scanned[r]!;
    if (resource.scopes.length !== scopes.length) return undefined;
    for (const [s, scopeSpans] of scopes.entries()) {
      const ranges = resource.scopes[s]!.spans;
      if (ranges.length !== scopeSpans.length) return undefined;
      for (const [i, span] of scopeSpans.entries()) spans.set(span, { resource: r, scope: s, range: ranges[i]! });
    }
  }
  return { source, scanned, spans };
}

/** Each appended attribute encoded once, so sizing and splicing share the bytes. */
export function encodeAppended(appended: Map<Span, KeyValue[]>): Map<Span, Uint8Array[]> {
  return new Map([...appended].map(([span, attributes]) => [span, attributes.map(encodeKeyValue)]));
}

const utf8 = new TextEncoder();
const NOTHING = new Uint8Array();

/**
 * A KeyValue with a string value, written directly (key = 1, value = 2 → AnyValue.string_value = 1):
 * translated attributes are large JSON strings, and this encodes each one once, in place.
 */
function encodeKeyValue(kv: KeyValue): Uint8Array {
  if (kv.value?.value.case !== "stringValue") return toBinary(KeyValueSchema, kv);
  return assemble(NOTHING, [
    { field: 1, pieces: [utf8.encode(kv.key)] },
    { field: 2, pieces: [{ field: 1, pieces: [utf8.encode(kv.value.value.value)] }] },
  ]);
}

/** Sizes from the original bytes, for chunking spans that will be spliced. */
export function splicedSizes(located: LocatedSpans, appended: Map<Span, Uint8Array[]>): SpanSizes {
  const lengths = (ranges: Range[]) => ranges.reduce((sum, r) => sum + r.end - r.start, 0);
  return {
    span: ({ span }) => {
      const source = located.spans.get(span);
      const added = (appended.get(span) ?? []).reduce((sum, bytes) => sum + bytes.byteLength + FIELD_OVERHEAD, 0);
      return (source ? source.range.end - source.range.start : 0) + added + FIELD_OVERHEAD;
    },
    wrappers: ({ span }) => {
      const source = located.spans.get(span);
      const resource = source && located.scanned[source.resource];
      return resource ? lengths(resource.header) + lengths(resource.scopes[source.scope]!.header) + NESTING_OVERHEAD : 0;
    },
  };
}

/**
 * The request for these spans, made of the original bytes: each resource's and scope's own fields
 * and each span as it came, with only the attributes translation added encoded anew. Grouped by
 * resource and scope in order of first appearance, as regroup() does, so it decodes to the same
 * request. Undefined if a span has no known source.
 */
export function spliceRequest(located: LocatedSpans, placed: PlacedSpan[], appended: Map<Span, Uint8Array[]>): Uint8Array | undefined {
  const resources = new Map<number, Map<number, Piece[]>>();
  for (const { span } of placed) {
    const source = located.spans.get(span);
    if (!source) return undefined;
    let scopes = resources.get(source.resource);
    if (!scopes) {
      scopes = new Map();
      resources.set(source.resource, scopes);
    }
    let spans = scopes.get(source.scope);
    if (!spans) {
      spans = [];
      scopes.set(source.scope, spans);
    }
    const added = (appended.get(span) ?? []).map((bytes): Piece => ({ field: SPAN_ATTRIBUTES, pieces: [bytes] }));
    spans.push({ field: SPANS, pieces: [source.range, ...added] });
  }
  const pieces: Piece[] = [...resources].map(([r, scopes]) => {
    const resource = located.scanned[r]!;
    return {
      field: RESOURCE_SPANS,
      pieces: [
        ...resource.header,
        ...[...scopes].map(([s, spans]): Piece => ({ field: SCOPE_SPANS, pieces: [...resource.scopes[s]!.header, ...spans] })),
      ],
    };
  });
  return assemble(located.source, pieces);
}
