import { gzipSync } from "node:zlib";
import { create, fromBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ExportTraceServiceRequestSchema } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { Span_LinkSchema, Span_SpanKind, SpanSchema, Status_StatusCode } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { randomId, spansOf, toOtlpJson, toProtobuf, trueFoundryTrace } from "../../scripts/lib/traces.js";
import { requestOfSpans, WORST_SHAPES } from "../../scripts/lib/worst-shapes.js";
import { concat, hex } from "../../src/encoding/bytes.js";
import { RelayError } from "../../src/http/errors.js";
import { otlpFormatOf } from "../../src/otlp/format.js";
import { contentCodingOf, requireOtlpFormat } from "../../src/receive/content-type.js";
import { readSpans } from "../../src/receive/read-spans.js";
import { MAX_HEADER_FIELDS_PER_REQUEST, MAX_MESSAGES_PER_SPAN, MAX_SPANS_PER_REQUEST } from "../../src/receive/request-limits.js";
import { allAtOnce } from "../../src/receive/turns.js";
import { invalidLinkReason, invalidSpanReason } from "../../src/receive/validate.js";
import { readRequest, relayed } from "../support/pipeline.js";
import { requestOf, spanWith } from "../support/traces.js";
import {
  deeplyNestedAnyValue,
  group,
  lengthDelimited,
  requestWithScopeFields,
  requestWithSpanFields,
  spanFields,
  varint,
} from "../support/wire.js";

const TRACE_ID = "5B8EFFF798038103D269B633813FC60C";
const SPAN_ID = "EEE19B7EC3C1B174";

/** What a function throws, as the client would see it: status and message. */
function refusal(run: () => unknown): { status: number; message: string } {
  try {
    run();
  } catch (err) {
    if (err instanceof RelayError) return { status: err.status, message: err.message };
    throw err;
  }
  throw new Error("expected a refusal");
}

/** OTLP JSON text with one span carrying these fields. */
function jsonWithSpan(span: Record<string, unknown>): string {
  return JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: TRACE_ID, spanId: SPAN_ID, ...span }] }] }] });
}

const utf8 = (text: string) => new TextEncoder().encode(text);

/** A scope, and a resource, of one valid span, as OTLP JSON text. */
const SPANS_SCOPE = JSON.stringify({ spans: [{ traceId: TRACE_ID, spanId: SPAN_ID, name: "x" }] });
const SPANS_RESOURCE = `{"scopeSpans":[${SPANS_SCOPE}]}`;
const NOT_JSON = /^request body is not valid JSON$/;

/** A request of one empty span more than the limit per request, as protobuf fields, and its refusal. */
const OVER_SPAN_LIMIT = lengthDelimited(
  1,
  lengthDelimited(
    2,
    Array(MAX_SPANS_PER_REQUEST + 1)
      .fill([0x12, 0])
      .flat(),
  ),
);
const TOO_MANY_SPANS = {
  status: 413,
  message: `request holds more than ${MAX_SPANS_PER_REQUEST} spans, the limit per request: export smaller batches`,
};

/** The request as the relay reads it, valid spans only. */
const decoded = (bytes: Uint8Array, format: "protobuf" | "json") => readRequest(bytes, format).request;
const readJson = (text: string) => readRequest(utf8(text), "json");

describe("content types and encodings", () => {
  it.each([
    ["application/x-protobuf", "protobuf"],
    ["application/protobuf", "protobuf"],
    ["Application/X-Protobuf; charset=binary", "protobuf"],
    ["application/json", "json"],
    [" application/json ; charset=utf-8", "json"],
    ["application/jsonl", undefined],
    ["text/plain", undefined],
    ["", undefined],
    [undefined, undefined],
  ])("%j is %s", (contentType, format) => {
    expect(otlpFormatOf(contentType)).toBe(format);
  });

  it("refuses any other content type with 415, naming it", () => {
    expect(requireOtlpFormat("application/json")).toBe("json");
    expect(refusal(() => requireOtlpFormat("text/plain"))).toEqual({
      status: 415,
      message: 'unsupported content type "text/plain": send application/x-protobuf or application/json',
    });
    expect(refusal(() => requireOtlpFormat(undefined))).toEqual({
      status: 415,
      message: 'unsupported content type "": send application/x-protobuf or application/json',
    });
  });

  it.each([
    "application/json; charset=utf-8",
    "application/json;charset=UTF-8",
    'application/json; CharSet="Utf-8"',
    "application/json; charset=utf8",
  ])("takes JSON declared as UTF-8: %j", (contentType) => {
    expect(requireOtlpFormat(contentType)).toBe("json");
  });

  it.each([
    ["application/json; charset=utf-16", '"utf-16"'],
    ["application/json; charset=UTF-16LE", '"UTF-16LE"'],
    ['application/json; charset="iso-8859-1"', '"iso-8859-1"'],
    ["application/json; charset=utf-8; charset=us-ascii", '"us-ascii"'],
    ["application/json; charset=", '""'],
  ])("refuses JSON declared in another charset with 415, naming it: %j", (contentType, shown) => {
    expect(refusal(() => requireOtlpFormat(contentType))).toEqual({
      status: 415,
      message: `unsupported charset ${shown} for application/json: OTLP JSON is UTF-8, send it as UTF-8 (charset=utf-8 or none)`,
    });
  });

  it("quotes a content encoding of 24 characters, and names one of 25 by its length", () => {
    expect(refusal(() => contentCodingOf("x".repeat(24))).message).toBe(
      `unsupported content encoding "${"x".repeat(24)}": send gzip, deflate or no encoding`,
    );
    expect(refusal(() => contentCodingOf("x".repeat(25))).message).toBe(
      "unsupported content encoding of 25 characters: send gzip, deflate or no encoding",
    );
  });

  it("names a content type or encoding longer than 24 characters only by its length: a key pasted there does not come back", () => {
    const key = "sk-Zq8PmR2xVbN7kLwT4yHcJ6dFgS9aE3uQ1oIpK5nMvXzB0rWt";
    expect(refusal(() => requireOtlpFormat(`application/json, ${key}`)).message).toBe(
      `unsupported content type of ${key.length + 18} characters: send application/x-protobuf or application/json`,
    );
    expect(refusal(() => contentCodingOf(key)).message).toBe(
      `unsupported content encoding of ${key.length} characters: send gzip, deflate or no encoding`,
    );
    // Base64, whose `/` and `=` a media type has too.
    const base64 = "q2xH3n9VbLp0ZkT8rW4sYd/uE1cJ7mAfGo5RiNh6Pw=";
    expect(refusal(() => contentCodingOf(base64)).message).toBe(
      `unsupported content encoding of ${base64.length} characters: send gzip, deflate or no encoding`,
    );
    expect(refusal(() => requireOtlpFormat("text/html; charset=utf8")).message).toMatch(
      /^unsupported content type "text\/html; charset=utf8": /,
    );
  });

  it("names a longer content type a client sends by mistake by its media type, and says when it is the form curl sends by default", () => {
    expect(refusal(() => requireOtlpFormat("application/x-www-form-urlencoded")).message).toBe(
      `unsupported content type "application/x-www-form-urlencoded" (a form, as curl sends one without -H 'content-type: …'): send application/x-protobuf or application/json`,
    );
    expect(refusal(() => requireOtlpFormat("multipart/form-data; boundary=------------------------d74496d66958873e")).message).toBe(
      `unsupported content type "multipart/form-data" (a form, as curl sends one without -H 'content-type: …'): send application/x-protobuf or application/json`,
    );
    expect(refusal(() => requireOtlpFormat("application/x-google-protobuf; charset=utf-8")).message).toBe(
      `unsupported content type "application/x-google-protobuf": send application/x-protobuf or application/json`,
    );
    // Any other media type as long as a key may be one written after a type's name.
    const key = "sk-Zq8PmR2xVbN7kLwT4yHcJ6dFgS9aE3uQ1oIpK5nMvXzB0rWt";
    expect(refusal(() => requireOtlpFormat(`application/${key}`)).message).toBe(
      `unsupported content type of ${key.length + 12} characters: send application/x-protobuf or application/json`,
    );
  });

  it.each([
    [undefined, "identity"],
    ["", "identity"],
    ["identity", "identity"],
    [" , ", "identity"],
    ["gzip", "gzip"],
    ["GZIP", "gzip"],
    ["x-gzip", "gzip"],
    ["identity, gzip", "gzip"],
    [" deflate ", "deflate"],
  ])("encoding %j is %s", (encoding, coding) => {
    expect(contentCodingOf(encoding)).toBe(coding);
  });

  it.each(["br", "gzip, gzip", "gzip, deflate", "deflate, gzip", "compress"])("refuses encoding %j with 415", (encoding) => {
    expect(refusal(() => contentCodingOf(encoding))).toEqual({
      status: 415,
      message: `unsupported content encoding ${JSON.stringify(encoding)}: send gzip, deflate or no encoding`,
    });
  });
});

