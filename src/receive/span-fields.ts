import { fromBinary } from "@bufbuild/protobuf";
import { type AnyValue, AnyValueSchema, type KeyValue, KeyValueSchema } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { type Span, Span_EventSchema, SpanSchema, type Status, StatusSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { recurringTextOf, textOf } from "../encoding/bytes.js";
import type { SpanFields } from "../otlp/incoming.js";
import { FieldCursor, type Range, WIRE_LEN, WIRE_VARINT } from "../otlp/wire.js";

/**
 * A span's ids, name, kind, attributes and status read straight from its bytes, for a request the wire check
 * vouched for (so the bytes are well formed, each known field of its type, every string UTF-8).
 * Decoding the whole span with protobuf-es builds every event, link and value, and turns each
 * payload into a string that translation would only turn back into bytes. The fields come out as
 * protobuf-es would decode them: the last of a repeated id or name, every attribute in order.
 */

const TRACE_ID = SpanSchema.field.traceId.number;
const SPAN_ID = SpanSchema.field.spanId.number;
const PARENT_SPAN_ID = SpanSchema.field.parentSpanId.number;
const NAME = SpanSchema.field.name.number;
const KIND = SpanSchema.field.kind.number;
const ATTRIBUTES = SpanSchema.field.attributes.number;
const EVENTS = SpanSchema.field.events.number;
const STATUS = SpanSchema.field.status.number;
const KEY = KeyValueSchema.field.key.number;
const VALUE = KeyValueSchema.field.value.number;
const STRING_VALUE = AnyValueSchema.field.stringValue.number;
const BOOL_VALUE = AnyValueSchema.field.boolValue.number;
const INT_VALUE = AnyValueSchema.field.intValue.number;
const DOUBLE_VALUE = AnyValueSchema.field.doubleValue.number;

/** Strings at least this long keep their bytes (see SpanFields.stringBytes): payloads, not names. */
const LONG_STRING = 256;

const NO_BYTES = new Uint8Array(0);

export function readSpanFields(bytes: Uint8Array, span: Range): SpanFields {
  const fields = new ReadSpanFields(bytes);
  const reader = new AttributeReader(bytes);
  const field = new FieldCursor(bytes, span.start, span.end);
  while (field.next()) {
    if (field.no === KIND && field.wireType === WIRE_VARINT)
      fields.kind = Number(BigInt.asIntN(32, int64At(bytes, field.valueStart, field.valueEnd)));
    if (field.wireType !== WIRE_LEN) continue;
    const { no, valueStart: start, valueEnd: end } = field;
    if (no === ATTRIBUTES) {
      const attribute = reader.keyValue(start, end);
      // Attributes of shapes read one by one by protobuf-es are cheaper decoded with the whole span.
      if (!attribute) return fromBinary(SpanSchema, bytes.subarray(span.start, span.end));
      fields.attributes.push(attribute);
      fields.attributeFields.push({ start: field.fieldStart, end });
    } else if (no === STATUS) {
      // A status sent twice is merged by a decoder: the whole span is decoded, as protobuf-es does it.
      if (fields.status) return fromBinary(SpanSchema, bytes.subarray(span.start, span.end));
      fields.status = statusAt(bytes, start, end);
    } else if (no === EVENTS) fields.eventFields.push({ start, end });
    else if (no === NAME) fields.name = recurringTextOf(bytes, start, end);
    else if (no === TRACE_ID) fields.traceId = bytes.subarray(start, end);
    else if (no === SPAN_ID) fields.spanId = bytes.subarray(start, end);
    else if (no === PARENT_SPAN_ID) fields.parentSpanId = bytes.subarray(start, end);
  }
  fields.stringBytes = reader.stringBytes;
  return fields;
}

/**
 * A span's fields as read from its bytes. Its events are decoded when something reads them (an
 * exception event saying why a span failed, message events restating the messages translation
 * wrote: process/failure.ts, genai-message-events.ts), which few spans need; their names alone,
 * which say whether a span has such events, are read without decoding them.
 */
class ReadSpanFields implements SpanFields {
  traceId: Uint8Array = NO_BYTES;
  spanId: Uint8Array = NO_BYTES;
  parentSpanId: Uint8Array = NO_BYTES;
  name = "";
  kind = 0;
  attributes: KeyValue[] = [];
  status: Status | undefined = undefined;
  stringBytes: Map<AnyValue, Uint8Array> | undefined = undefined;
  readonly attributeFields: Range[] = [];
  readonly eventFields: Range[] = [];
  private decodedEvents: Span["events"] | undefined;
  private readNames: string[] | undefined;

  constructor(private readonly bytes: Uint8Array) {}

  get events(): Span["events"] | undefined {
    if (this.eventFields.length === 0) return undefined;
    this.decodedEvents ??= this.eventFields.map(({ start, end }) => fromBinary(Span_EventSchema, this.bytes.subarray(start, end)));
    return this.decodedEvents;
  }

  get eventNames(): readonly string[] | undefined {
    if (this.eventFields.length === 0) return undefined;
    this.readNames ??= this.eventFields.map(({ start, end }) => eventNameAt(this.bytes, start, end));
    return this.readNames;
  }
}

const EVENT_NAME = Span_EventSchema.field.name.number;

/** A Span.Event's name, the last as protobuf-es reads it. */
function eventNameAt(bytes: Uint8Array, start: number, end: number): string {
  let name = "";
  const field = new FieldCursor(bytes, start, end);
  while (field.next())
    if (field.no === EVENT_NAME && field.wireType === WIRE_LEN) name = recurringTextOf(bytes, field.valueStart, field.valueEnd);
  return name;
}

/** A span with more attributes than this that the reader leaves to protobuf-es is decoded whole. */
const MAX_DECODED_ATTRIBUTES = 32;

/** Reads a span's attributes with one cursor for all of them: a span may have thousands. */
class AttributeReader {
  /** Made for the first long string: most spans have none. */
  stringBytes: Map<AnyValue, Uint8Array> | undefined;
  private readonly keyValueField: FieldCursor;
  private readonly valueField: FieldCursor;
  private decodedCount = 0;
  private view: DataView | undefined;

  constructor(private readonly bytes: Uint8Array) {
    this.keyValueField = new FieldCursor(bytes, 0, 0);
    this.valueField = new FieldCursor(bytes, 0, 0);
  }

  /**
   * A KeyValue: a key (the last, if repeated) and at most one value that is empty, a string, a bool,
   * an int or a double, read here; one with a list, a repeated value (which merges) or a value with
   * more than one field (the last member of the oneof wins) decoded by protobuf-es, so the result is
   * always what it would decode. Undefined once too many were: the caller decodes the whole span.
   */
  keyValue(start: number, end: number): KeyValue | undefined {
    const field = this.keyValueField.reset(start, end);
    let key = "";
    let value: AnyValue | undefined;
    let values = 0;
    while (field.next()) {
      if (field.no === KEY) key = recurringTextOf(this.bytes, field.valueStart, field.valueEnd);
      else if (field.no === VALUE && ++values === 1) value = this.scalar(field.valueStart, field.valueEnd);
      else if (field.no === VALUE) return this.decoded(start, end);
    }
    if (values === 1 && !value) return this.decoded(start, end);
    return { $typeName: KeyValueSchema.typeName, key, value };
  }

  private decoded(start: number, end: number): KeyValue | undefined {
    if (++this.decodedCount > MAX_DECODED_ATTRIBUTES) return undefined;
    return fromBinary(KeyValueSchema, this.bytes.subarray(start, end));
  }

  /** An AnyValue with no field, or one string, bool, int or double field; undefined for any other. */
  private scalar(start: number, end: number): AnyValue | undefined {
    const field = this.valueField.reset(start, end);
    if (!field.next()) return { $typeName: AnyValueSchema.typeName, value: { case: undefined } };
    const { no, valueStart, valueEnd } = field;
    if (field.next()) return undefined;
    switch (no) {
      case STRING_VALUE: {
        if (valueEnd - valueStart < LONG_STRING)
          return {
            $typeName: AnyValueSchema.typeName,
            value: { case: "stringValue", value: recurringTextOf(this.bytes, valueStart, valueEnd) },
          };
        const value = this.bytes.subarray(valueStart, valueEnd);
        const read: AnyValue = { $typeName: AnyValueSchema.typeName, value: new LongString(value) };
        this.stringBytes ??= new Map();
        this.stringBytes.set(read, value);
        return read;
      }
      case BOOL_VALUE:
        return {
          $typeName: AnyValueSchema.typeName,
          value: { case: "boolValue", value: int64At(this.bytes, valueStart, valueEnd) !== 0n },
        };
      case INT_VALUE:
        return { $typeName: AnyValueSchema.typeName, value: { case: "intValue", value: int64At(this.bytes, valueStart, valueEnd) } };
      case DOUBLE_VALUE: {
        this.view ??= new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
        return { $typeName: AnyValueSchema.typeName, value: { case: "doubleValue", value: this.view.getFloat64(valueStart, true) } };
      }
      default:
        return undefined;
    }
  }
}

const STATUS_MESSAGE = StatusSchema.field.message.number;
const STATUS_CODE = StatusSchema.field.code.number;

/** A Status's code and message, the last of each as protobuf-es reads them; a span's status is read on every span that has one. */
function statusAt(bytes: Uint8Array, start: number, end: number): Status {
  const status: Status = { $typeName: StatusSchema.typeName, message: "", code: 0 };
  const field = new FieldCursor(bytes, start, end);
  while (field.next()) {
    if (field.no === STATUS_MESSAGE && field.wireType === WIRE_LEN)
      status.message = recurringTextOf(bytes, field.valueStart, field.valueEnd);
    else if (field.no === STATUS_CODE && field.wireType === WIRE_VARINT)
      status.code = Number(BigInt.asIntN(32, int64At(bytes, field.valueStart, field.valueEnd)));
  }
  return status;
}

/** A varint in [start, end) as int64 (two's complement, bits past 64 dropped), as protobuf-es reads one. */
function int64At(bytes: Uint8Array, start: number, end: number): bigint {
  // Up to 7 bytes hold 49 bits: exact as a number.
  if (end - start <= 7) {
    let value = 0;
    for (let i = end - 1; i >= start; i--) value = value * 128 + (bytes[i]! & 0x7f);
    return BigInt(value);
  }
  let value = 0n;
  for (let i = end - 1; i >= start; i--) value = (value << 7n) | BigInt(bytes[i]! & 0x7f);
  return BigInt.asIntN(64, value);
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
    this.text ??= textOf(this.bytes);
    return this.text;
  }
}
