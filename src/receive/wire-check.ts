import { isUtf8 } from "node:buffer";
import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { ExportTraceServiceRequestSchema } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { ResourceSpansSchema, ScopeSpansSchema, Span_LinkSchema, SpanSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { hasZeroParent } from "../otlp/root.js";
import { eachField, LEGACY_SCOPE_SPANS, type Range, WIRE_I32, WIRE_I64, WIRE_LEN, WIRE_VARINT, wireTypeOf } from "../otlp/wire.js";
import { MAX_HEADER_FIELDS_PER_REQUEST, MAX_MESSAGES_PER_SPAN } from "./request-limits.js";
import { invalidLinkReason, invalidSpanReason } from "./validate.js";

/**
 * Checks a protobuf ExportTraceServiceRequest without building it: every field has the wire type
 * the generated schema gives it, every length fits, every string is UTF-8, and every span's and
 * link's ids are valid. It is deliberately stricter than the full path (read-spans.ts), so whatever
 * it accepts, that path decodes and keeps whole; anything it does not vouch for (groups, packed or
 * map fields, deep nesting, odd varints, an invalid span or link, a span over the limit of
 * messages) takes the full path, which gives the client its error. So does a root sent with a
 * parent_span_id of zeros (otlp/root.ts): it must not go on as it came, and that path sends it
 * without one. A request whose ids or text alone it does not vouch for is framed as that path would
 * check it (every field of its wire type, every message within its limits), which that path then
 * need not check again; text that is not UTF-8 is mended first (text-repair.ts).
 */

/** protobuf-es refuses messages nested deeper than 100; far below that, the full decode decides. */
const MAX_DEPTH = 64;

/** How to check one field: its wire type, and whether it is a nested message or a UTF-8 string. */
interface FieldCheck {
  /** False for what is not vouched for: groups, packed and map fields. */
  supported: boolean;
  wireType: number;
  message: MessageCheck | undefined;
  utf8: boolean;
  /** A list of strings or bytes, each item a value of its own, counted as read-spans.ts counts them. */
  stringList?: boolean;
}

export interface MessageCheck {
  /** By field number; numbers past the end, or holes, are unknown fields (kept by protobuf-es). */
  fields: (FieldCheck | undefined)[];
  isSpan: boolean;
  isLink: boolean;
  /** A ResourceSpans or ScopeSpans: the number of its list, whose other fields the request's scan keeps (MAX_HEADER_FIELDS_PER_REQUEST). */
  listField: number | undefined;
}

class Unvouched extends Error {}

const checks = new Map<DescMessage, MessageCheck>();

export function messageCheck(desc: DescMessage): MessageCheck {
  let check = checks.get(desc);
  if (check) return check;
  check = {
    fields: [],
    isSpan: desc === SpanSchema,
    isLink: desc === Span_LinkSchema,
    listField:
      desc === ResourceSpansSchema
        ? ResourceSpansSchema.field.scopeSpans.number
        : desc === ScopeSpansSchema
          ? ScopeSpansSchema.field.spans.number
          : undefined,
  };
  // Registered before its fields, so recursive types (AnyValue in ArrayValue) resolve to it.
  checks.set(desc, check);
  for (const field of desc.fields) check.fields[field.number] = fieldCheck(field);
  // Spans the scan may read there (otlp/wire.ts): the full path checks them, and sends them as scope_spans.
  if (desc === ResourceSpansSchema) check.fields[LEGACY_SCOPE_SPANS] = UNSUPPORTED;
  return check;
}

const UNSUPPORTED: FieldCheck = { supported: false, wireType: -1, message: undefined, utf8: false };

function fieldCheck(field: DescField): FieldCheck {
  switch (field.fieldKind) {
    case "message":
      return nestedCheck(field.message, field.delimitedEncoding);
    case "enum":
      return scalarCheck(ScalarType.INT32, false);
    case "scalar":
      return scalarCheck(field.scalar, field.utf8Validation);
    case "list":
      if (field.listKind === "message") return nestedCheck(field.message, field.delimitedEncoding);
      // Other scalars may come packed; no OTLP trace field is one, so they are not vouched for.
      return field.listKind === "scalar" && (field.scalar === ScalarType.STRING || field.scalar === ScalarType.BYTES)
        ? { ...scalarCheck(field.scalar, field.utf8Validation), stringList: true }
        : UNSUPPORTED;
    case "map":
      return UNSUPPORTED;
  }
}

/** A nested message, length-delimited; groups (delimited encoding) are not vouched for. */
function nestedCheck(desc: DescMessage, delimitedEncoding: boolean): FieldCheck {
  return delimitedEncoding ? UNSUPPORTED : { supported: true, wireType: WIRE_LEN, message: messageCheck(desc), utf8: false };
}

function scalarCheck(scalar: ScalarType, utf8Validation: boolean): FieldCheck {
  return { supported: true, wireType: wireTypeOf(scalar), message: undefined, utf8: scalar === ScalarType.STRING && utf8Validation };
}

export interface WireCheck {
  spans: number;
  /**
   * Whether every span and link passes validation, none a root with a parent of zeros, and every
   * string is UTF-8: the bytes may go as they came.
   */
  vouched: boolean;
  /** Whether every string is UTF-8; when not, the request is framed all the same (text-repair.ts). */
  textValid: boolean;
}

/** What the check found of a well-formed request; undefined when only the full decode can say. */
export function checkWire(bytes: Uint8Array): WireCheck | undefined {
  const walker = new Walker(bytes);
  try {
    walker.message(messageCheck(ExportTraceServiceRequestSchema), 0, bytes.length, 1);
  } catch (err) {
    if (err instanceof Unvouched) return undefined;
    throw err;
  }
  return { spans: walker.spans, vouched: walker.idsValid && walker.textValid, textValid: walker.textValid };
}

/**
 * Whether every string of a message (a span, or a resource's or scope's own fields), at any depth,
 * is UTF-8 as a strict decoder reads it: the message's framing checked already (read-spans.ts),
 * this tells a message protobuf-es refused for its text from one refused for its shape. Deeper than
 * the decoder goes (`nestingLeft`, its limit for that message) is its error to report, not looked at.
 */
export function stringsAreUtf8(desc: DescMessage, bytes: Uint8Array, range: Range, nestingLeft: number): boolean {
  const walk = (check: MessageCheck, start: number, end: number, depth: number): boolean => {
    if (depth > nestingLeft) return true;
    let valid = true;
    eachField(bytes, start, end, (no, wireType, value) => {
      const field = check.fields[no];
      if (!valid || field === undefined || wireType !== WIRE_LEN || field.wireType !== WIRE_LEN) return;
      if (field.message !== undefined) valid = walk(field.message, value.start, value.end, depth + 1);
      else if (field.utf8) valid = isUtf8(bytes.subarray(value.start, value.end));
    });
    return valid;
  };
  return walk(messageCheck(desc), range.start, range.end, 1);
}

const TRACE_ID = SpanSchema.field.traceId.number;
const SPAN_ID = SpanSchema.field.spanId.number;
const PARENT_SPAN_ID = SpanSchema.field.parentSpanId.number;
const LINK_TRACE_ID = Span_LinkSchema.field.traceId.number;
const LINK_SPAN_ID = Span_LinkSchema.field.spanId.number;
const NO_BYTES: Uint8Array = new Uint8Array(0);

class Walker {
  spans = 0;
  /** False once a span or link has invalid ids, or a root a parent of zeros; the walk goes on, for the framing. */
  idsValid = true;
  /** False once a string is not UTF-8; the walk goes on, for the framing. */
  textValid = true;
  /**
   * Messages, items of lists of strings and unknown fields in the span, or a ResourceSpans's or
   * ScopeSpans's own fields, being walked, counted as read-spans.ts counts them to refuse more than
   * the limit (a span's own message not among them, a resource's or scope's among them); -1 outside them.
   */
  private counted = -1;
  /** The fields of the request's ResourceSpans and ScopeSpans besides their lists, as its scan counts them. */
  private headerFields = 0;
  /** Where the last varint read ended. */
  private next = 0;

  constructor(private readonly bytes: Uint8Array) {}

  message(check: MessageCheck, start: number, end: number, depth: number): void {
    if (depth > MAX_DEPTH) throw new Unvouched();
    // A span, and a ResourceSpans's or ScopeSpans's own fields (its list apart), are counted each on its own.
    const outer = this.counted;
    const countedApart = check.isSpan || check.listField !== undefined;
    if (countedApart) this.counted = 0;
    else if (this.counted >= 0 && ++this.counted > MAX_MESSAGES_PER_SPAN) throw new Unvouched();
    const bytes = this.bytes;
    // A span's or link's ids: the last occurrence of each counts, as in protobuf-es.
    let traceId = NO_BYTES;
    let spanId = NO_BYTES;
    let parentSpanId = NO_BYTES;
    let at = start;
    while (at < end) {
      const tag = this.varint32(at, end);
      at = this.next;
      const no = tag >>> 3;
      const wireType = tag & 7;
      if (no === 0) throw new Unvouched();
      const field = check.fields[no];
      if (field !== undefined && (!field.supported || field.wireType !== wireType)) throw new Unvouched();
      if ((field === undefined || field.stringList) && this.counted >= 0 && ++this.counted > MAX_MESSAGES_PER_SPAN) throw new Unvouched();
      if (no !== check.listField && check.listField !== undefined && ++this.headerFields > MAX_HEADER_FIELDS_PER_REQUEST)
        throw new Unvouched();
      if (wireType === WIRE_LEN) {
        const length = this.varint32(at, end);
        at = this.next + length;
        if (at > end) throw new Unvouched();
        if (field === undefined) continue;
        if (field.message !== undefined) this.message(field.message, this.next, at, depth + 1);
        else if (field.utf8) {
          if (this.textValid && !isUtf8Text(bytes, at - length, at)) this.textValid = false;
        } else if (check.isSpan) {
          if (no === TRACE_ID) traceId = bytes.subarray(at - length, at);
          else if (no === SPAN_ID) spanId = bytes.subarray(at - length, at);
          else if (no === PARENT_SPAN_ID) parentSpanId = bytes.subarray(at - length, at);
        } else if (check.isLink) {
          if (no === LINK_TRACE_ID) traceId = bytes.subarray(at - length, at);
          else if (no === LINK_SPAN_ID) spanId = bytes.subarray(at - length, at);
        }
      } else if (wireType === WIRE_VARINT) {
        // Up to 10 bytes, as protobuf-es reads any varint.
        const limit = Math.min(end, at + 10);
        while (at < limit && bytes[at]! >= 0x80) at++;
        if (at === limit) throw new Unvouched();
        at++;
      } else if (wireType === WIRE_I64) {
        at += 8;
      } else if (wireType === WIRE_I32) {
        at += 4;
      } else {
        throw new Unvouched();
      }
      if (at > end) throw new Unvouched();
    }
    if (check.isSpan) {
      const ids = { traceId, spanId, parentSpanId };
      if (invalidSpanReason(ids) !== undefined || hasZeroParent(ids)) this.idsValid = false;
      this.spans++;
    } else if (check.isLink && invalidLinkReason({ traceId, spanId }) !== undefined) this.idsValid = false;
    if (countedApart) this.counted = outer;
  }

  /** A tag or length: a varint of at most 5 bytes that fits in 32 bits, as protobuf-es reads both. */
  private varint32(at: number, end: number): number {
    const bytes = this.bytes;
    const first = bytes[at]!;
    if (first < 0x80 && at < end) {
      this.next = at + 1;
      return first;
    }
    let value = 0;
    for (let i = 0; i < 5 && at + i < end; i++) {
      const byte = bytes[at + i]!;
      if (i === 4 && byte > 0x0f) break;
      value += (byte & 0x7f) * 2 ** (7 * i);
      if (byte < 0x80) {
        this.next = at + i + 1;
        return value;
      }
    }
    throw new Unvouched();
  }
}

/**
 * Short strings are checked here (most are ASCII keys); longer ones by node:buffer's isUtf8, which
 * checks them as UTF-8 as a strict decoder does, without making a string of them: a request's
 * payloads are most of its bytes, and decoding them only to let the text go cost several times as much.
 */
const SHORT_STRING = 32;

function isUtf8Text(bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start <= SHORT_STRING) {
    let i = start;
    while (i < end && bytes[i]! < 0x80) i++;
    if (i === end) return true;
  }
  return isUtf8(bytes.subarray(start, end));
}
