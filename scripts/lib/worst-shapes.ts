import { create, toBinary } from "@bufbuild/protobuf";
import { AnyValueSchema, type KeyValue, KeyValueSchema } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { SpanSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { concat, hex } from "../../src/encoding/bytes.js";
import type { OtlpFormat } from "../../src/otlp/format.js";
import { MAX_MESSAGES_PER_SPAN, MAX_SPANS_PER_REQUEST } from "../../src/receive/request-limits.js";
import { lengthDelimitedBytes, repeatedBytes } from "./wire-bytes.js";

/**
 * Requests built to cost the relay the most memory and CPU per byte, for the memory tests and the
 * benchmark, written straight as bytes (millions of tiny values would not fit in the test's own
 * memory as objects): each shape is a span repeated, with its own trace and span ids, as often as
 * fits a body limit.
 */

interface WorstShape {
  format: OtlpFormat;
  /** One span, encoded; ids are patched per copy. */
  span: Uint8Array;
  /** At most this many spans, however large the limit. */
  maxSpans?: number;
}

const utf8 = new TextEncoder();
const kv = (key: string, value: string): KeyValue =>
  create(KeyValueSchema, { key, value: create(AnyValueSchema, { value: { case: "stringValue", value } }) });

function spanBytes(attributes: KeyValue[], extra: Uint8Array = new Uint8Array()): Uint8Array {
  const fields = toBinary(
    SpanSchema,
    create(SpanSchema, { traceId: new Uint8Array(16).fill(1), spanId: new Uint8Array(8).fill(1), name: "Model", attributes }),
  );
  return concat([fields, extra]);
}

/** `count` empty KeyValues as Span.attributes fields (field 9, length 0): two bytes each. */
const emptyAttributes = (count: number) => new Uint8Array(count * 2).map((_, i) => (i % 2 === 0 ? 0x4a : 0));

function nested(depth: number) {
  let value = create(AnyValueSchema, { value: { case: "stringValue", value: "x" } });
  for (let level = 0; level < depth; level++)
    value = create(AnyValueSchema, { value: { case: "kvlistValue", value: { values: [{ key: "env", value }] } } });
  return create(KeyValueSchema, { key: "tfy.request.metadata", value });
}

const tfy = kv("tfy.span_type", "Model");

/**
 * Deepest value inside the nesting limit: below the span (1) sit a KeyValue and its AnyValue (3),
 * then three messages a level (KeyValueList, KeyValue, AnyValue); 3 + 3 × 31 = 96 of 97.
 */
const LEGAL_DEPTH = 31;

export const WORST_SHAPES: Record<string, WorstShape> = {
  /** Spans with valid ids and one tfy.* attribute: each read, translated and placed. */
  "tiny spans": { format: "protobuf", span: spanBytes([tfy]) },
  "tiny spans, at the span limit": { format: "protobuf", span: spanBytes([tfy]), maxSpans: MAX_SPANS_PER_REQUEST },
  /** Spans of as many empty attributes as a span may hold (the tfy.* one is two messages): each an object decoded, and read by translation. */
  "tiny attributes": { format: "protobuf", span: spanBytes([tfy], emptyAttributes(MAX_MESSAGES_PER_SPAN - 2)) },
  /** Key-value lists nested as deep as is legal, where routing and translation read (tfy.request.metadata). */
  "deep values": { format: "protobuf", span: spanBytes([tfy, nested(LEGAL_DEPTH)]) },
  /** Gateway spans with a short prompt and answer each: every one parsed and restated by translation. */
  "many small prompts": {
    format: "protobuf",
    span: spanBytes([
      tfy,
      kv(
        "tfy.input",
        JSON.stringify({
          messages: [
            { role: "user", content: "What is the status of ticket 4711, and when will the refund for order 99120 reach my card?" },
          ],
        }),
      ),
      kv(
        "tfy.output",
        JSON.stringify({
          choices: [
            {
              message: {
                role: "assistant",
                content: "The ticket is resolved; the refund was issued today and reaches your card in 3 to 5 days.",
              },
            },
          ],
        }),
      ),
    ]),
  },
  /** Spans of as many Traceloop messages as a span may hold (each a KeyValue and its value): each one parsed, restated and removed. */
  "many Traceloop messages": {
    format: "protobuf",
    span: spanBytes([tfy, ...Array.from({ length: MAX_MESSAGES_PER_SPAN / 2 - 2 }, (_, i) => kv(`gen_ai.prompt.${i}.content`, "hi"))]),
  },
  /** A request's spans of as many GenAI usage counts as a span may hold: each one counted and moved to metadata. */
  "many usage counts": {
    format: "protobuf",
    span: spanBytes([
      kv("tfy.span_type", "ChatCompletion"),
      ...Array.from({ length: MAX_MESSAGES_PER_SPAN / 2 - 2 }, (_, i) => kv(`gen_ai.usage.c${i}`, "1")),
    ]),
  },
  /** The tiny attributes again, as JSON, whose parse holds the whole body at once. */
  "tiny attributes, JSON": { format: "json", span: spanBytes([tfy], emptyAttributes(MAX_MESSAGES_PER_SPAN - 2)) },
};

/** One span of nothing but empty attributes, `bytes` long: over the limit of messages a span may hold. */
export function oneSpanOfTinyAttributes(bytes: number): Uint8Array {
  return protobufRequest([spanBytes([tfy], emptyAttributes(Math.floor(bytes / 2) - 40))]);
}

/** The largest request of the shape within `limit` bytes. */
export function worstRequest(shape: WorstShape, limit: number): Uint8Array {
  const one = shape.format === "json" ? jsonSpan(shape.span, 0).byteLength + 1 : lengthDelimitedBytes(2, shape.span).byteLength;
  return requestOfSpans(shape, Math.min(shape.maxSpans ?? Number.POSITIVE_INFINITY, Math.floor((limit - 64) / one)));
}

/** A request of `count` spans of the shape, each with ids of its own. */
export function requestOfSpans(shape: WorstShape, count: number): Uint8Array {
  const spans = Array.from({ length: count }, (_, i) => withIds(shape.span, i));
  return shape.format === "json" ? jsonRequest(spans) : protobufRequest(spans);
}

/** The span with a trace and span id of its own: byte ranges 2–18 and 20–28 (fields 1 and 2 come first). */
function withIds(span: Uint8Array, i: number): Uint8Array {
  const copy = span.slice();
  const view = new DataView(copy.buffer);
  view.setUint32(2, i + 1);
  view.setUint32(20, i + 1);
  return copy;
}

function protobufRequest(spans: Uint8Array[]): Uint8Array {
  return lengthDelimitedBytes(1, lengthDelimitedBytes(2, concat(spans.map((s) => lengthDelimitedBytes(2, s)))));
}

/**
 * The span in OTLP JSON, written as text: ids in hex, its attributes as `{}` for each empty one
 * (what a JSON exporter writes for a KeyValue with neither key nor value).
 */
function jsonSpan(span: Uint8Array, i: number): Uint8Array {
  const ids = withIds(span, i);
  const empty = (span.byteLength - spanBytes([tfy]).byteLength) / 2;
  const attributes = [JSON.stringify({ key: "tfy.span_type", value: { stringValue: "Model" } }), ...Array(empty).fill("{}")];
  return utf8.encode(
    `{"traceId":"${hex(ids.subarray(2, 18))}","spanId":"${hex(ids.subarray(20, 28))}","name":"Model","attributes":[${attributes.join(",")}]}`,
  );
}

function jsonRequest(spans: Uint8Array[]): Uint8Array {
  const parts = spans.map((span, i) => jsonSpan(span, i));
  const comma = utf8.encode(",");
  return concat([
    utf8.encode('{"resourceSpans":[{"scopeSpans":[{"spans":['),
    ...parts.flatMap((p, i) => (i === 0 ? [p] : [comma, p])),
    utf8.encode("]}]}]}"),
  ]);
}

/**
 * Requests whose weight is in resources and scopes rather than spans: empty ones by the million,
 * or a resource of many attributes around every span. `limit`: the body's size, about.
 */
export const CONTAINER_SHAPES: Record<string, { format: OtlpFormat; body: (limit: number) => Uint8Array }> = {
  "empty scopes, one span": {
    format: "protobuf",
    body: (limit) =>
      lengthDelimitedBytes(
        1,
        concat([
          repeatedBytes([0x12, 0], (limit - 200) / 2),
          lengthDelimitedBytes(2, lengthDelimitedBytes(2, withIds(spanBytes([tfy]), 0))),
        ]),
      ),
  },
  "empty resources, one span": {
    format: "protobuf",
    body: (limit) => concat([repeatedBytes([0x0a, 0], (limit - 200) / 2), protobufRequest([withIds(spanBytes([tfy]), 0)])]),
  },
  "a resource of 150 attributes around every span": {
    format: "protobuf",
    body: (limit) => {
      const resource = lengthDelimitedBytes(1, emptyResourceAttributes(150));
      const one = (i: number) =>
        lengthDelimitedBytes(1, concat([resource, lengthDelimitedBytes(2, lengthDelimitedBytes(2, withIds(spanBytes([tfy]), i)))]));
      return concat(Array.from({ length: Math.floor(limit / one(0).byteLength) }, (_, i) => one(i)));
    },
  },
  "empty resources, JSON": {
    format: "json",
    body: (limit) =>
      utf8.encode(
        `{"resourceSpans":[${Array(Math.floor((limit - 100) / 3))
          .fill("{}")
          .join(",")}]}`,
      ),
  },
  "empty spans, JSON": {
    format: "json",
    body: (limit) =>
      utf8.encode(
        `{"resourceSpans":[{"scopeSpans":[{"spans":[${Array(Math.floor((limit - 100) / 3))
          .fill("{}")
          .join(",")}]}]}]}`,
      ),
  },
  "a resource of 150 attributes around every span, JSON": {
    format: "json",
    body: (limit) => {
      const resource = `"resource":{"attributes":[${Array(150).fill("{}").join(",")}]}`;
      const one = (i: number) => {
        const ids = withIds(spanBytes([tfy]), i);
        return `{${resource},"scopeSpans":[{"spans":[{"traceId":"${hex(ids.subarray(2, 18))}","spanId":"${hex(ids.subarray(20, 28))}","name":"s"}]}]}`;
      };
      return utf8.encode(
        `{"resourceSpans":[${Array.from({ length: Math.floor(limit / (one(0).length + 1)) }, (_, i) => one(i)).join(",")}]}`,
      );
    },
  },
};

/** `count` empty KeyValues as Resource.attributes fields (field 1). */
const emptyResourceAttributes = (count: number) => repeatedBytes([0x0a, 0], count);
