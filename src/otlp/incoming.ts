import type { AnyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import type { ResourceSpans, ScopeSpans, Span } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import type { Piece, Range } from "./wire.js";

/**
 * A request's spans as they are read, one at a time: each span with the resource and scope it was
 * sent under, and where its bytes were in the request. What is decoded is decoded once per span,
 * resource and scope; from a request the wire check vouched for, only when something asks.
 */

export interface IncomingResource {
  /** The resource's own fields, decoded; `scopeSpans` is always empty. */
  readonly resourceSpans: ResourceSpans;
  /** Those fields as bytes: ranges of the request, or encoded anew (JSON input). */
  header: Piece[];
}

export interface IncomingScope {
  resource: IncomingResource;
  /** The scope's own fields, decoded; `spans` is always empty. */
  readonly scopeSpans: ScopeSpans;
  header: Piece[];
}

/**
 * What routing, filtering and translation read of a span: its ids, name, attributes and status. A decoded
 * Span is one; a span read from its bytes (see receive/span-fields.ts) is only these.
 */
export interface SpanFields extends Pick<Span, "traceId" | "spanId" | "parentSpanId" | "name" | "kind" | "attributes" | "status"> {
  /** Long string values' UTF-8 as the request holds it, when the span was read from its bytes: used as it is, not encoded again. */
  readonly stringBytes?: ReadonlyMap<AnyValue, Uint8Array>;
  /**
   * Where each attribute's field is in the request, tag included, in the order of `attributes`, when
   * the span was read from its bytes: an edit leaves out the attributes it removes without reading
   * the span again.
   */
  readonly attributeFields?: readonly Range[];
  /**
   * The span's events: a decoded span's; of one read from its bytes, decoded when first read
   * (receive/span-fields.ts).
   */
  readonly events?: Span["events"];
  /** The names of the span's events, in order, when the span was read from its bytes: read without decoding its events. */
  readonly eventNames?: readonly string[];
}

export interface IncomingSpan {
  /** The whole span, decoded (on first use, for a span of a request the wire check vouched for). */
  readonly span: Span;
  /** Its ids, name and attributes: the decoded span once there is one, else read without decoding the rest. */
  readonly fields: SpanFields;
  scope: IncomingScope;
  /** Where the span's bytes are in the request; none for JSON input. */
  range: Range | undefined;
}

/**
 * What the request held that was never read: resources or scopes without spans, which its own bytes
 * still carry. "checked": the wire check found them well formed, so the bytes may be sent on by a
 * tenant that changes no header. "unchecked": nothing read them past their framing, and a decoder
 * refusing them (text that is not UTF-8, a field of another wire type inside) would refuse the
 * whole request with them, so its own bytes are not sent; nor are they when spans were read where
 * today's decoders do not look (instrumentation_library_spans, otlp/wire.ts).
 */
export type LeftOut = "nothing" | "checked" | "unchecked";
