import { create } from "@bufbuild/protobuf";
import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { type Status, Status_StatusCode, StatusSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { slabBytes, textOf, utf8Of } from "../encoding/bytes.js";
import type { SpanFields } from "./incoming.js";
import { assemble, FieldCursor, type Piece, type Range, WIRE_LEN, WIRE_VARINT } from "./wire.js";

/** Field numbers: Span.parent_span_id, Span.attributes, Span.events, Span.status; Status.message, Status.code; KeyValue.key, KeyValue.value; AnyValue.string_value, AnyValue.array_value; ArrayValue.values. */
const SPAN_PARENT_SPAN_ID = 4;
const SPAN_ATTRIBUTES = 9;
const SPAN_EVENTS = 11;
const SPAN_STATUS = 15;
const STATUS_MESSAGE = 2;
const STATUS_CODE = 3;
const KEY_VALUE_KEY = 1;
const KEY_VALUE_VALUE = 2;
const STRING_VALUE = 1;
const ARRAY_VALUE = 5;
const ARRAY_VALUES = 1;

const NOTHING = new Uint8Array();

/**
 * Status.code ERROR as a field. The status written beside a span's own is merged with it by a
 * decoder, each field given winning: both are written, an empty message too (which an encoder
 * leaves out as the default), or the span's own message would stay beside the new code.
 */
const ERROR_CODE = new Uint8Array([(STATUS_CODE << 3) | WIRE_VARINT, Status_StatusCode.ERROR]);

/**
 * An attribute to write: a string as its UTF-8 (mostly JSON text, large ones a payload's messages,
 * the request's own bytes, never turned into a string), or a list of strings.
 */
export type NewAttribute = { key: string; utf8: Uint8Array } | { key: string; strings: string[] };

/**
 * KeyValue key fields (tag, length and key) already encoded, since encoding a short string costs
 * more than copying it: translation writes the same few braintrust.* keys on every span. Bounded,
 * whatever the caller writes.
 */
const keyFields = new Map<string, Uint8Array>();
const MAX_KEY_FIELDS = 64;

function keyField(key: string): Uint8Array {
  let encoded = keyFields.get(key);
  if (!encoded) {
    encoded = assemble(NOTHING, [{ field: KEY_VALUE_KEY, pieces: [utf8Of(key)] }]);
    if (keyFields.size < MAX_KEY_FIELDS) keyFields.set(key, encoded);
  }
  return encoded;
}

function keyValuePieces(attribute: NewAttribute): Piece[] {
  const value: Piece =
    "utf8" in attribute
      ? { field: STRING_VALUE, pieces: [attribute.utf8] }
      : {
          field: ARRAY_VALUE,
          pieces: attribute.strings.map((s): Piece => ({ field: ARRAY_VALUES, pieces: [{ field: STRING_VALUE, pieces: [utf8Of(s)] }] })),
        };
  return [keyField(attribute.key), { field: KEY_VALUE_VALUE, pieces: [value] }];
}

/** What to change of a span's own bytes. */
interface SpanEdit {
  /** Attributes with these keys are left out. */
  removedKeys: ReadonlySet<string>;
  /** Events left out, by their place among the span's events (as a decoder lists them). */
  removedEvents?: ReadonlySet<number>;
  /** Appended after the span's attributes. */
  added: NewAttribute[];
  /** A status of ERROR with this message (a decoder merges a status sent twice, the later fields winning: written whole, it replaces the span's own). */
  error?: string;
  /** Leaves out the span's parent_span_id: it becomes its trace's root. */
  root?: boolean;
}

/**
 * A span's bytes edited, made of the original bytes: every field as it came but those the edit
 * leaves out, then the new attributes, then the new status. `read`: the span's fields, when they
 * say where its attributes are (SpanFields.attributeFields), so the span's bytes are not read again.
 */
export function editedSpanPieces(source: Uint8Array, span: Range, edit: SpanEdit, read?: SpanFields): Piece[] {
  const { added, error } = edit;
  const pieces = keptPieces(source, span, edit, read);
  // Small attributes go into one buffer: a request may hold tens of thousands of edited spans, and
  // each object kept per span counts. Large JSON (a payload's messages) is kept as it is, a view
  // of the request's own bytes, and copied once, into the request that is sent.
  let small: Piece[] = [];
  for (const attribute of added) {
    const field: Piece = { field: SPAN_ATTRIBUTES, pieces: keyValuePieces(attribute) };
    if ("utf8" in attribute && attribute.utf8.byteLength > COPIED_UP_TO) {
      if (small.length > 0) pieces.push(assemble(NOTHING, small, slabBytes));
      small = [];
      pieces.push(field);
    } else small.push(field);
  }
  if (small.length > 0) pieces.push(assemble(NOTHING, small, slabBytes));
  if (error !== undefined) pieces.push({ field: SPAN_STATUS, pieces: [{ field: STATUS_MESSAGE, pieces: [utf8Of(error)] }, ERROR_CODE] });
  return pieces;
}

/** The span's bytes but the fields the edit leaves out, as ranges of them. */
function keptPieces(source: Uint8Array, span: Range, edit: SpanEdit, read: SpanFields | undefined): Piece[] {
  const { removedKeys, root } = edit;
  const removesEvents = (edit.removedEvents?.size ?? 0) > 0;
  if (removedKeys.size === 0 && !root && !removesEvents) return [span];
  // A few keys are compared in place, as an array, which a loop goes through without an iterator or
  // hashing a key; many (thousands of Traceloop messages) are looked up, or the span would cost their product.
  const keys = removedKeys.size <= FEW_KEYS ? [...removedKeys] : removedKeys;
  const leftOut =
    read?.attributeFields && !root && !removesEvents
      ? removedAsRead(read.attributes, read.attributeFields, keys)
      : leftOutFields(source, span, edit, keys);
  const pieces: Piece[] = [];
  let kept = span.start;
  for (const field of leftOut) {
    if (field.start > kept) pieces.push({ start: kept, end: field.start });
    kept = field.end;
  }
  if (span.end > kept) pieces.push({ start: kept, end: span.end });
  return pieces;
}

/** The fields of the attributes with a removed key, where reading the span found them. */
function removedAsRead(attributes: readonly KeyValue[], fields: readonly Range[], keys: RemovedKeys): Range[] {
  const removed: Range[] = [];
  for (let i = 0; i < attributes.length; i++) {
    const key = attributes[i]!.key;
    if ("has" in keys ? keys.has(key) : keys.includes(key)) removed.push(fields[i]!);
  }
  return removed;
}

/** The span's fields the edit leaves out, found by reading its bytes. */
function leftOutFields(source: Uint8Array, span: Range, { removedKeys, removedEvents, root }: SpanEdit, keys: RemovedKeys): Range[] {
  const leftOut: Range[] = [];
  const keyValue = new FieldCursor(source, 0, 0);
  const field = new FieldCursor(source, span.start, span.end);
  let event = 0;
  while (field.next()) {
    const isLeftOut =
      field.no === SPAN_ATTRIBUTES
        ? field.wireType === WIRE_LEN && removedKeys.size !== 0 && isKeyAmong(keyValue.reset(field.valueStart, field.valueEnd), keys)
        : field.no === SPAN_EVENTS
          ? field.wireType === WIRE_LEN && removedEvents?.has(event++) === true
          : root === true && field.no === SPAN_PARENT_SPAN_ID;
    if (isLeftOut) leftOut.push({ start: field.fieldStart, end: field.valueEnd });
  }
  return leftOut;
}

/** The keys an edit removes: a few as an array, many as a set. */
type RemovedKeys = readonly string[] | ReadonlySet<string>;

/** A span status of ERROR with this message, which Braintrust shows as the span's error. */
export function errorStatus(message: string): Status {
  return create(StatusSchema, { code: Status_StatusCode.ERROR, message });
}

const NO_KEYS: ReadonlySet<string> = new Set();

/**
 * A span's encoded bytes without its parent_span_id, so it is its trace's root. The bytes are the
 * relay's own (a vouched range or protobuf-es's encoding), so their fields are well framed.
 */
export function spanAsRoot(span: Uint8Array): Uint8Array {
  return assemble(span, editedSpanPieces(span, { start: 0, end: span.byteLength }, { removedKeys: NO_KEYS, added: [], root: true }));
}

/** JSON up to this many bytes is copied into the span's buffer of new attributes. */
const COPIED_UP_TO = 256;

/** Up to this many keys are compared one by one, in place; more are looked up in a set. */
export const FEW_KEYS = 8;

/** Whether the KeyValue the cursor is on has one of these keys (its last key, as a decoder reads it). */
function isKeyAmong(keyValue: FieldCursor, keys: RemovedKeys): boolean {
  let keyStart = 0;
  let keyEnd = 0;
  while (keyValue.next()) {
    if (keyValue.no !== KEY_VALUE_KEY || keyValue.wireType !== WIRE_LEN) continue;
    keyStart = keyValue.valueStart;
    keyEnd = keyValue.valueEnd;
  }
  if ("has" in keys) {
    // Decoded as protobuf-es decodes, then compared as bytes too, so that what matches is exactly what would.
    const key = textOf(keyValue.bytes.subarray(keyStart, keyEnd));
    return keys.has(key) && isUtf8Of(keyValue.bytes, keyStart, keyEnd, key);
  }
  for (const key of keys) if (isUtf8Of(keyValue.bytes, keyStart, keyEnd, key)) return true;
  return false;
}

/** Whether the bytes are the key's UTF-8: compared in place for ASCII, the common case, encoded otherwise. */
function isUtf8Of(source: Uint8Array, start: number, end: number, key: string): boolean {
  if (key.length > end - start) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) {
      const encoded = utf8Of(key);
      return encoded.byteLength === end - start && encoded.every((byte, j) => source[start + j] === byte);
    }
    if (source[start + i] !== c) return false;
  }
  return key.length === end - start;
}
