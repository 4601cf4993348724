import { create, fromBinary, toBinary, toJson } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ExportTraceServiceRequestSchema } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { type AnyValue, AnyValueSchema, type KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import {
  type Span,
  Span_EventSchema,
  Span_LinkSchema,
  Span_SpanKind,
  SpanSchema,
  Status_StatusCode,
  StatusSchema,
} from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { type AttrValue, attr, randomId, spansOf } from "../../scripts/lib/traces.js";
import { recurringTextOf, textOf } from "../../src/encoding/bytes.js";
import type { SpanFields } from "../../src/otlp/incoming.js";
import { scanRequest } from "../../src/otlp/wire.js";
import { readSpanFields } from "../../src/receive/span-fields.js";
import { requestOf, spanWith } from "../support/traces.js";
import { vouchedSpanCount } from "../support/wire.js";

/** An attribute as a reader sees it: key, value case, and the value (scalars as read, others as protobuf-es's JSON). */
function seen({ key, value }: KeyValue): unknown[] {
  const oneof = value?.value;
  if (oneof === undefined || oneof.case === undefined) return [key, "empty"];
  if (oneof.case === "arrayValue" || oneof.case === "kvlistValue" || oneof.case === "bytesValue")
    return [key, oneof.case, toJson(AnyValueSchema, value as AnyValue)];
  return [key, oneof.case, oneof.value];
}

function fieldsSeen(fields: SpanFields): unknown {
  const { traceId, spanId, parentSpanId, name, kind, attributes, status } = fields;
  return {
    traceId: [...traceId],
    spanId: [...spanId],
    parentSpanId: [...parentSpanId],
    name,
    kind,
    attributes: attributes.map(seen),
    status: status && { code: status.code, message: status.message },
  };
}

/** Each span of a request the wire check vouches for: read from its bytes, and decoded whole by protobuf-es. */
function bothReadings(request: Uint8Array): Array<{ read: SpanFields; decoded: Span }> {
  const readings = scanRequest(request).resources.flatMap((resource) =>
    resource.scopes.flatMap((scope) =>
      scope.spans.map((range) => ({
        read: readSpanFields(request, range),
        decoded: fromBinary(SpanSchema, request.subarray(range.start, range.end)),
      })),
    ),
  );
  // Every span of the request, each vouched for: none left out, none read from bytes the check refused.
  expect(readings).toHaveLength(spansOf(fromBinary(ExportTraceServiceRequestSchema, request)).length);
  expect(vouchedSpanCount(request)).toBe(readings.length);
  return readings;
}

const encoded = (spans: Span[]) => toBinary(ExportTraceServiceRequestSchema, requestOf(spans));

/** A request of one span written field by field: ids, then what `more` writes, then these encoded KeyValues as attributes. */
function requestOfWrittenSpan(keyValues: Uint8Array[], more: (span: BinaryWriter) => BinaryWriter = (span) => span): Uint8Array {
  const span = more(
    new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(randomId(16)).tag(2, WireType.LengthDelimited).bytes(randomId(8)),
  );
  for (const kv of keyValues) span.tag(9, WireType.LengthDelimited).bytes(kv);
  const scope = new BinaryWriter().tag(2, WireType.LengthDelimited).bytes(span.finish()).finish();
  const resource = new BinaryWriter().tag(2, WireType.LengthDelimited).bytes(scope).finish();
  return new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(resource).finish();
}

/** Text that may start with U+FEFF, which a decoder must keep, as protobuf-es does. */
const text = (constraints: fc.StringConstraints) =>
  fc.oneof(
    fc.string(constraints),
    fc.string(constraints).map((s) => `\uFEFF${s}`),
  );

const scalar: fc.Arbitrary<AttrValue> = fc.oneof(
  text({ maxLength: 20 }),
  text({ unit: "grapheme", minLength: 100, maxLength: 400 }),
  fc.boolean(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  // attr() makes an integer-valued number an int: kept within int64.
  fc.double({ noNaN: true, min: -1e15, max: 1e15 }),
);
const value: fc.Arbitrary<AttrValue> = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 5 }), scalar, { maxKeys: 3 }) },
);