describe("decoding protobuf", () => {
  it("decodes an ExportTraceServiceRequest", () => {
    const trace = trueFoundryTrace();

    expect(decoded(toProtobuf(trace), "protobuf")).toEqual(trace);
  });

  it("answers bytes that are not one with 400 saying why", () => {
    const body = toProtobuf(trueFoundryTrace());

    expect(refusal(() => decoded(body.slice(0, -7), "protobuf"))).toMatchObject({
      status: 400,
      message: expect.stringMatching(/^request body is not a valid ExportTraceServiceRequest: .+/),
    });
    expect(refusal(() => decoded(body.slice(0, 10), "protobuf"))).toEqual({
      status: 400,
      message: "request body is not a valid ExportTraceServiceRequest: field 1 runs past the end of its message",
    });
  });

  it("refuses a list of scopes or spans under another wire type with 400: a decoder ignoring wire types would read a span there unchecked", () => {
    // `10 <length>` is field 2 as a varint, which protobuf-es reads as the length of the span after it.
    const hidden = spanFields(
      lengthDelimited(9, [...lengthDelimited(1, utf8("user.email")), ...lengthDelimited(2, lengthDelimited(1, utf8("a@b.c")))]),
    );
    const asVarint = [0x10, ...varint(hidden.length), ...hidden];
    const spanBeside = lengthDelimited(2, spanFields());
    const resourceOfSpan = lengthDelimited(1, lengthDelimited(2, spanBeside));
    const bodies = {
      // Beside a span the relay reads, and in a scope of no other span, which the relay would leave out unread.
      "in a scope beside a span": new Uint8Array(lengthDelimited(1, lengthDelimited(2, [...asVarint, ...spanBeside]))),
      "in a scope of no other span": new Uint8Array([...lengthDelimited(1, lengthDelimited(2, asVarint)), ...resourceOfSpan]),
      "a scope in a resource": new Uint8Array([
        ...lengthDelimited(1, [0x10, ...varint(spanBeside.length), ...spanBeside]),
        ...resourceOfSpan,
      ]),
    };
    expect(
      fromBinary(ExportTraceServiceRequestSchema, bodies["in a scope beside a span"]).resourceSpans[0]!.scopeSpans[0]!.spans,
    ).toHaveLength(2);

    expect(refusal(() => decoded(bodies["in a scope beside a span"], "protobuf"))).toEqual({
      status: 400,
      message: "request body is not a valid ExportTraceServiceRequest: field 2 (spans) of a scope_spans is not length-delimited",
    });
    expect(refusal(() => decoded(bodies["in a scope of no other span"], "protobuf")).status).toBe(400);
    expect(refusal(() => decoded(bodies["a scope in a resource"], "protobuf"))).toEqual({
      status: 400,
      message: "request body is not a valid ExportTraceServiceRequest: field 2 (scope_spans) of a resource_spans is not length-delimited",
    });
  });

  it("refuses a known field under another wire type at any depth with 400, however small its span, resource or scope", () => {
    const attribute = [...lengthDelimited(1, utf8("user.email")), ...lengthDelimited(2, lengthDelimited(1, utf8("a@b.c")))];
    // protobuf-es reads a varint where a message belongs as the length of the bytes after it; other decoders skip it.
    const attributeAsVarint = [0x48, ...varint(attribute.length), ...attribute];
    // A varint field written length-delimited: protobuf-es reads its length as the value, and what it covered as span fields.
    const spanIdInside = lengthDelimited(2, new Uint8Array(8).fill(7));
    const countAsLength = [0x52, ...varint(spanIdInside.length), ...spanIdInside];
    const valueAsVarint = lengthDelimited(9, [...lengthDelimited(1, utf8("k")), 0x10, 0x00]);

    expect(refusal(() => decoded(requestWithSpanFields(attributeAsVarint), "protobuf"))).toEqual({
      status: 400,
      message:
        "request body is not a valid ExportTraceServiceRequest: field 9 of opentelemetry.proto.trace.v1.Span has wire type 0, where it has 2",
    });
    expect(refusal(() => decoded(requestWithSpanFields(countAsLength), "protobuf"))).toEqual({
      status: 400,
      message:
        "request body is not a valid ExportTraceServiceRequest: field 10 of opentelemetry.proto.trace.v1.Span has wire type 2, where it has 0",
    });
    expect(refusal(() => decoded(requestWithSpanFields(valueAsVarint), "protobuf"))).toEqual({
      status: 400,
      message:
        "request body is not a valid ExportTraceServiceRequest: field 2 of opentelemetry.proto.common.v1.KeyValue has wire type 0, where it has 2",
    });
    // A parent_span_id tagged as a varint, its 8 bytes after it: protobuf-es reads them as the parent.
    expect(refusal(() => decoded(requestWithSpanFields([0x20, 0x08, 1, 2, 3, 4, 5, 6, 7, 8]), "protobuf")).status).toBe(400);
    // A KeyValue two bytes long whose key runs a byte past it: protobuf-es reads on into the span.
    expect(refusal(() => decoded(requestWithSpanFields([...lengthDelimited(9, [0x0a, 0x01]), 0x6b]), "protobuf"))).toEqual({
      status: 400,
      message: "request body is not a valid ExportTraceServiceRequest: field 1 runs past the end of its message",
    });
    const resourceAsVarint = new Uint8Array(lengthDelimited(1, [0x08, 0x01, ...lengthDelimited(2, lengthDelimited(2, spanFields()))]));
    expect(refusal(() => decoded(resourceAsVarint, "protobuf"))).toEqual({
      status: 400,
      message:
        "request body is not a valid ExportTraceServiceRequest: field 1 of opentelemetry.proto.trace.v1.ResourceSpans has wire type 0, where it has 2",
    });
    expect(refusal(() => decoded(requestWithScopeFields([0x08, 0x01]), "protobuf"))).toEqual({
      status: 400,
      message:
        "request body is not a valid ExportTraceServiceRequest: field 1 of opentelemetry.proto.trace.v1.ScopeSpans has wire type 0, where it has 2",
    });
  });

  it("names a body's content coding or type when it was sent as another: gzip without Content-Encoding, JSON as protobuf", () => {
    const gzipped = gzipSync(toProtobuf(trueFoundryTrace()));
    for (const format of ["protobuf", "json"] as const)
      expect(refusal(() => decoded(gzipped, format))).toEqual({
        status: 400,
        message: "request body is gzip-compressed, but came without Content-Encoding: gzip",
      });
    // Unix compress opens with 0x1f too, then 0x9d: no gzip, and not called so.
    for (const format of ["protobuf", "json"] as const)
      expect(refusal(() => decoded(new Uint8Array([0x1f, 0x9d, 0x90, 0x7b]), format)).message).not.toMatch(/gzip/);
    expect(refusal(() => decoded(utf8(` \t\r${JSON.stringify(toOtlpJson(trueFoundryTrace()))}`), "protobuf"))).toEqual({
      status: 400,
      message: expect.stringMatching(/ \(the body looks like JSON: send JSON as application\/json\)$/),
    });
    expect(refusal(() => decoded(utf8(`\uFEFF${JSON.stringify(toOtlpJson(trueFoundryTrace()))}`), "protobuf")).message).toMatch(
      /\(the body looks like JSON: send JSON as application\/json\)$/,
    );
    // A line feed is also the tag a protobuf request opens with: a broken one gets no word of JSON.
    expect(refusal(() => decoded(new Uint8Array([0x0a, 0x7b, 0x01]), "protobuf")).message).not.toMatch(/JSON/);
  });

  it("takes protobuf whose second byte is gzip's alone: a first resource 139 bytes long, its length opening with 0x8b", () => {
    const bodyNamed = (name: string) => toProtobuf(requestOf([spanWith(name, [])]));
    const name = Array.from({ length: 200 }, (_, n) => "x".repeat(n)).find((n) => bodyNamed(n)[1] === 0x8b)!;
    const body = bodyNamed(name);

    expect([...body.subarray(0, 3)]).toEqual([0x0a, 0x8b, 0x01]);
    expect(spansOf(decoded(body, "protobuf")).map((s) => s.name)).toEqual([name]);
  });

  it("says a body looks like the other format only when it is malformed: one past a limit keeps its 413 and its words", () => {
    // Protobuf opening with an unknown field 4 whose varint is 0x7b: a space and a brace, as JSON opens.
    const body = new Uint8Array([0x20, 0x7b, ...OVER_SPAN_LIMIT]);

    expect(refusal(() => decoded(body, "protobuf"))).toEqual(TOO_MANY_SPANS);
  });

  it("names protobuf sent as JSON (a gateway's encoding set to json, a client sending protobuf), and not JSON opening with a line feed", () => {
    const protobuf = toProtobuf(trueFoundryTrace());
    expect(refusal(() => decoded(protobuf, "json"))).toEqual({
      status: 400,
      message: expect.stringMatching(/ \(the body looks like protobuf: send protobuf as application\/x-protobuf\)$/),
    });
    // Whatever the first resource's length, a line feed or a brace to JSON.
    for (const length of [91, 123, 128]) {
      const lengthBytes = length < 0x80 ? [length] : [(length & 0x7f) | 0x80, length >> 7];
      const framed = new Uint8Array([0x0a, ...lengthBytes, ...new Uint8Array(length).fill(0x0a)]);
      expect(refusal(() => decoded(framed, "json")).message, String(length)).toMatch(/looks like protobuf/);
    }
    // Framed as fields, but not all resource spans: no request.
    expect(refusal(() => decoded(new Uint8Array([0x0a, 0x01, 0x20, 0x12, 0x01, 0x20]), "json")).message).not.toMatch(/protobuf/);
    for (const json of ['\n{"resourceSpans": [}', "\n\n[1]", "\n\r\n{", "\nnull"])
      expect(refusal(() => decoded(utf8(json), "json")).message, json).not.toMatch(/protobuf/);
  });

  it("rejects a span nesting past 100 messages deep on its own, saying so; the rest goes on", () => {
    // Each level of an array attribute value is two messages: AnyValue and ArrayValue.
    const nested = (depth: number) =>
      lengthDelimited(9, [...lengthDelimited(1, [0x6b]), ...lengthDelimited(2, deeplyNestedAnyValue(depth, "array"))]);
    const span = (name: string, more: number[]) =>
      lengthDelimited(2, [
        ...lengthDelimited(1, randomId(16)),
        ...lengthDelimited(2, randomId(8)),
        ...lengthDelimited(5, utf8(name)),
        ...more,
      ]);
    // Three levels to the span, two to the value, 47 of array and the last value: 100 in all.
    const body = new Uint8Array(
      lengthDelimited(1, lengthDelimited(2, [...span("deepest taken", nested(47)), ...span("deeper", nested(48))])),
    );
    expect(() => fromBinary(ExportTraceServiceRequestSchema, body)).toThrow(/maximum recursion depth/);

    const { request, rejections } = readRequest(body, "protobuf");

    expect(spansOf(request).map((s) => s.name)).toEqual(["deepest taken"]);
    expect(rejections.message).toBe(
      'rejected 1 of 2 spans: span "deeper": a value in it is nested past 100 levels of messages, the most a request may hold',
    );
    for (const settings of [{ translate: false }, {}]) {
      expect(spansOf(relayed(body, settings).requests[0]!.request).map((s) => s.name)).toEqual(["deepest taken"]);
    }
  });

  it("skips unknown fields of every wire type, groups within groups included, as protobuf-es does", () => {
    const span = lengthDelimited(2, spanFields());
    const body = new Uint8Array([
      ...lengthDelimited(5, [0xff, 0xff]),
      ...lengthDelimited(1, [
        ...lengthDelimited(2, [...group(9, [...varint(8), 1, ...group(10, [])]), ...span]),
        ...varint((12 << 3) | 1),
        ...[1, 2, 3, 4, 5, 6, 7, 8],
      ]),
      ...varint((13 << 3) | 5),
      ...[9, 9, 9, 9],
    ]);
    const whole = fromBinary(ExportTraceServiceRequestSchema, body);

    const request = decoded(body, "protobuf");

    expect(spansOf(request)).toHaveLength(1);
    expect(request.resourceSpans[0]!.scopeSpans).toEqual(whole.resourceSpans[0]!.scopeSpans);
    expect(request.resourceSpans[0]!.$unknown).toEqual(whole.resourceSpans[0]!.$unknown);
  });

  const prefix = "request body is not a valid ExportTraceServiceRequest: ";
  const nestedGroups = (depth: number): number[] => (depth === 0 ? [] : group(9, nestedGroups(depth - 1)));
  const tooLongVarint = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
  it.each([
    ["a group ended by another field's tag", requestWithScopeFields(group(9, [], 10)), "group 9 ends with the tag of another field"],
    ["a group without its end", requestWithScopeFields(varint((9 << 3) | 3)), "group 9 runs past the end of its message"],
    ["an end-group tag outside a group", requestWithScopeFields(varint((9 << 3) | 4)), "field 9 has wire type 4, which starts no field"],
    ["groups nested 101 deep", requestWithScopeFields(nestedGroups(101)), "groups nested too deep"],
    ["a field numbered 0", requestWithScopeFields([0x00, 1]), "a field has number 0"],
    ["wire type 6", requestWithScopeFields([(9 << 3) | 6]), "field 9 has wire type 6, which starts no field"],
    ["wire type 7", requestWithScopeFields([(9 << 3) | 7]), "field 9 has wire type 7, which starts no field"],
    [
      "a varint of 11 bytes",
      requestWithScopeFields([...varint(7 << 3), ...tooLongVarint]),
      "a varint is cut short or longer than 10 bytes",
    ],
    [
      "a varint cut short",
      new Uint8Array([...requestWithScopeFields([]), ...varint(7 << 3), 0x80]),
      "a varint is cut short or longer than 10 bytes",
    ],
    [
      "a fixed32 field cut short",
      new Uint8Array([...requestWithScopeFields([]), ...varint((7 << 3) | 5), 1, 2, 3]),
      "field 7 runs past the end of its message",
    ],
    [
      "resource_spans that is not length-delimited",
      new Uint8Array([...varint(1 << 3), 5, ...requestWithScopeFields([])]),
      "field 1 (resource_spans) is not length-delimited",
    ],
  ])("answers %s with 400 saying so", (_what, body, words) => {
    expect(refusal(() => decoded(body, "protobuf"))).toEqual({ status: 400, message: `${prefix}${words}` });
  });

  it("refuses a tag longer than 5 bytes or past 32 bits with 400, as protobuf-es does, where no decoder reads the request whole", () => {
    const span = spanFields();
    const resourceSpans = lengthDelimited(2, lengthDelimited(2, span));
    const visible = lengthDelimited(1, resourceSpans);
    // resource_spans's tag (0x0a) written in 6 bytes, and in 5 with bit 32 set: read as field 2^29 + 1, a field no decoder reads.
    const longTag = [0x8a, 0x80, 0x80, 0x80, 0x80, 0x00];
    const pastThirtyTwoBits = [0x8a, 0x80, 0x80, 0x80, 0x10];
    const bodies = {
      "resource_spans's tag in 6 bytes": new Uint8Array([...longTag, ...varint(resourceSpans.length), ...resourceSpans]),
      "a tag past 32 bits beside a resource": new Uint8Array([
        ...visible,
        ...pastThirtyTwoBits,
        ...varint(resourceSpans.length),
        ...resourceSpans,
      ]),
      // 2^32 exactly: read as field 2^29 of wire type 0, a varint the relay would skip.
      "a tag of exactly 2^32 beside a resource": new Uint8Array([...visible, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00]),
      "a span's tag in 6 bytes": new Uint8Array(
        lengthDelimited(1, lengthDelimited(2, [0x92, 0x80, 0x80, 0x80, 0x80, 0x00, ...varint(span.length), ...span])),
      ),
    };
    for (const [what, body] of Object.entries(bodies)) {
      expect(() => fromBinary(ExportTraceServiceRequestSchema, body), what).toThrow("illegal tag: varint overflows uint32");
      expect(
        refusal(() => decoded(body, "protobuf")),
        what,
      ).toEqual({
        status: 400,
        message: `${prefix}a tag is longer than 5 bytes or past 32 bits`,
      });
    }
    // Five bytes within 32 bits are a tag, however long its encoding.
    const fiveByteTag = new Uint8Array([0x8a, 0x80, 0x80, 0x80, 0x00, ...varint(resourceSpans.length), ...resourceSpans]);
    expect(spansOf(decoded(fiveByteTag, "protobuf"))).toEqual(spansOf(fromBinary(ExportTraceServiceRequestSchema, fiveByteTag)));
  });

  it("never sends on as they came bytes holding a resource or scope without spans that no decoder would take, for any tenant", () => {
    const spans = requestWithSpanFields([]);
    const notUtf8 = lengthDelimited(1, [0x61, 0xff]);
    const bodies = {
      "a resource whose attribute's key is not UTF-8": [...spans, ...lengthDelimited(1, lengthDelimited(1, lengthDelimited(1, notUtf8)))],
      "a scope whose name is not UTF-8": lengthDelimited(1, [...lengthDelimited(2, lengthDelimited(1, notUtf8)), ...spans.slice(2)]),
      "a resource whose field runs past its end": [...spans, ...lengthDelimited(1, lengthDelimited(1, [0x0a, 0x05, 0x01]))],
      "a resource whose resource is a varint": [...spans, ...lengthDelimited(1, [0x08, 0x01])],
    };
    for (const [what, fields] of Object.entries(bodies)) {
      const body = new Uint8Array(fields);
      expect(() => fromBinary(ExportTraceServiceRequestSchema, body), what).toThrow();
      for (const settings of [{ translate: false }, {}]) {
        // What was sent is what protobuf-es decodes (relayed decodes each delivery): the span, and nothing of the rest.
        const { requests, deliveries } = relayed(body, settings);
        expect(deliveries[0]!.payload.protobuf, what).not.toBe(body);
        expect(spansOf(requests[0]!.request), what).toHaveLength(1);
      }
    }
    // Bytes the wire check found well formed go as they came, a resource without spans and all.
    const checked = new Uint8Array([
      ...spans,
      ...lengthDelimited(1, lengthDelimited(1, lengthDelimited(1, lengthDelimited(1, utf8("k"))))),
    ]);
    expect(relayed(checked, { translate: false }).deliveries[0]!.payload.protobuf).toBe(checked);
    // So they do for a tenant that reads its spans and changes nothing, which the wire check's vouching alone does not send on.
    expect(relayed(checked, { translate: false, parent_from_attribute: true }).deliveries[0]!.payload.protobuf).toBe(checked);
  });

  it("rejects, read as it came, only the spans under a resource or scope whose own text is not UTF-8; relayed, for any tenant, that text is mended and every span goes on", () => {
    const notUtf8 = lengthDelimited(1, [0x61, 0xed, 0xa0, 0xbd]);
    const span = (name: string) =>
      lengthDelimited(2, [...lengthDelimited(1, randomId(16)), ...lengthDelimited(2, randomId(8)), ...lengthDelimited(5, utf8(name))]);
    const body = new Uint8Array([
      // A resource whose attribute's key is not UTF-8, a scope whose name is not, then one whose text is.
      ...lengthDelimited(1, [...lengthDelimited(1, lengthDelimited(1, notUtf8)), ...lengthDelimited(2, span("bad resource"))]),
      ...lengthDelimited(1, [
        ...lengthDelimited(2, [...lengthDelimited(1, notUtf8), ...span("bad scope")]),
        ...lengthDelimited(2, [...lengthDelimited(1, lengthDelimited(1, utf8("lib"))), ...span("kept")]),
      ]),
    ]);
    expect(() => fromBinary(ExportTraceServiceRequestSchema, body)).toThrow(/not valid for encoding utf-8/);

    const { request, rejections } = readRequest(body, "protobuf");

    expect(spansOf(request).map((s) => s.name)).toEqual(["kept"]);
    expect(rejections.message).toBe(
      'rejected 2 of 3 spans: span "bad resource": a string in its resource is not valid UTF-8; span "bad scope": a string in its scope is not valid UTF-8',
    );
    for (const settings of [{ translate: false }, {}]) {
      const [sent, ...more] = relayed(body, settings).requests;
      expect(more).toEqual([]);
      expect(spansOf(sent!.request).map((s) => s.name)).toEqual(["bad resource", "bad scope", "kept"]);
      // Half of a surrogate pair, alone: one U+FFFD, as its escape in OTLP/JSON reads.
      expect(sent!.request.resourceSpans[0]!.resource?.attributes[0]?.key).toBe("a\ufffd");
      expect(sent!.request.resourceSpans[1]!.scopeSpans[0]!.scope?.name).toBe("a\ufffd");
    }
  });

  it("reads a resource's spans sent as instrumentation_library_spans (field 1000, before OTLP 1.0) as the Collector does", () => {
    const span = (name: string, traceId = randomId(16)) => [
      ...lengthDelimited(1, traceId),
      ...lengthDelimited(2, randomId(8)),
      ...lengthDelimited(5, utf8(name)),
    ];
    // A resource's field 1000 holding a scope of these spans, as a ScopeSpans is written.
    const librarySpans = (...spans: number[][]) => {
      const scope = spans.flatMap((one) => lengthDelimited(2, one));
      return [...varint((1000 << 3) | 2), ...varint(scope.length), ...scope];
    };
    const legacy = new Uint8Array(lengthDelimited(1, librarySpans(span("legacy"), span("bad ids", randomId(8)))));
    // protobuf-es knows no field 1000: decoded whole, the request has no spans.
    expect(spansOf(fromBinary(ExportTraceServiceRequestSchema, legacy))).toHaveLength(0);

    const { request, rejections } = readRequest(legacy, "protobuf");

    expect(spansOf(request).map((s) => s.name)).toEqual(["legacy"]);
    expect(rejections).toMatchObject({ accepted: 1, rejected: 1 });
    // Without a span rejected, which alone has the request encoded anew, too.
    const legacyAlone = new Uint8Array(lengthDelimited(1, librarySpans(span("legacy"))));
    for (const body of [legacy, legacyAlone])
      for (const settings of [
        { translate: false },
        { translate: false, parent_from_attribute: true },
        { routes: [{ match: { field: "span_name", equals: "legacy" }, parent: "project_name:legacy" }] },
      ]) {
        // Sent as scope_spans, which every decoder reads, to the parent its route names: never the bytes as they came.
        const [sent, ...more] = relayed(body, settings).requests;
        expect(more).toHaveLength(0);
        expect(spansOf(sent!.request).map((s) => s.name)).toEqual(["legacy"]);
        expect(sent!.request.resourceSpans[0]!.$unknown).toBeUndefined();
      }
    expect(
      relayed(legacy, { routes: [{ match: { field: "span_name", equals: "legacy" }, parent: "project_name:legacy" }] }).requests[0]!.parent,
    ).toBe("project_name:legacy");
    // Beside scope_spans, the Collector reads none of them, nor does the relay: an unknown field, kept.
    const beside = new Uint8Array(
      lengthDelimited(1, [...lengthDelimited(2, lengthDelimited(2, span("current"))), ...librarySpans(span("legacy"))]),
    );
    expect(spansOf(readRequest(beside, "protobuf").request).map((s) => s.name)).toEqual(["current"]);
    expect(readRequest(beside, "protobuf").request.resourceSpans[0]!.$unknown).toEqual(
      fromBinary(ExportTraceServiceRequestSchema, beside).resourceSpans[0]!.$unknown,
    );
  });

  it("counts every span of bytes the wire check vouched for as accepted", () => {
    const body = toProtobuf(trueFoundryTrace());
    const names: string[] = [];

    const { rejections } = allAtOnce(readSpans(body, "protobuf", ({ fields }) => names.push(fields.name), { vouched: true, framed: true }));

    expect(names).toHaveLength(3);
    expect(rejections).toMatchObject({ accepted: 3, rejected: 0 });
  });
});

