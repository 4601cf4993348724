import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Span, SpanSchema, type Status, StatusSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { attr, randomId } from "../../scripts/lib/traces.js";
import { concat, utf8Of } from "../../src/encoding/bytes.js";
import { editedSpanPieces, FEW_KEYS, type NewAttribute } from "../../src/otlp/span-edit.js";
import { assemble } from "../../src/otlp/wire.js";
import { applyTranslation, type SpanTranslation } from "../../src/process/translate.js";
import { readSpanFields } from "../../src/receive/span-fields.js";
import { lengthDelimited } from "../support/wire.js";

/**
 * A few keys, so that edits remove some of a span's attributes and add beside others of the same key;
 * U+0080, the first that is not ASCII; keys that start with another, which removing it leaves.
 */
const key = fc.constantFrom("a", "b", "tfy.input", "é", "\u0080", "ab", "é.");

/** Keys no span has, which take a removal past FEW_KEYS, where the keys are looked up in a set rather than compared one by one. */
const unusedKeys = Array.from({ length: FEW_KEYS }, (_, i) => `unused ${i}`);

const span: fc.Arbitrary<Span> = fc
  .record({
    name: fc.string({ maxLength: 8 }),
    attributes: fc.array(fc.tuple(key, fc.string({ maxLength: 8 })), { maxLength: 5 }),
    events: fc.array(fc.constantFrom("gen_ai.user.message", "exception", "x"), { maxLength: 3 }),
    status: fc.option(fc.record({ code: fc.integer({ min: -1, max: 2 }), message: fc.string({ maxLength: 8 }) }), { nil: undefined }),
  })
  .map(({ name, attributes, events, status }) =>
    create(SpanSchema, {
      traceId: randomId(16),
      spanId: randomId(8),
      name,
      attributes: attributes.map(([k, v]) => attr(k, v)),
      events: events.map((eventName) => ({ name: eventName })),
      status: status && create(StatusSchema, status),
    }),
  );

const edit: fc.Arbitrary<SpanTranslation> = fc.record({
  removedKeys: fc
    .tuple(fc.uniqueArray(key, { maxLength: 3 }), fc.boolean())
    .map(([keys, many]) => new Set([...keys, ...(many ? unusedKeys : [])])),
  removedEvents: fc.option(
    fc.uniqueArray(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }).map((at) => new Set(at)),
    { nil: undefined },
  ),
  added: fc.array(
    fc.tuple(key, fc.string({ maxLength: 300 })).map(([k, v]): NewAttribute => ({ key: k, utf8: utf8Of(v) })),
    { maxLength: 3 },
  ),
  // An empty message too: what a translation whose failure says no more than that would write.
  error: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
});

/** The span's bytes with its status given twice, its message then its code, which a decoder merges into one. */
function withStatusInTwo(span: Span): Uint8Array {
  const { status, ...rest } = span;
  const piece = (part: Pick<Status, "message"> | Pick<Status, "code">) =>
    lengthDelimited(15, toBinary(StatusSchema, create(StatusSchema, part)));
  return concat([
    toBinary(SpanSchema, { ...rest, status: undefined }),
    new Uint8Array([...piece({ message: status?.message ?? "" }), ...piece({ code: status?.code ?? 0 })]),
  ]);
}

describe("a span's bytes edited in place", () => {
  it("decode as the decoded span with the same edit applied: attributes, events and a status replaced whole", () => {
    fc.assert(
      fc.property(span, edit, fc.boolean(), fc.boolean(), (original, translation, readFirst, statusInTwo) => {
        const bytes = statusInTwo ? withStatusInTwo(original) : toBinary(SpanSchema, original);
        const range = { start: 0, end: bytes.byteLength };
        const read = readFirst ? readSpanFields(bytes, range) : undefined;

        const spliced = fromBinary(SpanSchema, assemble(bytes, editedSpanPieces(bytes, range, translation, read)));

        const decoded = fromBinary(SpanSchema, bytes);
        applyTranslation(decoded, translation);
        expect(spliced).toEqual(decoded);
      }),
      { seed: 21, numRuns: 500 },
    );
  });
});
