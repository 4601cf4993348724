import { fromBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  type ExportTraceServiceRequest,
  ExportTraceServiceRequestSchema,
} from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { AnyValueSchema } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { attr, toProtobuf } from "../../scripts/lib/traces.js";
import { hex } from "../../src/encoding/bytes.js";
import { halveRequest, outgoingSpansOf, type RequestPiece, sizeBound, splitRequest } from "../../src/otlp/outgoing.js";
import { assemble, scanRequest, sizeOf, TooManyHeaderFields, TooManySpans } from "../../src/otlp/wire.js";
import { requestOf, spanIdsOf, spanWith, variedRequest } from "../support/traces.js";
import { lengthDelimited, spanFields, varint } from "../support/wire.js";

const decode = (piece: RequestPiece) => fromBinary(ExportTraceServiceRequestSchema, piece.protobuf);

/** Each span id with its resource's and scope's fields, as a receiver of the pieces sees them. */
function placedSpans(request: ExportTraceServiceRequest): string[] {
  return request.resourceSpans.flatMap(({ scopeSpans, ...resource }) =>
    scopeSpans.flatMap(({ spans, ...scope }) =>
      spans.map((span) => `${hex(span.spanId)} ${JSON.stringify({ resource, scope }, (_k, v) => (v instanceof Uint8Array ? hex(v) : v))}`),
    ),
  );
}

/** A request of `count` spans of one size under one resource and scope. */
const evenRequest = (count: number) => toProtobuf(requestOf(Array.from({ length: count }, (_, i) => spanWith(`span ${i % 10}`, []))));

describe("scanning a request", () => {
  it("finds as many spans as the caller allows, and stops at the first one past", () => {
    const bytes = evenRequest(3);

    expect(scanRequest(bytes, 3).resources[0]!.scopes[0]!.spans).toHaveLength(3);
    expect(() => scanRequest(bytes, 2)).toThrow(TooManySpans);
    expect(() => scanRequest(bytes, 2)).toThrow("more than 2 spans");
  });

  it("keeps as many fields of resources and scopes as the caller allows, counted across both, and stops at the first one past", () => {
    const schemaUrl = lengthDelimited(3, [0x78]);
    const scope = lengthDelimited(2, [...schemaUrl, ...schemaUrl, ...lengthDelimited(2, spanFields())]);
    const bytes = new Uint8Array(lengthDelimited(1, [...schemaUrl, ...scope]));

    const { header, scopes } = scanRequest(bytes, Number.POSITIVE_INFINITY, 3).resources[0]!;
    expect([header.length, scopes[0]!.header.length]).toEqual([1, 2]);
    expect(() => scanRequest(bytes, Number.POSITIVE_INFINITY, 2)).toThrow(TooManyHeaderFields);
    expect(() => scanRequest(bytes, Number.POSITIVE_INFINITY, 2)).toThrow("more than 2 fields of resources and scopes");
  });

  it("reads a resource's field 1000 as its scopes only when it has no scope_spans and the field is length-delimited, keeping its other fields", () => {
    const resourceField = lengthDelimited(1, lengthDelimited(1, lengthDelimited(1, [0x6b])));
    const varintField1000 = [...varint(1000 << 3), 0x01];
    const scopeSpans = lengthDelimited(2, spanFields());
    const legacyScope = [...varint((1000 << 3) | 2), ...varint(scopeSpans.length), ...scopeSpans];
    const bytes = new Uint8Array(lengthDelimited(1, [...resourceField, ...varintField1000, ...legacyScope]));

    const { resources, legacyScopes } = scanRequest(bytes);

    expect(legacyScopes).toBe(true);
    expect(resources[0]!.header.map(({ start, end }) => [...bytes.subarray(start, end)])).toEqual([resourceField, varintField1000]);
    expect(resources[0]!.scopes.map((scope) => scope.spans.length)).toEqual([1]);
    expect(scanRequest(evenRequest(1)).legacyScopes).toBe(false);
  });
});

describe("assembling a message", () => {
  it("writes a nested field's length as a decoder reads it, at each length where its varint takes another byte", () => {
    for (const length of [127, 128, 129, 16_383, 16_384]) {
      const pieces = [{ field: 1, pieces: [new Uint8Array(length).fill(0x61)] }];

      const bytes = assemble(new Uint8Array(), pieces);

      expect(bytes.byteLength, `${length}`).toBe(sizeOf(pieces));
      expect(fromBinary(AnyValueSchema, bytes).value, `${length}`).toEqual({ case: "stringValue", value: "a".repeat(length) });
    }
  });

  it("writes the tag of a field numbered 16 or more in the two bytes it takes", () => {
    const pieces = [{ field: 16, pieces: [new Uint8Array([0x61])] }];

    expect(sizeOf(pieces)).toBe(4);
    expect([...assemble(new Uint8Array(), pieces)]).toEqual([0x82, 0x01, 0x01, 0x61]);
  });
});