describe("limits per request", () => {
  const tinyAttributes = WORST_SHAPES["tiny attributes"]!;
  /** A span of exactly as many messages as a span may hold, then `extra` more empty attributes. */
  const fullSpan = (extra: number) => concat([tinyAttributes.span, new Uint8Array(2 * extra).map((_, i) => (i % 2 === 0 ? 0x4a : 0))]);
  const tooManyMessages = (what: string) => ({
    status: 413,
    message: `a ${what} holds more than ${MAX_MESSAGES_PER_SPAN} attributes, events, links and values in them, the limit per ${what}`,
  });

  it("refuses a request of more spans than the limit with 413 naming it, in protobuf and JSON", () => {
    // Empty spans: the count is checked before any span is read.
    const protobuf = new Uint8Array(OVER_SPAN_LIMIT);
    const json = utf8(
      `{"resourceSpans":[{"scopeSpans":[{"spans":[${Array(MAX_SPANS_PER_REQUEST + 1)
        .fill("{}")
        .join(",")}]}]}]}`,
    );

    expect(refusal(() => decoded(protobuf, "protobuf"))).toEqual(TOO_MANY_SPANS);
    expect(refusal(() => decoded(json, "json"))).toEqual(TOO_MANY_SPANS);
  });

  it("reads JSON of exactly as many spans as the limit", () => {
    // Empty spans: read, and rejected for their ids, one by one.
    const json = utf8(`{"resourceSpans":[{"scopeSpans":[{"spans":[${Array(MAX_SPANS_PER_REQUEST).fill("{}").join(",")}]}]}]}`);

    expect(readRequest(json, "json").rejections).toMatchObject({ accepted: 0, rejected: MAX_SPANS_PER_REQUEST });
  });

  it("refuses JSON of more resources, scopes and spans in all than the limit with 413, even without spans", () => {
    const limit = 3 * MAX_SPANS_PER_REQUEST;
    const body = utf8(
      `{"resourceSpans":[${Array(limit + 1)
        .fill("{}")
        .join(",")}]}`,
    );

    expect(refusal(() => decoded(body, "json"))).toEqual({
      status: 413,
      message: `request holds more than ${limit} resources, scopes and spans in all, the limit per request: export smaller batches`,
    });
  });

  it("takes a span of exactly as many messages as a span may hold, and rejects one more on its own, unread, in protobuf and JSON", () => {
    for (const format of ["protobuf", "json"] as const) {
      expect(spansOf(decoded(requestOfSpans({ format, span: fullSpan(0) }, 1), format))).toHaveLength(1);
      const { request, rejections } = readRequest(requestOfSpans({ format, span: fullSpan(1) }, 1), format);
      expect(spansOf(request)).toEqual([]);
      expect(rejections).toMatchObject({ accepted: 0, rejected: 1 });
      expect(rejections.message).toBe(
        `rejected 1 of 1 spans: span "Model": a span holds more than ${MAX_MESSAGES_PER_SPAN} attributes, events, links and values in them, the limit per span`,
      );
    }
  });

  it("names a span rejected unread by its name alone: not a field 5 of another wire type after it, and empty when it has none", () => {
    const named = requestOfSpans({ format: "protobuf", span: concat([fullSpan(1), new Uint8Array([0x28, 0x07])]) }, 1);
    const ids = [...lengthDelimited(1, randomId(16)), ...lengthDelimited(2, randomId(8))];
    const emptyAttributes = Array(MAX_MESSAGES_PER_SPAN + 1)
      .fill([0x4a, 0])
      .flat();
    const nameless = new Uint8Array(lengthDelimited(1, lengthDelimited(2, lengthDelimited(2, [...ids, ...emptyAttributes]))));
    const tooLarge = `a span holds more than ${MAX_MESSAGES_PER_SPAN} attributes, events, links and values in them, the limit per span`;

    expect(readRequest(named, "protobuf").rejections.message).toBe(`rejected 1 of 1 spans: span "Model": ${tooLarge}`);
    expect(readRequest(nameless, "protobuf").rejections.message).toBe(`rejected 1 of 1 spans: span "": ${tooLarge}`);
  });

  it("refuses a request whose resources and scopes hold more fields besides their spans than the limit with 413 naming it", () => {
    const schemaUrls = Array(MAX_HEADER_FIELDS_PER_REQUEST + 1)
      .fill(lengthDelimited(3, [0x78]))
      .flat();

    expect(refusal(() => decoded(requestWithScopeFields(schemaUrls), "protobuf"))).toEqual({
      status: 413,
      message: `request's resources and scopes hold more than ${MAX_HEADER_FIELDS_PER_REQUEST} fields besides their spans, the limit per request: export smaller batches`,
    });
  });

  it("reads a JSON span of as many links as a span may hold, each with every field an exporter writes", () => {
    const link = `{"traceId":"${"ab".repeat(16)}","spanId":"${"cd".repeat(8)}","traceState":"","attributes":[],"droppedAttributesCount":0,"flags":0}`;
    const span = `{"traceId":"${"01".repeat(16)}","spanId":"${"02".repeat(8)}","parentSpanId":"","name":"stream","kind":3,"startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[],"events":[],"links":[${Array(MAX_MESSAGES_PER_SPAN).fill(link).join(",")}]}`;
    const json = utf8(`{"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"scope":{"name":"s"},"spans":[${span}]}]}]}`);

    expect(readRequest(json, "json").rejections).toMatchObject({ accepted: 1, rejected: 0 });
  });

  it("refuses a resource or scope of more messages than a span may hold with 413, in protobuf and JSON", () => {
    const emptyAttributes = (field: number) => Array.from({ length: MAX_MESSAGES_PER_SPAN }, () => [...varint((field << 3) | 2), 0]).flat();
    const span = lengthDelimited(2, spanFields());
    // Resource.attributes (1) and InstrumentationScope.attributes (3): with the resource or scope itself, one message over.
    const resource = new Uint8Array(lengthDelimited(1, [...lengthDelimited(1, emptyAttributes(1)), ...lengthDelimited(2, span)]));
    const scope = requestWithScopeFields(lengthDelimited(1, emptyAttributes(3)));
    const jsonAttributes = `[${Array(MAX_MESSAGES_PER_SPAN).fill("{}").join(",")}]`;
    const json = utf8(`{"resourceSpans":[{"resource":{"attributes":${jsonAttributes}},"scopeSpans":[${SPANS_SCOPE}]}]}`);
    const jsonScope = utf8(`{"resourceSpans":[{"scopeSpans":[{"scope":{"attributes":${jsonAttributes}},${SPANS_SCOPE.slice(1)}]}]}`);

    expect(refusal(() => decoded(resource, "protobuf"))).toEqual(tooManyMessages("resource"));
    expect(refusal(() => decoded(scope, "protobuf"))).toEqual(tooManyMessages("scope"));
    expect(refusal(() => decoded(json, "json"))).toEqual(tooManyMessages("resource"));
    expect(refusal(() => decoded(jsonScope, "json"))).toEqual(tooManyMessages("scope"));
  });

  it("counts the braces of JSON objects only, not those in strings, escaped quotes included", () => {
    const name = `say \\"{\\" ${"{".repeat(MAX_MESSAGES_PER_SPAN + 1)}`;

    const [span] = spansOf(
      readJson(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}","name":"${name}"}]}]}]}`).request,
    );

    expect(span!.name).toBe(JSON.parse(`"${name}"`));
  });

  it("rejects the spans of a resource or scope nesting past 100 messages deep, which a decoder of the whole request refuses", () => {
    const keyValue = (depth: number) => [...lengthDelimited(1, [0x6b]), ...lengthDelimited(2, deeplyNestedAnyValue(depth, "array"))];
    const span = lengthDelimited(2, spanFields());
    const inResource = (depth: number) =>
      new Uint8Array(lengthDelimited(1, [...lengthDelimited(1, lengthDelimited(1, keyValue(depth))), ...lengthDelimited(2, span)]));
    const inScope = (depth: number) => requestWithScopeFields(lengthDelimited(1, lengthDelimited(3, keyValue(depth))));

    for (const body of [inResource(47), inScope(47)]) {
      expect(() => fromBinary(ExportTraceServiceRequestSchema, body)).not.toThrow();
      expect(spansOf(decoded(body, "protobuf"))).toHaveLength(1);
    }
    for (const [what, body] of [
      ["resource", inResource(48)],
      ["scope", inScope(48)],
    ] as const) {
      expect(() => fromBinary(ExportTraceServiceRequestSchema, body)).toThrow(/maximum recursion depth/);
      const { request, rejections } = readRequest(body, "protobuf");
      expect(spansOf(request)).toEqual([]);
      expect(rejections.message).toBe(
        `rejected 1 of 1 spans: span "hostile": a value in its ${what} is nested past 100 levels of messages, the most a request may hold`,
      );
    }
  });

  it("answers broken framing inside a span too large to decode uncounted with 400 saying why", () => {
    const body = requestWithSpanFields([
      ...lengthDelimited(5, new Uint8Array(2 * MAX_MESSAGES_PER_SPAN)),
      ...lengthDelimited(9, [0x0a, 0x7f]),
    ]);

    expect(refusal(() => decoded(body, "protobuf"))).toEqual({
      status: 400,
      message: "request body is not a valid ExportTraceServiceRequest: field 1 runs past the end of its message",
    });
  });

  it("leaves messages deeper than the decoder goes uncounted, however many there are: the span is rejected for its depth", () => {
    // An array of more values than a span may hold, 120 messages below the span: the decoder refuses it for its depth.
    let value = lengthDelimited(5, Array.from({ length: MAX_MESSAGES_PER_SPAN + 1 }, () => lengthDelimited(1, [])).flat());
    for (let level = 0; level < 60; level++) value = lengthDelimited(5, lengthDelimited(1, value));
    const body = requestWithSpanFields(lengthDelimited(9, [...lengthDelimited(1, [0x6b]), ...lengthDelimited(2, value)]));

    expect(readRequest(body, "protobuf").rejections.message).toBe(
      'rejected 1 of 1 spans: span "hostile": a value in it is nested past 100 levels of messages, the most a request may hold',
    );
  });
});

