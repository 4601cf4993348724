import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import { ResourceSpansSchema, ScopeSpansSchema, SpanSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { RelayError } from "../http/errors.js";
import type { OtlpFormat } from "../otlp/format.js";
import type { IncomingResource, IncomingSpan } from "../otlp/incoming.js";
import { assemble, type Piece, type Range, scanRequest, TooManySpans, WireError } from "../otlp/wire.js";
import { readJsonSpans } from "./otlp-json.js";
import { checkMessageCount, MAX_SPANS_PER_REQUEST, NESTING_LEFT, tooManySpans } from "./request-limits.js";
import { SpanRejections } from "./validate.js";

/**
 * Reads a request one span at a time, handing each valid span to `visit` with its resource and
 * scope; spans with invalid ids are counted and left out (partial success). Nothing of a span is
 * kept once `visit` returns, so memory follows the largest span, not the request. Every failure is
 * the client's (400, 413), with a message saying what is wrong.
 */
export function readSpans(bytes: Uint8Array, format: OtlpFormat, visit: (incoming: IncomingSpan) => void): ReadSpans {
  const rejections = new SpanRejections();
  const admit = (incoming: IncomingSpan) => {
    if (rejections.admit(incoming.span)) visit(incoming);
  };
  if (format === "json") {
    readJsonSpans(bytes, admit);
    return { rejections, leftOutEmpty: false };
  }
  return { rejections, leftOutEmpty: readProtobufSpans(bytes, admit) };
}

export interface ReadSpans {
  rejections: SpanRejections;
  /**
   * Whether the request held a resource or scope without spans, which was never read: the request's
   * own bytes would still carry it, so they may be sent on only by a tenant that changes no header.
   */
  leftOutEmpty: boolean;
}

function readProtobufSpans(bytes: Uint8Array, visit: (incoming: IncomingSpan) => void): boolean {
  let request: ReturnType<typeof scanRequest>;
  try {
    request = scanRequest(bytes, MAX_SPANS_PER_REQUEST);
  } catch (err) {
    if (err instanceof TooManySpans) throw tooManySpans();
    throw malformed(err);
  }
  for (const scanned of request.resources) {
    const resource: IncomingResource = {
      resourceSpans: decodeHeader(ResourceSpansSchema, bytes, scanned.header, "resource"),
      header: scanned.header,
    };
    for (const { header, spans } of scanned.scopes) {
      const scope = { resource, scopeSpans: decodeHeader(ScopeSpansSchema, bytes, header, "scope"), header };
      for (const range of spans) visit({ span: decodeSpan(bytes, range), scope, range });
    }
  }
  return request.leftOutEmpty;
}

function decodeSpan(bytes: Uint8Array, range: Range) {
  guardWire(() => checkMessageCount(SpanSchema, bytes, range, "span"));
  try {
    return fromBinary(SpanSchema, bytes.subarray(range.start, range.end), { recursionLimit: NESTING_LEFT.span });
  } catch (err) {
    throw malformed(err);
  }
}

/** A ResourceSpans or ScopeSpans from its own fields, every one but its list. */
function decodeHeader<Desc extends DescMessage>(
  desc: Desc,
  bytes: Uint8Array,
  header: Piece[],
  what: keyof typeof NESTING_LEFT,
): MessageShape<Desc> {
  const own = assemble(bytes, header);
  guardWire(() => checkMessageCount(desc, own, { start: 0, end: own.byteLength }, what));
  try {
    return fromBinary(desc, own, { recursionLimit: NESTING_LEFT[what] });
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
