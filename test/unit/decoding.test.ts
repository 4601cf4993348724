import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Span_SpanKind, SpanSchema, Status_StatusCode } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { hex } from "../../src/encoding/bytes.js";
import { RelayError } from "../../src/http/errors.js";
import { otlpFormatOf } from "../../src/otlp/format.js";
import { contentCodingOf, requireOtlpFormat } from "../../src/receive/content-type.js";
import { invalidSpanReason } from "../../src/receive/validate.js";
import { readRequest } from "../support/pipeline.js";
import { randomId, requestOf, spansOf, spanWith, toOtlpJson, toProtobuf, trueFoundryTrace } from "../support/traces.js";
import { deeplyNestedAnyValue, lengthDelimited, requestWithSpanFields } from "../support/wire.js";

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

  it("refuses nesting past 100 messages deep with 400 saying so", () => {
    // Each level of an array attribute value is two messages: AnyValue and ArrayValue.
    const nested = (depth: number) =>
      requestWithSpanFields(
        lengthDelimited(9, [...lengthDelimited(1, [0x6b]), ...lengthDelimited(2, deeplyNestedAnyValue(depth, "array"))]),
      );

    expect(spansOf(decoded(nested(40), "protobuf"))).toHaveLength(1);
    expect(refusal(() => decoded(nested(50), "protobuf"))).toEqual({
      status: 400,
      message:
        "request body is not a valid ExportTraceServiceRequest: cannot decode message opentelemetry.proto.common.v1.ArrayValue from binary: maximum recursion depth of 97 reached",
    });
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
    const body = jsonWithSpan({ attributes: [{ key: "k", value: { intValue: "1".repeat(600) } }] });
    const prefix = "request body is not a valid OTLP JSON ExportTraceServiceRequest: ";

    const { message } = refusal(() => decoded(utf8(body), "json"));

    expect(message.startsWith(`${prefix}cannot decode field opentelemetry.proto.common.v1.AnyValue.int_value from JSON`)).toBe(true);
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

  it("names links and snake_case fields in its refusals, and shortens what it quotes", () => {
    expect(refusal(() => readJson(jsonWithSpan({ links: [{ span_id: "xyz!" }] })))).toEqual({
      status: 400,
      message: 'link span_id must be a hex string, got "xyz!"',
    });
    expect(refusal(() => readJson(jsonWithSpan({ traceId: "g".repeat(200) })))).toEqual({
      status: 400,
      message: `span traceId must be a hex string, got ${JSON.stringify("g".repeat(200)).slice(0, 80)}`,
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
      message: 'kind "SPAN_KIND_BOGUS" is not a SpanKind name',
    });
    expect(refusal(() => readJson(jsonWithSpan({ status: { code: "OK" } })))).toEqual({
      status: 400,
      message: 'code "OK" is not a StatusCode name',
    });
    expect(refusal(() => readJson(jsonWithSpan({ kind: "K".repeat(100) })))).toEqual({
      status: 400,
      message: `kind ${JSON.stringify("K".repeat(64))} is not a SpanKind name`,
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

  it("reads the lowerCamelCase list when both spellings are there, and leaves the other alone", () => {
    const { request } = readJson(
      JSON.stringify({
        resource_spans: [{ scope_spans: [{ spans: [{ traceId: "not hex, never read" }] }] }],
        resourceSpans: [
          {
            scopeSpans: [{ spans: [{ traceId: TRACE_ID, spanId: SPAN_ID }] }],
            scope_spans: [{ spans: [{ spanId: "not hex, never read" }] }],
          },
        ],
      }),
    );

    expect(spansOf(request).map((s) => hex(s.spanId))).toEqual([SPAN_ID.toLowerCase()]);
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
  ])("refuses %s with 400", (_what, text, message) => {
    expect(refusal(() => readJson(text))).toEqual({ status: 400, message: expect.stringMatching(message) });
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
    ["a long trace id", { traceId: new Uint8Array(17).fill(1) }, "trace_id must be 16 bytes and not all zero, got 17 bytes"],
    ["an all-zero trace id", { traceId: new Uint8Array(16) }, "trace_id must be 16 bytes and not all zero, got 16 zero bytes"],
    ["a long span id", { spanId: randomId(16) }, "span_id must be 8 bytes and not all zero, got 16 bytes"],
    ["an all-zero span id", { spanId: new Uint8Array(8) }, "span_id must be 8 bytes and not all zero, got 8 zero bytes"],
    ["a 4-byte parent id", { parentSpanId: new Uint8Array(4) }, "parent_span_id must be empty or 8 bytes, got 4 bytes"],
    ["a 16-byte parent id", { parentSpanId: randomId(16) }, "parent_span_id must be empty or 8 bytes, got 16 bytes"],
  ])("refuses %s", (_what, ids, reason) => {
    expect(invalidSpanReason({ ...valid, ...ids })).toBe(reason);
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
    const long = create(SpanSchema, { traceId: randomId(8), spanId: randomId(8), name: "n".repeat(100) });

    expect(readRequest(toProtobuf(requestOf([long])), "protobuf").rejections.message).toBe(
      `rejected 1 of 1 spans: span "${"n".repeat(64)}": trace_id must be 16 bytes and not all zero, got 8 bytes`,
    );
    expect(readRequest(toProtobuf(requestOf([spanWith("ok", [])])), "protobuf").rejections).toMatchObject({
      accepted: 1,
      rejected: 0,
      message: "",
    });
  });
});