describe("decoding OTLP JSON", () => {
  it("decodes what OpenTelemetry's exporters send: proto3 JSON with hex ids", () => {
    const trace = trueFoundryTrace();

    expect(decoded(utf8(JSON.stringify(toOtlpJson(trace))), "json")).toEqual(trace);
  });

  it("reads an empty body, or in JSON one of white space only, as a request without spans", () => {
    expect(decoded(new Uint8Array(), "json").resourceSpans).toEqual([]);
    expect(decoded(utf8(" \r\n\t"), "json").resourceSpans).toEqual([]);
    expect(refusal(() => readJson("\u00a0")).status).toBe(400);
  });

  it("skips a byte order mark, and refuses invalid UTF-8", () => {
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(jsonWithSpan({ traceId: TRACE_ID, spanId: SPAN_ID, name: "x" }))]);

    expect(spansOf(decoded(withBom, "json"))[0]!.name).toBe("x");
    expect(refusal(() => decoded(new Uint8Array([0x7b, 0xff, 0x7d]), "json"))).toEqual({
      status: 400,
      message: "request body is not valid UTF-8",
    });
  });

  it("answers a field of the wrong type with 400 saying which", () => {
    expect(refusal(() => decoded(utf8(jsonWithSpan({ name: 5 })), "json"))).toEqual({
      status: 400,
      message:
        "request body is not a valid OTLP JSON ExportTraceServiceRequest: cannot decode field opentelemetry.proto.trace.v1.Span.name from JSON: expected string, got 5",
    });
  });

  it("quotes at most 300 characters of the decoder's complaint", () => {
    // Leading zeros, which protobuf-es reads past, make a short number's text long: it quotes all of it.
    const body = jsonWithSpan({ startTimeUnixNano: `-${"0".repeat(598)}1` });
    const prefix = "request body is not a valid OTLP JSON ExportTraceServiceRequest: ";

    const { message } = refusal(() => decoded(utf8(body), "json"));

    expect(message.startsWith(`${prefix}cannot decode field opentelemetry.proto.trace.v1.Span.start_time_unix_nano from JSON`)).toBe(true);
    expect(message).toHaveLength(prefix.length + 300);
  });

  it("ignores fields it does not know", () => {
    const request = decoded(
      utf8(
        JSON.stringify({
          resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: TRACE_ID, spanId: SPAN_ID, name: "x", fieldFromTheFuture: 1 }] }] }],
          extra: true,
        }),
      ),
      "json",
    );

    expect(spansOf(request)[0]!.name).toBe("x");
  });

  it("ignores a link's parentSpanId, which links do not have, whatever it holds", () => {
    const link = { traceId: TRACE_ID, spanId: SPAN_ID, parentSpanId: "not-hex" };
    const [span] = spansOf(decoded(utf8(jsonWithSpan({ name: "x", links: [link] })), "json"));

    expect(span!.links.map((l) => hex(l.spanId))).toEqual([SPAN_ID.toLowerCase()]);
  });
});

