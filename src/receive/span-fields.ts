import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { type AnyValue, AnyValueSchema, type KeyValue, KeyValueSchema } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { SpanSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import type { SpanFields } from "../otlp/incoming.js";
import { FieldCursor, type Range, WIRE_LEN } from "../otlp/wire.js";

/**
 * A span's ids, name and attributes read straight from its bytes, for a request the wire check
 * vouched for (so the bytes are well formed, each known field of its type, every string UTF-8).
 * Decoding the whole span with protobuf-es builds every event, link and value, and turns each
 * payload into a string that translation would only turn back into bytes. The fields come out as
 * protobuf-es would decode them: the last of a repeated id or name, every attribute in order.
 */

const TRACE_ID = SpanSchema.field.traceId.number;
const SPAN_ID = SpanSchema.field.spanId.number;
const PARENT_SPAN_ID = SpanSchema.field.parentSpanId.number;
const NAME = SpanSchema.field.name.number;
const ATTRIBUTES = SpanSchema.field.attributes.number;
const KEY = KeyValueSchema.field.key.number;
const VALUE = KeyValueSchema.field.value.number;
const STRING_VALUE = AnyValueSchema.field.stringValue.number;
const BOOL_VALUE = AnyValueSchema.field.boolValue.number;
const INT_VALUE = AnyValueSchema.field.intValue.number;
const DOUBLE_VALUE = AnyValueSchema.field.doubleValue.number;

/** Strings at least this long keep their bytes (see SpanFields.stringBytes): payloads, not names. */
const LONG_STRING = 256;

const utf8 = new TextDecoder();
const NO_BYTES = new Uint8Array(0);

export function readSpanFields(bytes: Uint8Array, span: Range): SpanFields {
  const fields: { -readonly [K in keyof SpanFields]: SpanFields[K] } = {
    traceId: NO_BYTES,
    spanId: NO_BYTES,
    parentSpanId: NO_BYTES,
    name: "",
    attributes: [],
  };
  const reader = new AttributeReader(bytes);
  const field = new FieldCursor(bytes, span.start, span.end);
  while (field.next()) {
    if (field.wireType !== WIRE_LEN) continue;
    const { no, valueStart: start, valueEnd: end } = field;
    if (no === ATTRIBUTES) fields.attributes.push(reader.keyValue(start, end));
    else if (no === NAME) fields.name = utf8.decode(bytes.subarray(start, end));
    else if (no === TRACE_ID) fields.traceId = bytes.subarray(start, end);
    else if (no === SPAN_ID) fields.spanId = bytes.subarray(start, end);
    else if (no === PARENT_SPAN_ID) fields.parentSpanId = bytes.subarray(start, end);
  }
  if (reader.stringBytes.size > 0) fields.stringBytes = reader.stringBytes;
  return fields;
}

/** Reads a span's attributes with one cursor for all of them: a span may have hundreds. */
class AttributeReader {
  readonly stringBytes = new Map<AnyValue, Uint8Array>();
  private readonly keyValueField: FieldCursor;
  private readonly valueField: FieldCursor;

  constructor(private readonly bytes: Uint8Array) {
    this.keyValueField = new FieldCursor(bytes, 0, 0);
    this.valueField = new FieldCursor(bytes, 0, 0);
  }

  /**
   * A KeyValue: the common shape (a key, then one string, bool, int or double value, each once)
   * read here; any other (a list, a repeated or unknown field, a missing part) decoded by
   * protobuf-es, so the result is always what it would decode.
   */
  keyValue(start: number, end: number): KeyValue {
    const field = this.keyValueField.reset(start, end);
    if (!field.next() || field.no !== KEY) return this.decoded(start, end);
    const keyStart = field.valueStart;
    const keyEnd = field.valueEnd;
    if (!field.next() || field.no !== VALUE) return this.decoded(start, end);
    const value = this.scalar(field.valueStart, field.valueEnd);
    if (!value || field.next()) return this.decoded(start, end);
    return { $typeName: KeyValueSchema.typeName, key: utf8.decode(this.bytes.subarray(keyStart, keyEnd)), value };
  }

  private decoded(start: number, end: number): KeyValue {
    return fromBinary(KeyValueSchema, this.bytes.subarray(start, end));
  }

  /** An AnyValue of exactly one string, bool, int or double field; undefined for any other. */
  private scalar(start: number, end: number): AnyValue | undefined {
    const field = this.valueField.reset(start, end);
    if (!field.next()) return undefined;
    const { no, valueStart, valueEnd } = field;
    if (field.next()) return undefined;
    const value = this.bytes.subarray(valueStart, valueEnd);
    switch (no) {
      case STRING_VALUE: {
        if (value.byteLength < LONG_STRING)
          return { $typeName: AnyValueSchema.typeName, value: { case: "stringValue", value: utf8.decode(value) } };
        const read: AnyValue = { $typeName: AnyValueSchema.typeName, value: new LongString(value) };
        this.stringBytes.set(read, value);
        return read;
      }
      case BOOL_VALUE:
        return { $typeName: AnyValueSchema.typeName, value: { case: "boolValue", value: new BinaryReader(value).bool() } };
      case INT_VALUE:
        return { $typeName: AnyValueSchema.typeName, value: { case: "intValue", value: BigInt(new BinaryReader(value).int64()) } };
      case DOUBLE_VALUE:
        return { $typeName: AnyValueSchema.typeName, value: { case: "doubleValue", value: new BinaryReader(value).double() } };
      default:
        return undefined;
    }
  }
}

/**
 * A long string value, decoded when first read: translation takes a payload's bytes as they are
 * (SpanFields.stringBytes), so its text is needed only by what reads it as text, such as a route on
 * it, and most never are.
 */
class LongString {
  readonly case = "stringValue";
  private text: string | undefined;

  constructor(private readonly bytes: Uint8Array) {}

  get value(): string {
    this.text ??= utf8.decode(this.bytes);
    return this.text;
  }
}
