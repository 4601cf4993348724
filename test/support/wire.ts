import fc from "fast-check";
import { varint } from "../../scripts/lib/wire-bytes.js";
import { checkWire } from "../../src/receive/wire-check.js";

export { lengthDelimitedBytes, repeatedBytes, varint } from "../../scripts/lib/wire-bytes.js";

/** Hand-made protobuf wire bytes, for inputs no well-behaved encoder would produce: the builders the worst shapes share too (scripts/lib/wire-bytes.ts), and the tests' own. */

export function lengthDelimited(field: number, payload: number[] | Uint8Array): number[] {
  return [...varint((field << 3) | 2), ...varint(payload.length), ...payload];
}

/** An AnyValue nested `depth` levels deep through array_value (5) or kvlist_value (6). */
export function deeplyNestedAnyValue(depth: number, through: "array" | "kvlist"): number[] {
  let value: number[] = lengthDelimited(1, new TextEncoder().encode("bottom"));
  for (let i = 0; i < depth; i++) {
    if (through === "array") {
      value = lengthDelimited(5, lengthDelimited(1, value));
    } else {
      const keyValue = [...lengthDelimited(1, [0x6b]), ...lengthDelimited(2, value)];
      value = lengthDelimited(6, lengthDelimited(1, keyValue));
    }
  }
  return value;
}

/** A Span's fields: valid random ids and the name "hostile", then `more`. */
export function spanFields(more: number[] = []): number[] {
  return [
    ...lengthDelimited(1, crypto.getRandomValues(new Uint8Array(16))),
    ...lengthDelimited(2, crypto.getRandomValues(new Uint8Array(8))),
    ...lengthDelimited(5, new TextEncoder().encode("hostile")),
    ...more,
  ];
}

/** ExportTraceServiceRequest → ResourceSpans → ScopeSpans → Span(valid ids) with `more` appended. */
export function requestWithSpanFields(more: number[]): Uint8Array {
  return new Uint8Array(lengthDelimited(1, lengthDelimited(2, lengthDelimited(2, spanFields(more)))));
}

/** A group field (start-group tag, body, end-group tag), as proto2 encoders wrote them; `endNo`: the end tag's field, if another. */
export function group(field: number, body: number[], endNo = field): number[] {
  return [...varint((field << 3) | 3), ...body, ...varint((endNo << 3) | 4)];
}

/** A request of one resource and scope, the scope's own fields `scopeFields` before its one span. */
export function requestWithScopeFields(scopeFields: number[]): Uint8Array {
  return new Uint8Array(lengthDelimited(1, lengthDelimited(2, [...scopeFields, ...lengthDelimited(2, spanFields())])));
}

/** Whether `part` occurs in `bytes` as it is, byte for byte: a span's own bytes inside a request, say. */
export function holdsBytes(bytes: Uint8Array, part: Uint8Array): boolean {
  return bytesAt(bytes, part) >= 0;
}

/** Where `part` first sits in `bytes`, or -1. */
export function bytesAt(bytes: Uint8Array, part: Uint8Array): number {
  for (let at = 0; at + part.byteLength <= bytes.byteLength; at++) {
    if (part.every((byte, i) => bytes[at + i] === byte)) return at;
  }
  return -1;
}

/** The spans the wire check vouches for the bytes holding, as they are: undefined when it vouches for none. */
export function vouchedSpanCount(bytes: Uint8Array): number | undefined {
  const wire = checkWire(bytes);
  return wire?.vouched ? wire.spans : undefined;
}

/** UTF-8 text of at least `minLength` characters with up to `maxChanges` of its bytes changed: overlong forms, surrogates, cut or stray continuation bytes. */
export function textWithBytesChanged(minLength: number, maxChanges: number): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      fc.string({ unit: "binary", minLength, maxLength: 200 }),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom(0x80, 0xbf, 0xc0, 0xc3, 0xed, 0xa0, 0xbd, 0xf4, 0xf5, 0xff)), { maxLength: maxChanges }),
    )
    .map(([text, changes]) => {
      const utf8 = new TextEncoder().encode(text);
      for (const [at, byte] of changes) utf8[at % utf8.length] = byte;
      return utf8;
    });
}
