import { fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ExportTraceServiceRequestSchema } from "../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { spansOf, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { RelayError } from "../src/http/errors.js";
import { readSpans } from "../src/receive/read-spans.js";
import { allAtOnce } from "../src/receive/turns.js";
import { checkWire } from "../src/receive/wire-check.js";
import { readRequest } from "./support/pipeline.js";
import { variedRequest } from "./support/traces.js";
import {
  deeplyNestedAnyValue,
  lengthDelimited,
  requestWithSpanFields,
  spanFields,
  textWithBytesChanged,
  varint,
  vouchedSpanCount,
} from "./support/wire.js";

/**
 * What the full path makes of the bytes: refused, or how many spans validation kept and rejected.
 * `framed`: told the wire check found them framed, so it does not check their fields itself.
 */
function fullPath(bytes: Uint8Array, framed = false): "refused" | { accepted: number; rejected: number } {
  try {
    const { accepted, rejected } = framed
      ? allAtOnce(readSpans(bytes, "protobuf", () => {}, { vouched: false, framed })).rejections
      : readRequest(bytes, "protobuf").rejections;
    return { accepted, rejected };
  } catch (err) {
    if (err instanceof RelayError) return "refused";
    throw err;
  }
}

/**
 * The properties the fast path rests on: what the check vouches for, the full path takes whole,
 * with as many spans; and what it finds framed, whatever its ids, the full path reads as it would
 * have had it checked the fields itself.
 */
function expectSound(bytes: Uint8Array): boolean {
  const wire = checkWire(bytes);
  if (wire) expect(fullPath(bytes, true)).toEqual(fullPath(bytes));
  if (!wire?.vouched) return false;
  expect(fullPath(bytes)).toEqual({ accepted: wire.spans, rejected: 0 });
  return true;
}

const mutations = (valid: Uint8Array) =>
  fc.record({
    // Half the cases keep every byte, so flips alone are tried too.
    cut: fc.oneof(fc.constant(valid.byteLength), fc.integer({ min: 0, max: valid.byteLength })),
    flips: fc.array(fc.record({ at: fc.integer({ min: 0, max: valid.byteLength - 1 }), value: fc.integer({ min: 0, max: 255 }) }), {
      minLength: 1,
      maxLength: 4,
    }),
  });