describe("splitting a request by size", () => {
  it("keeps every span under its own resource and scope, each piece within the limit", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const request = variedRequest(seed);
      const bytes = toProtobuf(request);

      for (const limit of [300, 1_000, 5_000]) {
        const pieces = splitRequest(bytes, limit, limit);

        expect(pieces.flatMap((p) => placedSpans(decode(p))).toSorted()).toEqual(
          placedSpans(fromBinary(ExportTraceServiceRequestSchema, bytes)).toSorted(),
        );
        for (const piece of pieces) {
          expect(piece.spans).toBe(spanIdsOf(decode(piece)).length);
          if (piece.spans > 1) expect(piece.protobuf.byteLength).toBeLessThanOrEqual(limit);
        }
      }
    }
  });

  it("fills each piece up to the limit, counting its resource and scope once and each length prefix at its longest", () => {
    const bytes = evenRequest(10);
    const [span] = outgoingSpansOf(bytes);
    // A length-delimited field: its tag and a length prefix of up to 5 bytes.
    const field = (size: number) => size + 6;
    const threeSpans = field(span!.scope.resource.size) + field(span!.scope.header.size) + 3 * field(span!.size);

    expect(splitRequest(bytes, threeSpans, threeSpans).map((p) => p.spans)).toEqual([3, 3, 3, 1]);
    expect(splitRequest(bytes, threeSpans - 1, threeSpans).map((p) => p.spans)).toEqual([2, 2, 2, 2, 2]);
  });

  it("cuts a span that fits the limit exactly, with its resource and scope, by size, not with the spans over it", () => {
    const bytes = evenRequest(2);
    const [span] = outgoingSpansOf(bytes);
    const oneSpan = sizeBound([span!]);

    expect(splitRequest(bytes, oneSpan, 10 * oneSpan).map(({ protobuf: _, ...place }) => place)).toEqual([
      { at: 0, spans: 1 },
      { at: 1, spans: 1 },
    ]);
  });

  it("sends a span larger than the limit alone, and nothing for a request without spans", () => {
    const bytes = evenRequest(3);

    expect(splitRequest(bytes, 10, 10).map((p) => spanIdsOf(decode(p)))).toEqual(
      spanIdsOf(fromBinary(ExportTraceServiceRequestSchema, bytes)).map((id) => [id]),
    );
    expect(splitRequest(toProtobuf(requestOf([])), 1_000, 1_000)).toEqual([]);
  });
  it("puts spans over the limit only with their resource and scope together, one copy of the resource a piece, not one a span", () => {
    const request = requestOf(Array.from({ length: 30 }, (_, i) => spanWith(`span ${i}`, [])));
    request.resourceSpans[0]!.resource!.attributes.push(attr("process.command_line", "x".repeat(2_000)));
    const bytes = toProtobuf(request);
    const [span] = outgoingSpansOf(bytes);

    const pieces = splitRequest(bytes, 1_000, 10_000);

    // Each span is far under the limit, its resource alone over it.
    expect(span!.size).toBeLessThan(100);
    expect(pieces.map(({ spans, ...place }) => ("together" in place ? place.together : undefined))).toEqual([0]);
    expect(pieces.map((p) => p.spans)).toEqual([30]);
    expect(spanIdsOf(decode(pieces[0]!))).toEqual(spanIdsOf(request));
    // A span larger than the limit on its own still goes alone, where it was cut.
    expect(splitRequest(bytes, 10, 10_000).map((p) => ("at" in p ? p.at : undefined))).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });
});

describe("halving a request", () => {
  it("gives the first half the middle span, each half its spans' resource and scope", () => {
    for (const count of [2, 3, 5]) {
      const bytes = evenRequest(count);
      const whole = placedSpans(fromBinary(ExportTraceServiceRequestSchema, bytes));

      const halves = halveRequest(bytes)!;

      expect(halves.map((h) => h.spans)).toEqual([Math.ceil(count / 2), Math.floor(count / 2)]);
      expect(halves.map((h) => placedSpans(decode(h)))).toEqual([whole.slice(0, Math.ceil(count / 2)), whole.slice(Math.ceil(count / 2))]);
    }
  });

  it("cannot halve a single span", () => {
    expect(halveRequest(evenRequest(1))).toBeUndefined();
  });
});
