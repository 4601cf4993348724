import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { SpanSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { runHeapCapped } from "../../scripts/lib/heap-capped.js";
import { concat } from "../../src/encoding/bytes.js";
import { relayConfig } from "../../src/env.js";
import { lengthDelimitedBytes, repeatedBytes } from "../support/wire.js";

/**
 * Protobuf whose weight is in millions of tiny fields that are not messages: protobuf-es keeps an
 * object for each unknown field, and the request's scan a range for every field of a resource or
 * scope that is not its list. Both are counted, and refused past their limits, before anything is built.
 */
const limit = relayConfig({} as Env).maxDecompressedBytes;

const span = toBinary(
  SpanSchema,
  create(SpanSchema, { traceId: new Uint8Array(16).fill(1), spanId: new Uint8Array(8).fill(1), name: "x" }),
);
/** schema_url (field 3 of ResourceSpans and of ScopeSpans), empty, given again and again: valid protobuf, the last one read. */
const emptySchemaUrls = () => repeatedBytes([0x1a, 0x00], (limit - 256) / 2);
/** Field 17, unknown to Span, a varint of 0: three bytes each. */
const unknownVarints = () => repeatedBytes([0x88, 0x01, 0x00], (limit - 256) / 3);

/** A status given twice (valid protobuf, the two merged), which has a span read by the fast path decoded whole. */
const statusTwice = concat([
  lengthDelimitedBytes(15, new Uint8Array([0x08, 0x02])),
  lengthDelimitedBytes(15, new Uint8Array([0x08, 0x02])),
]);

const SHAPES: Record<string, () => Uint8Array> = {
  "a resource whose schema_url is given millions of times": () =>
    lengthDelimitedBytes(1, concat([emptySchemaUrls(), lengthDelimitedBytes(2, lengthDelimitedBytes(2, span))])),
  "a scope whose schema_url is given millions of times": () =>
    lengthDelimitedBytes(1, lengthDelimitedBytes(2, concat([emptySchemaUrls(), lengthDelimitedBytes(2, span)]))),
  "a span of millions of unknown fields": () =>
    lengthDelimitedBytes(1, lengthDelimitedBytes(2, lengthDelimitedBytes(2, concat([span, unknownVarints()])))),
  "a span of millions of unknown fields and its status given twice": () =>
    lengthDelimitedBytes(1, lengthDelimitedBytes(2, lengthDelimitedBytes(2, concat([span, statusTwice, unknownVarints()])))),
};

describe("a protobuf request at the default limits of millions of tiny fields that are not messages, under a 128 MiB heap", () => {
  it.each([
    ["a resource whose schema_url is given millions of times", { translate: false }],
    ["a scope whose schema_url is given millions of times", { translate: false }],
  ])("%s is refused with 413 before it is decoded (%o)", (shape, settings) => {
    const run = runHeapCapped(SHAPES[shape]!(), "protobuf", settings);

    expect(run, JSON.stringify(run).slice(0, 300)).toMatchObject({ outcome: "refused", status: 413 });
  });

  it.each([
    ["a span of millions of unknown fields", { translate: false, redact: { values: ["emails"] } }],
    // Translation, the default: nothing but a status given twice has the span decoded whole.
    ["a span of millions of unknown fields and its status given twice", {}],
  ])("%s: the span is rejected on its own before it is decoded (%o)", (shape, settings) => {
    const run = runHeapCapped(SHAPES[shape]!(), "protobuf", settings);

    expect(run, JSON.stringify(run).slice(0, 300)).toEqual({ outcome: "completed", spans: 0, rejected: 1 });
  });
});
