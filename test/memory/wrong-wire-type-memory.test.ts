import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { SpanSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { runHeapCapped } from "../../scripts/lib/heap-capped.js";
import { concat } from "../../src/encoding/bytes.js";
import { relayConfig } from "../../src/env.js";
import { lengthDelimitedBytes, repeatedBytes } from "../support/wire.js";

/**
 * A known field sent with another wire type than its own: protobuf-es does not check it, and reads a
 * varint-typed `attributes` (0x48) followed by 0x00 as a KeyValue of length 0, two bytes an object;
 * a scalar sent length-delimited has its length read as its value and what it covers read as more
 * fields. Such a field is refused as malformed before anything is decoded.
 */
const limit = relayConfig({} as Env).maxDecompressedBytes;

const span = toBinary(
  SpanSchema,
  create(SpanSchema, { traceId: new Uint8Array(16).fill(1), spanId: new Uint8Array(8).fill(1), name: "x" }),
);

const SHAPES: Record<string, () => Uint8Array> = {
  // Span.attributes is field 9: tag 0x48 with wire type 0.
  "a span whose attributes field comes millions of times as a varint": () =>
    lengthDelimitedBytes(
      1,
      lengthDelimitedBytes(2, lengthDelimitedBytes(2, concat([span, repeatedBytes([0x48, 0x00], (limit - 512) / 2)]))),
    ),
  // Resource.attributes is field 1: tag 0x08 with wire type 0.
  "a resource whose attributes field comes millions of times as a varint": () =>
    lengthDelimitedBytes(
      1,
      concat([
        lengthDelimitedBytes(1, repeatedBytes([0x08, 0x00], (limit - 512) / 2)),
        lengthDelimitedBytes(2, lengthDelimitedBytes(2, span)),
      ]),
    ),
  // Span.kind (field 6, an enum) sent length-delimited: protobuf-es reads the length as the enum's value,
  // then reads the bytes it covered as more of the span's fields; the count skips them as one scalar field.
  "a span whose kind comes length-delimited, covering millions of empty attributes": () =>
    lengthDelimitedBytes(
      1,
      lengthDelimitedBytes(
        2,
        lengthDelimitedBytes(2, concat([span, lengthDelimitedBytes(6, repeatedBytes([0x4a, 0x00], (limit - 512) / 2))])),
      ),
    ),
};

describe("a protobuf request at the default limits of millions of known message fields with a varint's wire type, under a 128 MiB heap", () => {
  it.each(Object.keys(SHAPES))("%s is refused as malformed (400) before it is decoded, not built", (shape) => {
    const run = runHeapCapped(SHAPES[shape]!(), "protobuf", {});

    expect(run, JSON.stringify(run).slice(0, 300)).toMatchObject({ outcome: "refused", status: 400 });
  });
});
