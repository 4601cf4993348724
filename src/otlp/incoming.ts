import type { ResourceSpans, ScopeSpans, Span } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import type { Piece, Range } from "./wire.js";

/**
 * A request's spans as they are read, one at a time: each decoded span with the resource and scope
 * it was sent under, decoded once per resource and scope, and where its bytes were in the request.
 */

export interface IncomingResource {
  /** The resource's own fields, decoded; `scopeSpans` is always empty. */
  resourceSpans: ResourceSpans;
  /** Those fields as bytes: ranges of the request, or encoded anew (JSON input). */
  header: Piece[];
}

export interface IncomingScope {
  resource: IncomingResource;
  /** The scope's own fields, decoded; `spans` is always empty. */
  scopeSpans: ScopeSpans;
  header: Piece[];
}

export interface IncomingSpan {
  span: Span;
  scope: IncomingScope;
  /** Where the span's bytes are in the request; none for JSON input. */
  range: Range | undefined;
}
