import { assemble, type Piece, scanRequest, sizeOf } from "./wire.js";

/**
 * Spans on their way out, as bytes: each span, and the fields of the resource and scope it was sent
 * under, are pieces of the request they came in (copied, never decoded and encoded again) or bytes
 * encoded anew. Requests for Braintrust and queue messages are assembled from them, so a request's
 * spans are never held as decoded objects all at once.
 */

/** Every field of a ResourceSpans or ScopeSpans but its list (resource or scope, schema_url, unknown fields), tags included. */
export interface OutgoingHeader {
  pieces: Piece[];
  size: number;
}

export interface OutgoingScope {
  resource: OutgoingHeader;
  header: OutgoingHeader;
}

export interface OutgoingSpan {
  scope: OutgoingScope;
  /** The Span message's fields, without its own tag and length. */
  pieces: Piece[];
  size: number;
}

/** Field numbers: ExportTraceServiceRequest.resource_spans, ResourceSpans.scope_spans, ScopeSpans.spans. */
const RESOURCE_SPANS = 1;
const SCOPE_SPANS = 2;
const SPANS = 2;

/** A length-delimited field's tag plus a length prefix of up to 5 bytes. */
const FIELD_OVERHEAD = 6;

export function outgoingHeader(pieces: Piece[]): OutgoingHeader {
  return { pieces, size: sizeOf(pieces) };
}

/** The spans of a request as they came: every span, resource and scope a range of `bytes`. Throws what scanRequest throws. */
export function outgoingSpansOf(bytes: Uint8Array): OutgoingSpan[] {
  const spans: OutgoingSpan[] = [];
  for (const resource of scanRequest(bytes).resources) {
    const resourceHeader = outgoingHeader(resource.header);
    for (const scope of resource.scopes) {
      const outgoingScope = { resource: resourceHeader, header: outgoingHeader(scope.header) };
      for (const range of scope.spans) spans.push({ scope: outgoingScope, pieces: [range], size: range.end - range.start });
    }
  }
  return spans;
}

/** The most bytes a request of these spans takes (length prefixes counted at their longest), known before it is assembled. */
export function sizeBound(spans: readonly OutgoingSpan[]): number {
  const scopes = new Set<OutgoingScope>();
  const resources = new Set<OutgoingHeader>();
  let size = 0;
  for (const span of spans) {
    size += addedSize(span, scopes, resources);
    scopes.add(span.scope);
    resources.add(span.scope.resource);
  }
  return size;
}

/** What a span adds to a request: its bytes, and its scope's and resource's the first time the request needs them. */
function addedSize(span: OutgoingSpan, scopes: Set<OutgoingScope>, resources: Set<OutgoingHeader>): number {
  let size = span.size + FIELD_OVERHEAD;
  if (!scopes.has(span.scope)) size += span.scope.header.size + FIELD_OVERHEAD;
  if (!resources.has(span.scope.resource)) size += span.scope.resource.size + FIELD_OVERHEAD;
  return size;
}

/**
 * Groups spans, in order, into requests of at most `maxBytes` (an upper bound: length prefixes are
 * counted at their longest). A span too large on its own comes out alone, over the limit.
 */
export function chunkBySize(spans: readonly OutgoingSpan[], maxBytes: number): OutgoingSpan[][] {
  const chunks: OutgoingSpan[][] = [];
  let current: OutgoingSpan[] = [];
  let scopes = new Set<OutgoingScope>();
  let resources = new Set<OutgoingHeader>();
  let size = 0;
  for (const span of spans) {
    if (current.length > 0 && size + addedSize(span, scopes, resources) > maxBytes) {
      chunks.push(current);
      current = [];
      scopes = new Set();
      resources = new Set();
      size = 0;
    }
    size += addedSize(span, scopes, resources);
    scopes.add(span.scope);
    resources.add(span.scope.resource);
    current.push(span);
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * The ExportTraceServiceRequest of these spans, each under its own resource and scope, grouped by
 * resource and scope in order of first appearance.
 */
export function assembleRequest(source: Uint8Array, spans: readonly OutgoingSpan[]): Uint8Array {
  const resources = new Map<OutgoingHeader, Map<OutgoingScope, Piece[]>>();
  for (const span of spans) {
    let scopes = resources.get(span.scope.resource);
    if (!scopes) {
      scopes = new Map();
      resources.set(span.scope.resource, scopes);
    }
    let list = scopes.get(span.scope);
    if (!list) {
      list = [];
      scopes.set(span.scope, list);
    }
    list.push({ field: SPANS, pieces: span.pieces });
  }
  const pieces: Piece[] = [...resources].map(([resource, scopes]) => ({
    field: RESOURCE_SPANS,
    pieces: [
      ...resource.pieces,
      ...[...scopes].map(([scope, list]): Piece => ({ field: SCOPE_SPANS, pieces: [...scope.header.pieces, ...list] })),
    ],
  }));
  return assemble(source, pieces);
}

/** An assembled request and how many spans it carries. */
export interface RequestPiece {
  protobuf: Uint8Array;
  spans: number;
}

/**
 * A piece of a split request: `at`, its place among the pieces cut by size (a place left empty by a
 * span that went `together`), or `together`, its place among the pieces of such spans.
 */
export type SplitPiece = RequestPiece & ({ at: number } | { together: number });

/**
 * The request's spans in pieces of at most `maxBytes` (a single span over it alone). A span over it
 * only with its resource and scope, which every piece would carry again, goes instead with the others
 * like it, in pieces of at most `togetherBytes`: alone, each would copy a large resource once a span.
 */
export function splitRequest(bytes: Uint8Array, maxBytes: number, togetherBytes: number): SplitPiece[] {
  const overByTheirHeaders: OutgoingSpan[] = [];
  const cut = chunkBySize(outgoingSpansOf(bytes), maxBytes).flatMap((chunk, at) => {
    const [only] = chunk;
    if (chunk.length === 1 && only!.size < maxBytes && sizeBound(chunk) > maxBytes) {
      overByTheirHeaders.push(only!);
      return [];
    }
    return [{ at, chunk }];
  });
  const together = chunkBySize(overByTheirHeaders, togetherBytes).map((chunk, together) => ({ together, chunk }));
  return [...cut, ...together].map(({ chunk, ...place }) => ({ ...place, protobuf: assembleRequest(bytes, chunk), spans: chunk.length }));
}

/** The request's spans in two halves by count, for answering Braintrust's 413; undefined for a single span. */
export function halveRequest(bytes: Uint8Array): [RequestPiece, RequestPiece] | undefined {
  const spans = outgoingSpansOf(bytes);
  if (spans.length < 2) return undefined;
  const middle = Math.ceil(spans.length / 2);
  const half = (part: OutgoingSpan[]): RequestPiece => ({ protobuf: assembleRequest(bytes, part), spans: part.length });
  return [half(spans.slice(0, middle)), half(spans.slice(middle))];
}