describe("a span's fields read from its bytes", () => {
  it("are what protobuf-es decodes: ids, name, and every attribute of any type, in order, a repeated key as often as it comes", () => {
    fc.assert(
      fc.property(
        text({ unit: "grapheme", maxLength: 30 }),
        fc.array(fc.tuple(fc.constantFrom("tfy.input", "a.b", "é.ü", "", "\uFEFFtfy.output"), value), { maxLength: 8 }),
        // The five kinds, and numbers no kind has, which an enum keeps as they came.
        fc.integer({ min: -3, max: 300 }),
        (name, attributes, kind) => {
          const span = spanWith(
            name,
            attributes.map(([key, v]) => attr(key, v)),
            { parentSpanId: randomId(8) },
          );
          // The other length-delimited fields too, after the attributes, so none is taken for one that is read.
          span.kind = kind;
          span.traceState = "vendor=1";
          span.events = [create(Span_EventSchema, { name: "event", attributes: [attr("e", 1)] })];
          span.status = create(StatusSchema, { message: "failed", code: Status_StatusCode.ERROR });
          for (const { read, decoded } of bothReadings(encoded([span]))) expect(fieldsSeen(read)).toEqual(fieldsSeen(decoded));
        },
      ),
      { seed: 20261201, numRuns: 300 },
    );
  });

  it("are what protobuf-es decodes when fields repeat, come out of order, are unknown or hold nothing", () => {
    const keyValue = (write: (w: BinaryWriter) => void) => {
      const w = new BinaryWriter();
      write(w);
      return w.finish();
    };
    const anyValueOf = (write: (w: BinaryWriter) => void) => keyValue(write);
    const odd = [
      // Value before key.
      keyValue((w) =>
        w
          .tag(2, WireType.LengthDelimited)
          .bytes(anyValueOf((v) => v.tag(1, WireType.LengthDelimited).string("v")))
          .tag(1, WireType.LengthDelimited)
          .string("k"),
      ),
      // The key twice: the last one counts.
      keyValue((w) =>
        w
          .tag(1, WireType.LengthDelimited)
          .string("first")
          .tag(1, WireType.LengthDelimited)
          .string("second")
          .tag(2, WireType.LengthDelimited)
          .bytes(anyValueOf((v) => v.tag(3, WireType.Varint).int64(-5n))),
      ),
      // Two values of the oneof: the last one counts.
      keyValue((w) =>
        w
          .tag(1, WireType.LengthDelimited)
          .string("k")
          .tag(2, WireType.LengthDelimited)
          .bytes(anyValueOf((v) => v.tag(1, WireType.LengthDelimited).string("s").tag(2, WireType.Varint).bool(true))),
      ),
      // An unknown field in the KeyValue, between its key and value.
      keyValue((w) =>
        w
          .tag(1, WireType.LengthDelimited)
          .string("k")
          .tag(7, WireType.LengthDelimited)
          .bytes(new Uint8Array([0x0a, 0x01, 0x78]))
          .tag(2, WireType.LengthDelimited)
          .bytes(anyValueOf((v) => v.tag(1, WireType.LengthDelimited).string("s"))),
      ),
      // An unknown field in the value.
      keyValue((w) =>
        w
          .tag(1, WireType.LengthDelimited)
          .string("k")
          .tag(2, WireType.LengthDelimited)
          .bytes(anyValueOf((v) => v.tag(4, WireType.Bit64).double(1.5).tag(9, WireType.Varint).uint32(1))),
      ),
      // No value; an empty value.
      keyValue((w) => w.tag(1, WireType.LengthDelimited).string("k")),
      keyValue((w) => w.tag(1, WireType.LengthDelimited).string("k").tag(2, WireType.LengthDelimited).bytes(new Uint8Array())),
      // No key.
      keyValue((w) => w.tag(2, WireType.LengthDelimited).bytes(anyValueOf((v) => v.tag(2, WireType.Varint).bool(false)))),
      // Key and value, then the key again, then the value again: the last key counts, and the values merge.
      keyValue((w) =>
        w
          .tag(1, WireType.LengthDelimited)
          .string("k")
          .tag(2, WireType.LengthDelimited)
          .bytes(anyValueOf((v) => v.tag(1, WireType.LengthDelimited).string("s")))
          .tag(1, WireType.LengthDelimited)
          .string("later"),
      ),
      keyValue((w) =>
        w
          .tag(1, WireType.LengthDelimited)
          .string("k")
          .tag(2, WireType.LengthDelimited)
          .bytes(anyValueOf((v) => v.tag(1, WireType.LengthDelimited).string("s")))
          .tag(2, WireType.LengthDelimited)
          .bytes(anyValueOf((v) => v.tag(3, WireType.Varint).int64(7n))),
      ),
    ];
    // The name twice (the last counts), and the span id again after it.
    const request = requestOfWrittenSpan(odd, (span) =>
      span
        .tag(5, WireType.LengthDelimited)
        .string("first name")
        .tag(5, WireType.LengthDelimited)
        .string("last name")
        .tag(2, WireType.LengthDelimited)
        .bytes(randomId(8)),
    );

    const [{ read, decoded }] = bothReadings(request) as [{ read: SpanFields; decoded: Span }];
    expect(read.attributes).toHaveLength(odd.length);
    expect(fieldsSeen(read)).toEqual(fieldsSeen(decoded));
    expect(read.name).toBe("last name");
  });

  it("are what protobuf-es decodes for a span of many list values, which is then decoded whole", () => {
    const lists = Array.from({ length: 40 }, (_, i) => attr(`list.${i}`, [i, `item ${i}`]));
    const span = spanWith("span", [attr("tfy.input", "x".repeat(300)), ...lists, attr("after", true)]);

    const [{ read, decoded }] = bothReadings(encoded([span])) as [{ read: SpanFields; decoded: Span }];
    expect(fieldsSeen(read)).toEqual(fieldsSeen(decoded));
    expect(read.attributes).toHaveLength(42);
  });

  it("read an int or bool varint as protobuf-es does: 64 bits, two's complement, bits past them dropped", () => {
    // Ten-byte varints: -1, and one whose only set bit is past the 64th (0, false).
    const minusOne = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    const past64 = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7e];
    const keyValue = (field: number, varint: number[]) =>
      new BinaryWriter()
        .tag(1, WireType.LengthDelimited)
        .string("k")
        .tag(2, WireType.LengthDelimited)
        .bytes(new Uint8Array([(field << 3) | WireType.Varint, ...varint]))
        .finish();
    const request = requestOfWrittenSpan([keyValue(3, minusOne), keyValue(3, past64), keyValue(2, past64), keyValue(2, [0x02])]);

    const [{ read, decoded }] = bothReadings(request) as [{ read: SpanFields; decoded: Span }];
    expect(fieldsSeen(read)).toEqual(fieldsSeen(decoded));
    expect(read.attributes.map((a) => a.value?.value.value)).toEqual([-1n, 0n, false, true]);
  });

  it("read a status as protobuf-es does: the last code and message, a negative code, a status sent twice merged", () => {
    const status = (...fields: Array<(writer: BinaryWriter) => BinaryWriter>) =>
      fields.reduce((writer, field) => field(writer), new BinaryWriter()).finish();
    const code = (value: number) => (writer: BinaryWriter) => writer.tag(3, WireType.Varint).int32(value);
    const message = (value: string) => (writer: BinaryWriter) => writer.tag(2, WireType.LengthDelimited).string(value);
    const unknown = (writer: BinaryWriter) => writer.tag(9, WireType.Varint).int32(1);
    const withStatuses = (...statuses: Uint8Array[]) =>
      requestOfWrittenSpan([], (span) => statuses.reduce((writer, bytes) => writer.tag(15, WireType.LengthDelimited).bytes(bytes), span));

    for (const request of [
      withStatuses(status(code(2), message("failed"))),
      withStatuses(status(message("first"), code(1), unknown, message("last"), code(2))),
      withStatuses(status(code(-1))),
      withStatuses(status(code(2), message("failed")), status(code(1))),
      withStatuses(status()),
    ]) {
      const [{ read, decoded }] = bothReadings(request) as [{ read: SpanFields; decoded: Span }];
      expect(fieldsSeen(read)).toEqual(fieldsSeen(decoded));
    }
  });

  it("keep a long string's bytes, a view of the request's own, for translation to copy as they are", () => {
    const payload = JSON.stringify({ messages: [{ role: "user", content: "ü ✓ ".repeat(100) }] });
    const request = encoded([spanWith("span", [attr("tfy.input", payload), attr("short", "x")])]);

    const [{ read }] = bothReadings(request) as [{ read: SpanFields; decoded: Span }];
    const value = read.attributes[0]!.value!;
    const bytes = read.stringBytes?.get(value);
    expect(bytes?.buffer).toBe(request.buffer);
    expect(new TextDecoder().decode(bytes)).toBe(payload);
    expect(value.value.value).toBe(payload);
    expect(read.stringBytes?.has(read.attributes[1]!.value!)).toBe(false);
  });

  it("read each event's name as protobuf-es decodes it, without decoding the events, which are decoded when read", () => {
    const event = (write: (w: BinaryWriter) => BinaryWriter) => write(new BinaryWriter()).finish();
    const events = [
      event((w) => w.tag(1, WireType.Bit64).fixed64(1n).tag(2, WireType.LengthDelimited).string("gen_ai.user.message")),
      // The name twice: the last one counts.
      event((w) => w.tag(2, WireType.LengthDelimited).string("first_token").tag(2, WireType.LengthDelimited).string("gen_ai.choice")),
      // No name; an unknown field.
      event((w) =>
        w
          .tag(4, WireType.Varint)
          .uint32(2)
          .tag(9, WireType.LengthDelimited)
          .bytes(new Uint8Array([1])),
      ),
    ];
    const request = requestOfWrittenSpan([], (span) => {
      for (const bytes of events) span.tag(11, WireType.LengthDelimited).bytes(bytes);
      return span;
    });

    const [{ read, decoded }] = bothReadings(request) as [{ read: SpanFields; decoded: Span }];
    expect(read.eventNames).toEqual(["gen_ai.user.message", "gen_ai.choice", ""]);
    expect(read.eventNames).toEqual(decoded.events.map((e) => e.name));
    expect(read.events).toEqual(decoded.events);
    const [{ read: without }] = bothReadings(encoded([spanWith("span", [])])) as [{ read: SpanFields; decoded: Span }];
    expect([without.events, without.eventNames]).toEqual([undefined, undefined]);
  });

  it("read short text as the decoder reads its bytes, whatever text was read before it with the same length or ending", () => {
    // Thousands of keys sharing their length and last bytes share the slots of the table of recurring text.
    const keys = Array.from({ length: 3000 }, (_, i) => `k${String(i).padStart(4, "0")}.input_tokens`);
    const request = encoded([
      spanWith(
        "span",
        keys.map((key) => attr(key, 1)),
      ),
    ]);
    for (const _round of [0, 1]) {
      const [{ read }] = bothReadings(request) as [{ read: SpanFields; decoded: Span }];
      expect(read.attributes.map((a) => a.key)).toEqual(keys);
    }
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 70 }), { maxLength: 200 }), (texts) => {
        for (const bytes of [...texts, ...texts]) expect(recurringTextOf(bytes, 0, bytes.length)).toBe(textOf(bytes));
      }),
    );
  });

  it("read a span's kind as its own, not the counts of dropped attributes, events and links written after it", () => {
    const span = spanWith("span", [attr("a", 1)]);
    span.kind = Span_SpanKind.CLIENT;
    span.droppedAttributesCount = 5;
    span.droppedEventsCount = 2;
    span.droppedLinksCount = 1;

    const [{ read, decoded }] = bothReadings(encoded([span])) as [{ read: SpanFields; decoded: Span }];
    expect(read.kind).toBe(Span_SpanKind.CLIENT);
    expect(fieldsSeen(read)).toEqual(fieldsSeen(decoded));
  });

  it("read a span's parent as its own, not its trace state or links written after it, and none for a root span that has them", () => {
    const parentSpanId = randomId(8);
    const withParent = spanWith("child", [], { parentSpanId });
    const root = spanWith("root", []);
    for (const span of [withParent, root]) {
      span.traceState = "vendor=1";
      span.links = [create(Span_LinkSchema, { traceId: randomId(16), spanId: randomId(8) })];
    }

    const [child, rootRead] = bothReadings(encoded([withParent, root]));
    expect(child!.read.parentSpanId).toEqual(parentSpanId);
    expect(rootRead!.read.parentSpanId).toHaveLength(0);
    for (const { read, decoded } of [child!, rootRead!]) expect(fieldsSeen(read)).toEqual(fieldsSeen(decoded));
  });

  it("read a status's code and message as their own, not fields the relay does not know written after them", () => {
    const status = new BinaryWriter()
      .tag(3, WireType.Varint)
      .int32(Status_StatusCode.ERROR)
      .tag(2, WireType.LengthDelimited)
      .string("failed")
      // Fields a later version of the protocol may add: a string, then a number.
      .tag(9, WireType.LengthDelimited)
      .string("detail")
      .tag(10, WireType.Varint)
      .int32(7)
      .finish();
    const request = requestOfWrittenSpan([], (span) => span.tag(15, WireType.LengthDelimited).bytes(status));

    const [{ read, decoded }] = bothReadings(request) as [{ read: SpanFields; decoded: Span }];
    expect(read.status).toMatchObject({ code: Status_StatusCode.ERROR, message: "failed" });
    expect(fieldsSeen(read)).toEqual(fieldsSeen(decoded));
  });

  it("read an int of every varint length exactly, whatever is written after it", () => {
    // 2^(7k) - 1 and 2^(7k) take k and k + 1 bytes as varints, 2^63 - 1 nine; negatives take ten.
    const ints = Array.from({ length: 8 }, (_, k) => [2n ** BigInt(7 * (k + 1)) - 1n, 2n ** BigInt(7 * (k + 1))]).flat();
    const values = [...ints, -1n, -(2n ** 62n), 2n ** 63n - 1n];
    // Each followed by another attribute, whose bytes come right after the int's.
    const span = spanWith(
      "span",
      values.flatMap((value, i) => [attr(`int.${i}`, value), attr(`after.${i}`, "x")]),
    );

    const [{ read, decoded }] = bothReadings(encoded([span])) as [{ read: SpanFields; decoded: Span }];
    expect(read.attributes.filter((a) => a.key.startsWith("int.")).map((a) => a.value?.value.value)).toEqual(values);
    expect(fieldsSeen(read)).toEqual(fieldsSeen(decoded));
  });
});
