import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import { ResourceSpansSchema, ScopeSpansSchema, SpanSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { RelayError } from "../http/errors.js";
import type { OtlpFormat } from "../otlp/format.js";
import type { IncomingResource, IncomingSpan } from "../otlp/incoming.js";
import { assemble, type Piece, type Range, scanRequest, TooManySpans, WireError } from "../otlp/wire.js";
import { readJsonSpans } from "./otlp-json.js";
import { checkMessageCount, MAX_NESTING, MAX_SPANS_PER_REQUEST, tooManySpans } from "./request-limits.js";
import { SpanRejections } from "./validate.js";

/** Nesting left for a span's own fields: it sits under the request, its ResourceSpans and its ScopeSpans. */
const SPAN_NESTING = MAX_NESTING - 3;

/**
 * Reads a request one span at a time, handing each valid span to `visit` with its resource and
 * scope; spans with invalid ids are counted and left out (partial success). Nothing of a span is
 * kept once `visit` returns, so memory follows the largest span, not the request. Every failure is
 * the client's (400, 413), with a message saying what is wrong.
 */
export function readSpans(bytes: Uint8Array, format: OtlpFormat, visit: (incoming: IncomingSpan) => void): SpanRejections {
  const rejections = new SpanRejections();
  const admit = (incoming: IncomingSpan) => {
    if (rejections.admit(incoming.span)) visit(incoming);
  };
  if (format === "json") readJsonSpans(bytes, admit);
  else readProtobufSpans(bytes, admit);
  return rejections;
}

function readProtobufSpans(bytes: Uint8Array, visit: (incoming: IncomingSpan) => void): void {
  let resources: ReturnType<typeof scanRequest>;
  try {
    resources = scanRequest(bytes, MAX_SPANS_PER_REQUEST);
  } catch (err) {
    if (err instanceof TooManySpans) throw tooManySpans();
    throw malformed(err);
  }
  for (const scanned of resources) {
    const resource: IncomingResource = {
      resourceSpans: decodeHeader(ResourceSpansSchema, bytes, scanned.header, "resource"),
      header: scanned.header,
    };
    for (const { header, spans } of scanned.scopes) {
      const scope = { resource, scopeSpans: decodeHeader(ScopeSpansSchema, bytes, header, "scope"), header };
      for (const range of spans) visit({ span: decodeSpan(bytes, range), scope, range });
    }
  }
}

function decodeSpan(bytes: Uint8Array, range: Range) {
  guardWire(() => checkMessageCount(SpanSchema, bytes, range, "span"));
  try {
    return fromBinary(SpanSchema, bytes.subarray(range.start, range.end), { recursionLimit: SPAN_NESTING });
  } catch (err) {
    throw malformed(err);
  }
}

/** A ResourceSpans or ScopeSpans from its own fields, every one but its list. */
function decodeHeader<Desc extends DescMessage>(desc: Desc, bytes: Uint8Array, header: Piece[], what: string): MessageShape<Desc> {
  const own = assemble(bytes, header);
  guardWire(() => checkMessageCount(desc, own, { start: 0, end: own.byteLength }, what));
  try {
    return fromBinary(desc, own, { recursionLimit: SPAN_NESTING });
  } catch (err) {
    throw malformed(err);
  }
}

function guardWire(check: () => void): void {
  try {
    check();
  } catch (err) {
    if (err instanceof WireError) throw malformed(err);
    throw err;
  }
}

/** The decoder's own words, which say what is wrong ("premature EOF", "maximum recursion depth of 97 reached"…), shortened. */
function malformed(err: unknown): RelayError {
  const words = (err instanceof Error ? err.message : String(err)).slice(0, 300);
  return new RelayError("malformed", `request body is not a valid ExportTraceServiceRequest: ${words}`);
}
