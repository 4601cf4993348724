import { toBinary } from "@bufbuild/protobuf";
import { type KeyValue, KeyValueSchema } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { assemble, eachField, type Piece, type Range, WIRE_LEN } from "./wire.js";

/** Field numbers: Span.attributes, KeyValue.key. */
const SPAN_ATTRIBUTES = 9;
const KEY_VALUE_KEY = 1;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();
const NOTHING = new Uint8Array();

/**
 * A KeyValue's fields to write: a string value directly (key = 1, value = 2 → AnyValue.string_value
 * = 1), since translated attributes are large JSON strings, encoded once, in place; others by
 * protobuf-es.
 */
function keyValuePieces(kv: KeyValue): Piece[] {
  if (kv.value?.value.case !== "stringValue") return [toBinary(KeyValueSchema, kv)];
  return [
    { field: 1, pieces: [utf8.encode(kv.key)] },
    { field: 2, pieces: [{ field: 1, pieces: [utf8.encode(kv.value.value.value)] }] },
  ];
}

/**
 * A span's bytes with attributes taken out and others added, made of the original bytes: every
 * field as it came but the attributes whose key is in `removedKeys`, then the new attributes.
 */
export function editedSpanPieces(source: Uint8Array, span: Range, removedKeys: ReadonlySet<string>, added: KeyValue[]): Piece[] {
  const pieces: Piece[] = [];
  if (removedKeys.size === 0) pieces.push(span);
  else {
    let kept = span.start;
    eachField(source, span.start, span.end, (no, wireType, value, whole) => {
      if (no !== SPAN_ATTRIBUTES || wireType !== WIRE_LEN || !removedKeys.has(keyOf(source, value))) return;
      if (whole.start > kept) pieces.push({ start: kept, end: whole.start });
      kept = whole.end;
    });
    if (span.end > kept) pieces.push({ start: kept, end: span.end });
  }
  // One buffer for all of them: a request may hold tens of thousands of edited spans, and each
  // object kept per span counts.
  if (added.length > 0)
    pieces.push(
      assemble(
        NOTHING,
        added.map((kv): Piece => ({ field: SPAN_ATTRIBUTES, pieces: keyValuePieces(kv) })),
      ),
    );
  return pieces;
}

/** The key of an encoded KeyValue (the last one, as a decoder reads it). */
function keyOf(source: Uint8Array, keyValue: Range): string {
  let key = "";
  eachField(source, keyValue.start, keyValue.end, (no, wireType, value) => {
    if (no === KEY_VALUE_KEY && wireType === WIRE_LEN) key = utf8Decoder.decode(source.subarray(value.start, value.end));
  });
  return key;
}