describe("OTLP JSON's differences from proto3 JSON", () => {
  it("reads hex ids in either case, snake_case too, in spans and links", () => {
    const text = jsonWithSpan({
      traceId: undefined,
      spanId: undefined,
      trace_id: TRACE_ID,
      span_id: SPAN_ID.toLowerCase(),
      parentSpanId: SPAN_ID,
      links: [{ traceId: TRACE_ID.toLowerCase(), span_id: SPAN_ID }],
    });
    const [span] = spansOf(decoded(utf8(text), "json"));

    expect([hex(span!.traceId), hex(span!.spanId), hex(span!.parentSpanId)]).toEqual([
      TRACE_ID.toLowerCase(),
      SPAN_ID.toLowerCase(),
      SPAN_ID.toLowerCase(),
    ]);
    expect([hex(span!.links[0]!.traceId), hex(span!.links[0]!.spanId)]).toEqual([TRACE_ID.toLowerCase(), SPAN_ID.toLowerCase()]);
  });

  it("leaves absent and null ids alone", () => {
    const { rejections } = readJson(jsonWithSpan({ traceId: null, name: "no trace" }));

    expect(rejections.message).toBe('rejected 1 of 1 spans: span "no trace": trace_id must be 16 bytes and not all zero, got 0 bytes');
  });

  it.each([
    ["base64", "AAECAwQFBgcICQoLDA0ODw=="],
    ["odd-length hex", "abc"],
    ["a number", 12],
  ])("refuses an id in %s with 400", (_what, traceId) => {
    expect(refusal(() => readJson(jsonWithSpan({ traceId })))).toEqual({
      status: 400,
      message: `span traceId must be a hex string, got ${JSON.stringify(traceId)}`,
    });
  });

  it("names an id that is a JSON object or array by its kind, without quoting it back", () => {
    expect(refusal(() => readJson(jsonWithSpan({ traceId: { a: "x".repeat(1000) } })))).toEqual({
      status: 400,
      message: "span traceId must be a hex string, got an object",
    });
    expect(refusal(() => readJson(jsonWithSpan({ spanId: ["0a"] })))).toEqual({
      status: 400,
      message: "span spanId must be a hex string, got an array",
    });
  });

  it("names links and snake_case fields in its refusals, and a long id by its length alone", () => {
    expect(refusal(() => readJson(jsonWithSpan({ links: [{ span_id: "xyz!" }] })))).toEqual({
      status: 400,
      message: 'link span_id must be a hex string, got "xyz!"',
    });
    expect(refusal(() => readJson(jsonWithSpan({ traceId: "g".repeat(300) })))).toEqual({
      status: 400,
      message: "span traceId must be a hex string, got a string of 300 characters",
    });
  });

  it("reads enum names as their numbers, and numbers as they are", () => {
    const [span] = spansOf(decoded(utf8(jsonWithSpan({ kind: "SPAN_KIND_CLIENT", status: { code: "STATUS_CODE_ERROR" } })), "json"));
    const [numeric] = spansOf(decoded(utf8(jsonWithSpan({ kind: 2, status: { code: 1 } })), "json"));

    expect([span!.kind, span!.status?.code]).toEqual([Span_SpanKind.CLIENT, Status_StatusCode.ERROR]);
    expect([numeric!.kind, numeric!.status?.code]).toEqual([Span_SpanKind.SERVER, Status_StatusCode.OK]);
  });

  it("refuses an enum name it does not know with 400, rather than dropping it", () => {
    expect(refusal(() => readJson(jsonWithSpan({ kind: "SPAN_KIND_BOGUS" })))).toEqual({
      status: 400,
      message: 'kind must be a SpanKind name, got "SPAN_KIND_BOGUS"',
    });
    expect(refusal(() => readJson(jsonWithSpan({ status: { code: "OK" } })))).toEqual({
      status: 400,
      message: 'code must be a StatusCode name, got "OK"',
    });
    expect(refusal(() => readJson(jsonWithSpan({ kind: "K".repeat(300) })))).toEqual({
      status: 400,
      message: "kind must be a SpanKind name, got a string of 300 characters",
    });
  });

  it("keeps every digit of integers past 2^53, and leaves smaller numbers as numbers", () => {
    const [span] = spansOf(
      readJson(
        `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}","startTimeUnixNano":1764000000123456789,"endTimeUnixNano":9007199254740993,"droppedAttributesCount":7,"big":1e300}]}]}]}`,
      ).request,
    );

    expect([span!.startTimeUnixNano, span!.endTimeUnixNano, span!.droppedAttributesCount]).toEqual([
      1764000000123456789n,
      9007199254740993n,
      7,
    ]);
  });

  it("refuses an enum given a fraction its double rounds to a whole number, as an integer field, and a list given a large number", () => {
    const span = (fields: string) =>
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}",${fields}}]}]}]}`;

    expect(refusal(() => readJson(span('"kind":2.0000000000000001')))).toEqual({
      status: 400,
      message: 'kind must be a whole number, as a number or a string of decimal digits, got "2.0000000000000001"',
    });
    expect(refusal(() => readJson(span('"status":{"code":1.0000000000000000001}'))).status).toBe(400);
    expect(refusal(() => readJson(span('"events":12345678901234567890'))).message).toMatch(/expected Array, got 12345678901234567000$/);
    expect(spansOf(readJson(span('"kind":2,"status":{"code":"STATUS_CODE_ERROR"}')).request)[0]).toMatchObject({
      kind: 2,
      status: { code: 2 },
    });
  });

  it("refuses a field of text, bytes or ids given a number, past 2^53 as below it", () => {
    const span = (fields: string) => `{"resourceSpans":[{"scopeSpans":[{"spans":[{${fields}}]}]}]}`;
    const ids = `"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}"`;
    for (const [fields, refusedFor] of [
      [`"traceId":"${TRACE_ID}","spanId":9234567890123456`, /span spanId must be a hex string, got 9234567890123456$/],
      [`"traceId":12345678901234567890123456789012,"spanId":"${SPAN_ID}"`, /span traceId must be a hex string, got 1234567890/],
      [`${ids},"name":9007199254740993`, /name/],
      [`${ids},"name":1.0000000000000000001`, /name/],
      [`${ids},"name":5`, /name/],
      [`${ids},"attributes":[{"key":"a","value":{"bytesValue":12345678901234567890}}]`, /bytes_value|bytesValue/],
      [`${ids},"attributes":[{"key":"a","value":{"stringValue":12345678901234567890}}]`, /string_value|stringValue/],
    ] as const) {
      expect(
        refusal(() => readJson(span(fields))),
        fields,
      ).toMatchObject({ status: 400, message: expect.stringMatching(refusedFor) });
    }
  });

  it("keeps every digit of integers past 2^53 written with a fraction of zeros or an exponent, as the Collector does", () => {
    const [span] = spansOf(
      readJson(
        `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}","startTimeUnixNano":1.764000000123456789e18,"endTimeUnixNano":9007199254740993.0,"attributes":[{"key":"seed","value":{"intValue":90071992547409930e-1}},{"key":"neg","value":{"intValue":-9.007199254740993E+15}}]}]}]}]}`,
      ).request,
    );

    expect([span!.startTimeUnixNano, span!.endTimeUnixNano, ...span!.attributes.map((a) => a.value?.value.value)]).toEqual([
      1764000000123456789n,
      9007199254740993n,
      9007199254740993n,
      -9007199254740993n,
    ]);
  });

  it("reads a zero written with an exponent in an integer field as 0, whatever the exponent (Java's BigDecimal writes 0E-10)", () => {
    const span = (start: string) =>
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}","startTimeUnixNano":${start},"droppedAttributesCount":${start},"attributes":[{"key":"n","value":{"intValue":${start}}}]}]}]}]}`;

    for (const zero of ["0E-10", "0e-1", "0.0e-5", "0e+25", "0.000e30"]) {
      const [read] = spansOf(readJson(span(zero)).request);
      expect([read!.startTimeUnixNano, read!.droppedAttributesCount, read!.attributes[0]!.value?.value.value]).toEqual([0n, 0, 0n]);
    }
  });

  it("refuses an integer field given a number past 2^53 with a fraction, rather than rounding it, and reads a double field's as the nearest double", () => {
    const span = (value: string) =>
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}","attributes":[{"key":"n","value":${value}}]}]}]}]}`;

    expect(refusal(() => readJson(span('{"intValue":9007199254740993.5}')))).toEqual({
      status: 400,
      message: 'intValue must be a whole number, as a number or a string of decimal digits, got "9007199254740993.5"',
    });
    const [read] = spansOf(readJson(span('{"doubleValue":9007199254740993.5}')).request);
    expect(read!.attributes[0]!.value?.value).toEqual({ case: "doubleValue", value: 9007199254740994 });
  });

  it("refuses a double given as a string in hex, binary or octal, which Number reads and the Collector refuses, and reads a decimal one", () => {
    const attribute = (value: string) =>
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}","attributes":[{"key":"d","value":${value}}]}]}]}]}`;

    for (const text of ["0x10", "-0X1f", "0b101", "0o17"]) {
      expect(refusal(() => readJson(attribute(`{"double_value":${JSON.stringify(text)}}`)))).toEqual({
        status: 400,
        message: `double_value must be a number, as a number or a string of one in decimal, got ${JSON.stringify(text)}`,
      });
    }
    const [read] = spansOf(readJson(attribute('{"doubleValue":"0.5e1"}')).request);
    expect(read!.attributes[0]!.value?.value).toEqual({ case: "doubleValue", value: 5 });
  });

  it("refuses bytes that are not base64 or base64url, which protobuf-es would read as other bytes, and reads either with or without padding", () => {
    const attribute = (value: string) =>
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}","attributes":[{"key":"b","value":{"bytesValue":${JSON.stringify(value)}}}]}]}]}]}`;
    const bytesOf = (value: string) => spansOf(readJson(attribute(value)).request)[0]!.attributes[0]!.value?.value.value;

    // Padding inside the text (read as 0x40 0x80), padded groups run together, white space inside, one character too many.
    for (const text of ["A=QID", "AQ==AQ==", "AQ ID", "AQ\tID", "AQIDB", "AQ="]) {
      expect(refusal(() => readJson(attribute(text)))).toEqual({
        status: 400,
        message: `bytesValue must be base64 or base64url, got ${JSON.stringify(text)}`,
      });
    }
    expect(refusal(() => readJson(attribute(`${"x".repeat(39)}!`))).message).toBe(
      "bytesValue must be base64 or base64url, got a string of 40 characters",
    );
    for (const text of ["AQI=", "AQI", "-_8", "+/8=", ""]) expect(bytesOf(text)).toBeInstanceOf(Uint8Array);
    expect([...(bytesOf("-_8") as Uint8Array)]).toEqual([0xfb, 0xff]);
    // Line breaks, as MIME base64 has them (Python's base64.encodebytes), are stepped over, as Go's decoder does.
    expect([...(bytesOf("AQID\r\nBAUG") as Uint8Array)]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("refuses an integer given as a string of anything but decimal digits, and a fraction its double rounds to a whole number", () => {
    const span = (member: string) =>
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}",${member}}]}]}]}`;
    const attribute = (value: string) => span(`"attributes":[{"key":"n","value":${value}}]`);

    for (const text of ["0x10", "0b101", "0o17", " 7 ", "\t12\n", "1e3", "+5"]) {
      expect(refusal(() => readJson(span(`"startTimeUnixNano":${JSON.stringify(text)}`)))).toEqual({
        status: 400,
        message: `startTimeUnixNano must be a whole number, as a number or a string of decimal digits, got ${JSON.stringify(text)}`,
      });
    }
    expect(refusal(() => readJson(attribute('{"int_value":"0x10"}'))).message).toBe(
      'int_value must be a whole number, as a number or a string of decimal digits, got "0x10"',
    );
    expect(refusal(() => readJson(span('"dropped_attributes_count":"0x10"'))).status).toBe(400);
    expect(
      refusal(() => readJson(attribute('{"kvlistValue":{"values":[{"key":"k","value":{"arrayValue":{"values":[{"intValue":" 7 "}]}}}]}}')))
        .message,
    ).toBe('intValue must be a whole number, as a number or a string of decimal digits, got " 7 "');
    // A member the schema does not have is ignored, whatever its name.
    expect(spansOf(readJson(span('"extra":{"flags":"sampled","intValue":"0x10"}')).request)).toHaveLength(1);
    for (const number of ["1e-400", "1.0000000000000000001"]) {
      expect(refusal(() => readJson(attribute(`{"intValue":${number}}`))).message).toBe(
        `intValue must be a whole number, as a number or a string of decimal digits, got "${number}"`,
      );
    }
    // Whole numbers in any spelling, and a double field's fractions, read as before.
    const [read] = spansOf(
      readJson(
        span(
          '"startTimeUnixNano":"-0","endTimeUnixNano":"007","attributes":[{"key":"d","value":{"doubleValue":1e-400}},{"key":"w","value":{"intValue":1.0e1}}]',
        ),
      ).request,
    );
    expect([read!.startTimeUnixNano, read!.endTimeUnixNano, ...read!.attributes.map((a) => a.value?.value.value)]).toEqual([
      0n,
      7n,
      0,
      10n,
    ]);
  });

  it("reads a lone surrogate's escape, an emoji an SDK cut in half, as U+FFFD, as the Collector does, keeping the batch", () => {
    const text = `{"resourceSpans":[{"resource":{"attributes":[{"key":"host \\udc00","value":{"stringValue":"h"}}]},"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}","name":"cut \\ud83d","attributes":[{"key":"k","value":{"stringValue":"emoji \\ud83d\\ude00 cut \\ud83d"}}]}]}]}]}`;

    const { request } = readJson(text);
    const [span] = spansOf(request);

    expect([span!.name, span!.attributes[0]!.value?.value.value]).toEqual(["cut \ufffd", "emoji \u{1f600} cut \ufffd"]);
    expect(request.resourceSpans[0]!.resource?.attributes[0]?.key).toBe("host \ufffd");
  });

  it("reads a request written all in snake_case", () => {
    const text = JSON.stringify({
      resource_spans: [
        { scope_spans: [{ spans: [{ trace_id: TRACE_ID, span_id: SPAN_ID, parent_span_id: SPAN_ID.toLowerCase(), name: "snake" }] }] },
      ],
    });

    const [span] = spansOf(decoded(utf8(text), "json"));

    expect([span!.name, hex(span!.traceId), hex(span!.spanId), hex(span!.parentSpanId)]).toEqual([
      "snake",
      TRACE_ID.toLowerCase(),
      SPAN_ID.toLowerCase(),
      SPAN_ID.toLowerCase(),
    ]);
  });

  it("reads a resource's spans sent as instrumentationLibrarySpans (before OTLP 1.0) when it has no scopeSpans, as its protobuf is read", () => {
    const spans = (name: string) => [{ spans: [{ traceId: TRACE_ID, spanId: SPAN_ID, name }] }];
    const names = (request: object) => spansOf(readJson(JSON.stringify(request)).request).map((s) => s.name);

    expect(names({ resourceSpans: [{ instrumentationLibrarySpans: spans("legacy") }] })).toEqual(["legacy"]);
    expect(names({ resource_spans: [{ instrumentation_library_spans: spans("snake") }] })).toEqual(["snake"]);
    // Beside scopeSpans it is left unread, as the Collector drops it.
    expect(names({ resourceSpans: [{ scopeSpans: spans("current"), instrumentationLibrarySpans: spans("legacy") }] })).toEqual(["current"]);
  });

  it("reads a legacy list's instrumentationLibrary as its scope, there only, and refuses it beside a scope", () => {
    const spans = [{ traceId: TRACE_ID, spanId: SPAN_ID, name: "x" }];
    const library = { name: "io.opentelemetry.okhttp", version: "0.9.0" };
    const scopeOf = (request: object) => readJson(JSON.stringify(request)).request.resourceSpans[0]!.scopeSpans[0]!.scope;

    expect(
      scopeOf({ resourceSpans: [{ instrumentationLibrarySpans: [{ instrumentationLibrary: library, scope: null, spans }] }] }),
    ).toMatchObject(library);
    // In scopeSpans it is a member ScopeSpans does not have, ignored as any other.
    expect(scopeOf({ resourceSpans: [{ scopeSpans: [{ instrumentationLibrary: library, spans }] }] })).toBeUndefined();
    expect(
      refusal(() =>
        readJson(
          JSON.stringify({
            resourceSpans: [{ instrumentationLibrarySpans: [{ instrumentationLibrary: library, scope: library, spans }] }],
          }),
        ),
      ),
    ).toEqual({
      status: 400,
      message: 'request body is not valid OTLP JSON: one object gives both "scope" and "instrumentationLibrary", two names of one field',
    });
  });

  it.each([
    [
      "resource spans",
      { resource_spans: [{ scopeSpans: [{ spans: [{ traceId: TRACE_ID, spanId: SPAN_ID }] }] }], resourceSpans: [] },
      /^request body is not valid OTLP JSON: one object gives both "resourceSpans" and "resource_spans", two names of one field$/,
    ],
    [
      "scope spans",
      { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: TRACE_ID, spanId: SPAN_ID }] }], scope_spans: [] }] },
      /^request body is not valid OTLP JSON: one object gives both "scopeSpans" and "scope_spans", two names of one field$/,
    ],
  ])("refuses %s under both spellings with 400, rather than leave one list unread", (_what, request, message) => {
    expect(refusal(() => readJson(JSON.stringify(request)))).toEqual({ status: 400, message: expect.stringMatching(message) });
  });

  it.each([
    ["the request", `{"resourceSpans":[],"resourceSpans":[${SPANS_RESOURCE}]}`, "resourceSpans", 20],
    ["a scope", `{"resourceSpans":[{"scopeSpans":[{"spans":[],"spans":[]}]}]}`, "spans", 45],
    ["a span", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a","na\u006de":"b"}]}]}]}`, "name", 55],
    ["a value in a span", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"a","key":"b"}]}]}]}]}`, "key", 69],
    [
      "a resource's attribute",
      `{"resourceSpans":[{"resource":{"attributes":[{"key":"a","key":"b"}]},"scopeSpans":[${SPANS_SCOPE}]}]}`,
      "key",
      56,
    ],
  ])("refuses a key given twice in %s with 400 naming it, rather than read its last value alone", (_what, text, key, at) => {
    expect(refusal(() => readJson(text))).toEqual({
      status: 400,
      message: `request body is not valid OTLP JSON: the key "${key}" at position ${at} is given twice in one object, where each field is given once`,
    });
  });

  it("takes the same key in objects side by side, or one inside the other", () => {
    const text = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}","attributes":[
      {"key":"a","value":{"kvlistValue":{"values":[{"key":"a","value":{"stringValue":"key"}}]}}},{"key":"b"}]}]}]}]}`;

    expect(spansOf(readJson(text).request)[0]!.attributes.map((a) => a.key)).toEqual(["a", "b"]);
  });

  it("reads a null list as an absent one, and the other spelling then", () => {
    const { request } = readJson(
      JSON.stringify({ resourceSpans: null, resource_spans: [{ scopeSpans: [{ spans: [{ traceId: TRACE_ID, spanId: SPAN_ID }] }] }] }),
    );

    expect(spansOf(request).map((s) => hex(s.traceId))).toEqual([TRACE_ID.toLowerCase()]);
  });

  it.each([
    ["invalid JSON", "{", /^request body is not valid JSON: /],
    ["a list", "[1,2]", /^request body must be a JSON object$/],
    ["null", "null", /^request body must be a JSON object$/],
    ["text", '"spans"', /^request body must be a JSON object$/],
    ["resourceSpans that is not a list", '{"resourceSpans":{}}', /^resourceSpans must be an array of objects$/],
    ["spans that are not a list", '{"resourceSpans":[{"scopeSpans":[{"spans":"x"}]}]}', /^spans must be an array of objects$/],
    ["a span that is not an object", '{"resourceSpans":[{"scopeSpans":[{"spans":[null, 7]}]}]}', /^spans must be an array of objects$/],
    ["invalid JSON in a member it does not know", `{"resourceSpans":[${SPANS_RESOURCE}],"extra":[1,}}`, NOT_JSON],
    ["invalid JSON in a bare word in a member it does not know", `{"extra":tru,"resourceSpans":[${SPANS_RESOURCE}]}`, NOT_JSON],
    ["invalid JSON in a resource without spans", `{"resourceSpans":[${SPANS_RESOURCE},{"resource":{"attributes":[}]}]}`, NOT_JSON],
    ["invalid JSON in a scope without spans", `{"resourceSpans":[{"scopeSpans":[{"scope":{"name":01}},${SPANS_SCOPE}]}]}`, NOT_JSON],
    ["invalid JSON in the spelling of a list not read", `{"resourceSpans":[${SPANS_RESOURCE}],"resource_spans":[{"x":"\\q"}]}`, NOT_JSON],
    ["resourceSpans that is a string", '{"resourceSpans":"{}"}', /^resourceSpans must be an array of objects$/],
    ["a resource that is not an object", '{"resourceSpans":[7]}', /^resourceSpans must be an array of objects$/],
    [
      "text after the request",
      '{"resourceSpans":[]} x',
      /^request body is not valid JSON: unexpected text after the request at position 20$/,
    ],
    ["a key without quotes", "{resourceSpans:[]}", /^request body is not valid JSON: expected a key at position 1$/],
    ["a key that is not JSON", '{"a\\q":1}', /^request body is not valid JSON: the key at position 1: .+/],
    ["a key without a colon", '{"resourceSpans" []}', /^request body is not valid JSON: expected ":" at position 17$/],
    ["members without a comma", '{"a":1 "b":2}', /^request body is not valid JSON: expected "," or "}" at position 7$/],
    ["members apart by a tab", '{"a":1\t"b":2}', /^request body is not valid JSON: expected "," or "}" at position 7$/],
    ["members apart by a line feed", '{"a":1\n"b":2}', /^request body is not valid JSON: expected "," or "}" at position 7$/],
    ["members apart by a carriage return", '{"a":1\r"b":2}', /^request body is not valid JSON: expected "," or "}" at position 7$/],
    ["a member closed by a bracket", '{"a":1]}', /^request body is not valid JSON: expected "," or "}" at position 6$/],
    ["a member without a value", '{"a":,"b":2}', /^request body is not valid JSON: expected a value at position 5$/],
    ["a member cut short", '{"a":1', /^request body is not valid JSON: expected "," or "}" at position 6$/],
    ["a value cut short", '{"a":', /^request body is not valid JSON: unexpected end of the body$/],
    ["a list cut short", '{"a":[1,2', /^request body is not valid JSON: unexpected end of the body$/],
    ["a string cut short", '{"a":"abc', /^request body is not valid JSON: unexpected end of the body inside a string$/],
  ])("refuses %s with 400", (_what, text, message) => {
    expect(refusal(() => readJson(text))).toEqual({ status: 400, message: expect.stringMatching(message) });
  });
});

