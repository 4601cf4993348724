import { fromBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ExportTraceServiceRequestSchema } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { spansOf } from "../../scripts/lib/traces.js";
import { repairedUtf8 } from "../../src/encoding/bytes.js";
import { MAX_MENDED_STRINGS, textRepaired } from "../../src/receive/text-repair.js";
import { checkWire } from "../../src/receive/wire-check.js";
import { bytesAt, lengthDelimited, requestWithSpanFields, textWithBytesChanged } from "../support/wire.js";

const text = (bytes: number[]) => new TextDecoder("utf-8", { fatal: false, ignoreBOM: true }).decode(repairedUtf8(new Uint8Array(bytes)));

/** A request of one span with one attribute `k` whose string value is these bytes. */
function requestWithValue(value: Uint8Array | number[]): Uint8Array {
  return requestWithSpanFields(lengthDelimited(9, [...lengthDelimited(1, [0x6b]), ...lengthDelimited(2, lengthDelimited(1, value))]));
}

/** The mended request's one attribute value, as a strict decoder reads it. */
function valueIn(request: Uint8Array): unknown {
  return spansOf(fromBinary(ExportTraceServiceRequestSchema, request))[0]!.attributes[0]!.value?.value.value;
}

describe("text that is not UTF-8, made UTF-8", () => {
  it("reads half of a surrogate pair written as three bytes as one U+FFFD, as its JSON escape reads, and two halves so written as their character", () => {
    expect(text([0x61, 0xed, 0xa0, 0xbd])).toBe("a\ufffd");
    expect(text([0xed, 0xb8, 0x80, 0x62])).toBe("\ufffdb");
    expect(text([0x61, 0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80, 0x62])).toBe("a\u{1f600}b");
    // A low half before a high one is two halves alone.
    expect(text([0xed, 0xb8, 0x80, 0xed, 0xa0, 0xbd])).toBe("\ufffd\ufffd");
  });

  it("replaces every other fault as a decoder that does not throw does, and leaves characters and a leading byte order mark as they are", () => {
    expect(text([0xc3, 0x28, 0xff])).toBe("\ufffd(\ufffd");
    expect(text([0xed, 0xa0])).toBe("\ufffd\ufffd");
    expect(text([0xed, 0xa0, 0x41])).toBe("\ufffd\ufffdA");
    expect(text([0xed, 0xc3, 0xa9])).toBe("\ufffd\u00e9");
    expect(text([0xf0, 0x9f, 0x98])).toBe("\ufffd");
    expect(text([0xef, 0xbb, 0xbf, 0xed, 0x9f, 0xbf, 0xed, 0xbf, 0xbf])).toBe("\ufeff\ud7ff\ufffd");
  });

  it("mends a request's strings that are not UTF-8 and keeps every other byte: the wire check then vouches for it", () => {
    const request = requestWithValue([0x6f, 0x6b, 0x20, 0xed, 0xa0, 0xbd]);
    expect(checkWire(request)).toMatchObject({ vouched: false, textValid: false });

    const mended = textRepaired(request, 1024)!;

    expect(valueIn(mended)).toBe("ok \ufffd");
    expect(checkWire(mended)).toEqual({ spans: 1, vouched: true, textValid: true });
    // U+FFFD takes three bytes as the half did: every other byte, the span's ids among them, is where it was.
    const expected = request.slice();
    expected.set([0xef, 0xbf, 0xbd], bytesAt(request, new Uint8Array([0xed, 0xa0, 0xbd])));
    expect(mended).toEqual(expected);
  });

  it("mends nothing, and says so, for a request whose text is all UTF-8", () => {
    expect(textRepaired(requestWithValue(new TextEncoder().encode("ok \u{1f600}")), 1024)).toBeUndefined();
  });

  it("leaves a request alone when mended it would be over the limit, and mends it when it would reach it exactly", () => {
    // A faulty byte becomes U+FFFD's three; every length around it stays under 128, so stays one byte.
    const request = requestWithValue([0x61, 0xff]);

    expect(textRepaired(request, request.byteLength + 1)).toBeUndefined();
    expect(valueIn(textRepaired(request, request.byteLength + 2)!)).toBe("a\ufffd");
  });

  it("mends at most MAX_MENDED_STRINGS strings of a request, each held until it is assembled, and leaves one with more alone", () => {
    const faultyKeys = (count: number) =>
      requestWithSpanFields(Array.from({ length: count }, () => lengthDelimited(9, lengthDelimited(1, [0xff]))).flat());

    const mended = textRepaired(faultyKeys(MAX_MENDED_STRINGS), Number.POSITIVE_INFINITY)!;

    const attributes = spansOf(fromBinary(ExportTraceServiceRequestSchema, mended))[0]!.attributes;
    expect(attributes).toHaveLength(MAX_MENDED_STRINGS);
    expect(attributes.every((attribute) => attribute.key === "\ufffd")).toBe(true);
    expect(textRepaired(faultyKeys(MAX_MENDED_STRINGS + 1), Number.POSITIVE_INFINITY)).toBeUndefined();
  });

  it("counts the lengths that grow a byte with the text as well: a faulty byte becomes three", () => {
    const request = requestWithValue(new Array(100).fill(0xff));

    const size = textRepaired(request, Number.POSITIVE_INFINITY)!.byteLength;

    // 200 bytes more for the text, and a byte more for each length past 127 now.
    expect(size - request.byteLength).toBeGreaterThanOrEqual(200);
    expect(textRepaired(request, size - 1)).toBeUndefined();
    expect(valueIn(textRepaired(request, size)!)).toBe("\ufffd".repeat(100));
  });

  it("makes any text with a few bytes changed what a strict decoder reads, the same as a lenient one where no half of a pair is involved", () => {
    const lenient = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
    const changed = textWithBytesChanged(1, 4);
    fc.assert(
      fc.property(changed, (value) => {
        const request = requestWithValue(value);
        const mended = textRepaired(request, 4 * request.byteLength);
        if (checkWire(request)?.textValid) {
          expect(mended).toBeUndefined();
          return;
        }
        expect(checkWire(mended!)).toEqual({ spans: 1, vouched: true, textValid: true });
        if (!value.includes(0xed)) expect(valueIn(mended!)).toBe(lenient.decode(value));
      }),
      { seed: 11, numRuns: 500 },
    );
  });
});