describe("the wire check", () => {
  it("vouches for every valid request whose spans all pass validation, with its span count, and for no other", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 30 }), (seed) => {
        const bytes = toBinary(ExportTraceServiceRequestSchema, variedRequest(seed));
        const full = fullPath(bytes);
        const decoded = fromBinary(ExportTraceServiceRequestSchema, bytes);
        expect(vouchedSpanCount(bytes)).toBe(full !== "refused" && full.rejected === 0 ? spansOf(decoded).length : undefined);
      }),
      { seed: 11, numRuns: 200 },
    );
  });

  it("vouches for nothing the full path would refuse or trim, whatever the bytes were mutated into", () => {
    const valid = toBinary(ExportTraceServiceRequestSchema, variedRequest(50));
    expect(vouchedSpanCount(valid)).toBe(7);
    let vouched = 0;
    fc.assert(
      fc.property(mutations(valid), ({ cut, flips }) => {
        const bytes = valid.slice(0, cut);
        for (const { at, value } of flips) if (at < cut) bytes[at] = value;
        if (expectSound(bytes)) vouched++;
      }),
      { seed: 12, numRuns: 2000 },
    );
    // Mutations inside string contents keep a request valid: the property was tested, not skipped.
    expect(vouched).toBeGreaterThan(100);
  });

  it("vouches for nothing the full path would refuse or trim, on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => void expectSound(bytes)),
      { seed: 13, numRuns: 2000 },
    );
  });

  it("vouches for unknown fields of every wire type but groups, as protobuf-es keeps them", () => {
    const unknown = [
      ...varint((70 << 3) | 0),
      0x96,
      0x01,
      ...varint((71 << 3) | 1),
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      ...varint((72 << 3) | 5),
      1,
      2,
      3,
      4,
      ...lengthDelimited(73, [1, 2]),
    ];
    const bytes = requestWithSpanFields(unknown);

    expect(vouchedSpanCount(bytes)).toBe(1);
    expect(fullPath(bytes)).toEqual({ accepted: 1, rejected: 0 });
  });

  it.each([
    ["a wrong wire type for resource_spans", new Uint8Array([...varint((1 << 3) | 0), 5])],
    ["a wrong wire type for a span's name", requestWithSpanFields([...varint((5 << 3) | 0), 5])],
    ["a length past the end", new Uint8Array([...varint((1 << 3) | 2), ...varint(1000), 1, 2, 3])],
    ["a length that overflows", new Uint8Array([...varint((1 << 3) | 2), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])],
    ["an unterminated varint", new Uint8Array([0x08, 0xff, 0xff, 0xff])],
    ["invalid UTF-8 in a span name", requestWithSpanFields(lengthDelimited(5, [0xc3, 0x28, 0xff]))],
    [
      "invalid UTF-8 in a long attribute value",
      requestWithSpanFields(
        lengthDelimited(9, [
          ...lengthDelimited(1, [0x6b]),
          ...lengthDelimited(2, lengthDelimited(1, [...new Array(100).fill(0x61), 0xed, 0xa0, 0x80])),
        ]),
      ),
    ],
    [
      "an AnyValue nested 5000 deep",
      requestWithSpanFields(
        lengthDelimited(9, [...lengthDelimited(1, [0x6b]), ...lengthDelimited(2, deeplyNestedAnyValue(5000, "array"))]),
      ),
    ],
    ["a trace id of 4 bytes", requestWithSpanFields(lengthDelimited(1, [1, 2, 3, 4]))],
    ["an all-zero span id", requestWithSpanFields(lengthDelimited(2, new Uint8Array(8)))],
    ["a parent span id of 3 bytes", requestWithSpanFields(lengthDelimited(4, [1, 2, 3]))],
    ["a link's trace id of 3 bytes", requestWithSpanFields(lengthDelimited(13, lengthDelimited(1, [1, 2, 3])))],
    ["a link's span id of 16 bytes", requestWithSpanFields(lengthDelimited(13, lengthDelimited(2, new Uint8Array(16).fill(7))))],
    [
      "a tag of five bytes with bits past 32 set (protobuf-es drops them; the bytes would go on as they came)",
      requestWithSpanFields([0xaa, 0x80, 0x80, 0x80, 0x10, ...varint(1), 0x61]),
    ],
    [
      "an AnyValue nested past protobuf-es's 100 levels, though not thousands deep",
      requestWithSpanFields(lengthDelimited(9, [...lengthDelimited(1, [0x6b]), ...lengthDelimited(2, deeplyNestedAnyValue(60, "array"))])),
    ],
    [
      "an unknown group (protobuf-es takes it; the full decode decides)",
      requestWithSpanFields([...varint((80 << 3) | 3), ...varint((80 << 3) | 4)]),
    ],
  ])("leaves %s to the full decode", (_what, bytes) => {
    expect(vouchedSpanCount(bytes)).toBeUndefined();
  });

  it("vouches for links whose ids are empty or all zeros, as the full path keeps them, and for the last of an id given twice", () => {
    const link = (fields: number[]) => lengthDelimited(13, fields);
    const bytes = requestWithSpanFields([
      ...link([...lengthDelimited(1, new Uint8Array(16)), ...lengthDelimited(2, new Uint8Array(8))]),
      ...link([]),
      ...link([...lengthDelimited(1, [1, 2, 3]), ...lengthDelimited(1, new Uint8Array(16).fill(9))]),
    ]);

    expect(vouchedSpanCount(bytes)).toBe(1);
    expect(fullPath(bytes)).toEqual({ accepted: 1, rejected: 0 });
  });

  it("leaves a root sent with a parent of zeros to the full path, which keeps it (and sends it without one); a parent of one byte set is a parent", () => {
    const zeros = requestWithSpanFields(lengthDelimited(4, new Uint8Array(8)));
    const lastSet = requestWithSpanFields(lengthDelimited(4, [0, 0, 0, 0, 0, 0, 0, 1]));
    // Given twice, the last counts, as for the other ids.
    const zerosLast = requestWithSpanFields([...lengthDelimited(4, new Uint8Array(8).fill(1)), ...lengthDelimited(4, new Uint8Array(8))]);

    expect([vouchedSpanCount(zeros), vouchedSpanCount(lastSet), vouchedSpanCount(zerosLast)]).toEqual([undefined, 1, undefined]);
    expect(fullPath(zeros)).toEqual({ accepted: 1, rejected: 0 });
  });

  it("finds a request framed whose ids or text alone it does not vouch for, and not one with a field of another wire type after them", () => {
    const zeroParent = requestWithSpanFields(lengthDelimited(4, new Uint8Array(8)));
    // Half of a surrogate pair as an encoder writing UTF-16 units writes it: text a strict decoder refuses, framed all the same.
    const halfEmoji = requestWithSpanFields(lengthDelimited(5, [0x61, 0xed, 0xa0, 0xbd]));
    const shortId = new Uint8Array(lengthDelimited(1, lengthDelimited(2, lengthDelimited(2, [...lengthDelimited(1, [1, 2, 3])]))));
    // An attribute under a varint's wire type after a span id of 3 bytes: the walk goes on past the ids.
    const attribute = [...lengthDelimited(1, [0x6b]), ...lengthDelimited(2, lengthDelimited(1, [0x76]))];
    const thenWrongType = new Uint8Array(
      lengthDelimited(
        1,
        lengthDelimited(2, lengthDelimited(2, [...lengthDelimited(2, [1, 2, 3]), 0x48, ...varint(attribute.length), ...attribute])),
      ),
    );

    expect([checkWire(zeroParent), checkWire(shortId), checkWire(halfEmoji), checkWire(thenWrongType)]).toEqual([
      { spans: 1, vouched: false, textValid: true },
      { spans: 1, vouched: false, textValid: true },
      { spans: 1, vouched: false, textValid: false },
      undefined,
    ]);
    expect(fullPath(thenWrongType)).toBe("refused");
  });

  it("leaves a span with a link id of another length to the full path, which rejects that span alone", () => {
    const badLink = spanFields(lengthDelimited(13, lengthDelimited(1, [1, 2, 3])));
    const bytes = new Uint8Array(
      lengthDelimited(1, lengthDelimited(2, [...lengthDelimited(2, spanFields()), ...lengthDelimited(2, badLink)])),
    );

    expect(vouchedSpanCount(bytes)).toBeUndefined();
    expect(fullPath(bytes)).toEqual({ accepted: 1, rejected: 1 });
  });

  it("vouches for a long string exactly when protobuf-es's strict decoder takes its bytes, and else the full path rejects its span alone", () => {
    const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    const bytes = textWithBytesChanged(40, 3);
    fc.assert(
      fc.property(bytes, (value) => {
        let decodes = true;
        try {
          strict.decode(value);
        } catch {
          decodes = false;
        }
        const request = requestWithSpanFields(
          lengthDelimited(9, [...lengthDelimited(1, [0x6b]), ...lengthDelimited(2, lengthDelimited(1, value))]),
        );
        expect(vouchedSpanCount(request) !== undefined).toBe(decodes);
        // Not vouched for, the full path rejects the span alone: its text, not its framing, is at fault.
        expect(fullPath(request)).toEqual(decodes ? { accepted: 1, rejected: 0 } : { accepted: 0, rejected: 1 });
      }),
      { seed: 7, numRuns: 500 },
    );
  });

  it("counts every span of a TrueFoundry trace", () => {
    expect(vouchedSpanCount(toProtobuf(trueFoundryTrace()))).toBe(3);
  });
});