describe("the layout of OTLP JSON", () => {
  it("reads JSON with spaces, tabs and line breaks between any tokens, and strings holding brackets, quotes and commas", () => {
    const text = ` \r\n\t{ "resourceSpans" :\t[ {\r\n "scopeSpans" : [ { "spans" : [ { "traceId" : "${TRACE_ID}" , "spanId" : "${SPAN_ID}",
      "name" : "a, b} ] \\" [{ x", "kind" : 2\t, "droppedAttributesCount" : 3\r\n, "flags" : 1\n} ] ,
      "extra" : [ "]", "}", { "a" : "[" } ] } ] } ] , "x" : true } \n`;

    const [span] = spansOf(readJson(text).request);

    expect([span!.name, span!.kind, span!.droppedAttributesCount, span!.flags]).toEqual(['a, b} ] " [{ x', 2, 3, 1]);
  });

  it("reads an empty object, empty lists and empty scopes as a request without spans", () => {
    for (const text of ["{}", " { } ", '{"resourceSpans":[]}', '{"resourceSpans":[{}]}', '{"resourceSpans":[{"scopeSpans":[{ }]}]}']) {
      expect(readJson(text).request.resourceSpans).toEqual([]);
    }
  });

  it("reads resources and scopes without spans no further than their brackets and strings", () => {
    const text = `{"resourceSpans":[{"resource":{"attributes":5},"scopeSpans":[{"scope":{"name":5},"spans":[]}]},${SPANS_RESOURCE}]}`;

    expect(spansOf(readJson(text).request)).toHaveLength(1);
  });

  it("counts resources and scopes against the limit of list elements, not of spans", () => {
    const limit = 3 * MAX_SPANS_PER_REQUEST;

    for (const count of [MAX_SPANS_PER_REQUEST + 1, limit]) {
      const text = `{"resourceSpans":[${Array(count).fill("{}").join(",")}]}`;

      expect(readJson(text).request.resourceSpans).toEqual([]);
    }
  });

  it("takes values nested 200 levels deep where it does not read, and refuses deeper ones with 400", () => {
    const nested = (depth: number) => `{"extra":${"[".repeat(depth)}${"]".repeat(depth)},"resourceSpans":[${SPANS_RESOURCE}]}`;

    expect(spansOf(readJson(nested(200)).request)).toHaveLength(1);
    expect(refusal(() => readJson(nested(201)))).toEqual({
      status: 400,
      message: "request body is not valid JSON: brackets are nested deeper than 200 levels (messages nest 100 levels at most)",
    });
  });
});

describe("validating span ids", () => {
  const valid = { traceId: randomId(16), spanId: randomId(8), parentSpanId: new Uint8Array() };
  const onlyLastByte = (length: number) => Uint8Array.from({ length }, (_, i) => (i === length - 1 ? 1 : 0));

  it("accepts 16-byte trace ids and 8-byte span ids that are not all zero, and an empty or 8-byte parent", () => {
    expect(invalidSpanReason(valid)).toBeUndefined();
    expect(invalidSpanReason({ traceId: onlyLastByte(16), spanId: onlyLastByte(8), parentSpanId: new Uint8Array(8) })).toBeUndefined();
  });

  it.each([
    ["a short trace id", { traceId: randomId(8) }, "trace_id must be 16 bytes and not all zero, got 8 bytes"],
    ["a short trace id with a zero byte", { traceId: onlyLastByte(8) }, "trace_id must be 16 bytes and not all zero, got 8 bytes"],
    ["a long trace id", { traceId: new Uint8Array(17).fill(1) }, "trace_id must be 16 bytes and not all zero, got 17 bytes"],
    ["an all-zero trace id", { traceId: new Uint8Array(16) }, "trace_id must be 16 bytes and not all zero, got 16 zero bytes"],
    ["a long span id", { spanId: randomId(16) }, "span_id must be 8 bytes and not all zero, got 16 bytes"],
    ["an all-zero span id", { spanId: new Uint8Array(8) }, "span_id must be 8 bytes and not all zero, got 8 zero bytes"],
    ["a 4-byte parent id", { parentSpanId: new Uint8Array(4) }, "parent_span_id must be empty or 8 bytes, got 4 bytes"],
    ["a 16-byte parent id", { parentSpanId: randomId(16) }, "parent_span_id must be empty or 8 bytes, got 16 bytes"],
  ])("refuses %s", (_what, ids, reason) => {
    expect(invalidSpanReason({ ...valid, ...ids })).toBe(reason);
  });

  it("accepts links whose ids are empty, all zeros or of the right length, and refuses other lengths", () => {
    const link = (traceId: Uint8Array, spanId: Uint8Array) => ({ traceId, spanId });

    expect(invalidLinkReason(link(randomId(16), randomId(8)))).toBeUndefined();
    expect(invalidLinkReason(link(new Uint8Array(16), new Uint8Array(8)))).toBeUndefined();
    expect(invalidLinkReason(link(new Uint8Array(), new Uint8Array()))).toBeUndefined();
    expect(invalidLinkReason(link(randomId(8), randomId(8)))).toBe("trace_id must be empty or 16 bytes, got 8 bytes");
    expect(invalidLinkReason(link(new Uint8Array(17), randomId(8)))).toBe("trace_id must be empty or 16 bytes, got 17 bytes");
    expect(invalidLinkReason(link(randomId(16), randomId(16)))).toBe("span_id must be empty or 8 bytes, got 16 bytes");
    expect(invalidLinkReason(link(randomId(16), new Uint8Array(7)))).toBe("span_id must be empty or 8 bytes, got 7 bytes");
  });

  it("rejects a span for a bad link among good ones, naming the link", () => {
    const linked = spanWith("linked", []);
    linked.links = [
      create(Span_LinkSchema, { traceId: randomId(16), spanId: randomId(8) }),
      create(Span_LinkSchema, { traceId: randomId(16), spanId: new Uint8Array(3) }),
    ];

    const { request, rejections } = readRequest(toProtobuf(requestOf([spanWith("ok", []), linked])), "protobuf");

    expect(spansOf(request).map((s) => s.name)).toEqual(["ok"]);
    expect(rejections.message).toBe('rejected 1 of 2 spans: span "linked": links[1].span_id must be empty or 8 bytes, got 3 bytes');
  });

  it("takes rejected spans out one by one, and says why for the first three", () => {
    const bad = (name: string) => create(SpanSchema, { traceId: randomId(8), spanId: randomId(8), name });

    const { request, rejections } = readRequest(
      toProtobuf(requestOf([bad("a"), spanWith("ok", []), bad("b"), bad("c"), bad("d"), bad("e")])),
      "protobuf",
    );

    expect(rejections).toMatchObject({ accepted: 1, rejected: 5 });
    expect(spansOf(request).map((s) => s.name)).toEqual(["ok"]);
    const reason = "trace_id must be 16 bytes and not all zero, got 8 bytes";
    expect(rejections.message).toBe(`rejected 5 of 6 spans: span "a": ${reason}; span "b": ${reason}; span "c": ${reason} (and 2 more)`);
  });

  it("names a span by the start of its name, and says nothing when nothing was rejected", () => {
    const long = create(SpanSchema, { traceId: randomId(8), spanId: randomId(8), name: "n".repeat(300) });

    expect(readRequest(toProtobuf(requestOf([long])), "protobuf").rejections.message).toBe(
      `rejected 1 of 1 spans: span "${"n".repeat(256)}"… (300 characters): trace_id must be 16 bytes and not all zero, got 8 bytes`,
    );
    expect(readRequest(toProtobuf(requestOf([spanWith("ok", [])])), "protobuf").rejections).toMatchObject({
      accepted: 1,
      rejected: 0,
      message: "",
    });
  });
});
