import { create, fromBinary, type JsonObject, toBinary, toJson } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";
import {
  type ExportTraceServiceRequest,
  ExportTraceServiceRequestSchema,
  ExportTraceServiceResponseSchema,
} from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { type AnyValue, AnyValueSchema, type KeyValue, KeyValueSchema } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { type Span, Span_SpanKind, SpanSchema, Status_StatusCode } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { hex } from "../../src/encoding/bytes.js";
import { otlpFormatOf } from "../../src/otlp/format.js";

export function randomId(bytes: 8 | 16): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(bytes));
}

/** An attribute value: a scalar, or an array or key-value list of them, nested to any depth. */
export type AttrValue = string | number | boolean | bigint | AttrValue[] | { [key: string]: AttrValue };

export function anyValue(value: AttrValue): AnyValue {
  const v =
    typeof value === "string"
      ? { case: "stringValue" as const, value }
      : typeof value === "boolean"
        ? { case: "boolValue" as const, value }
        : typeof value === "bigint" || (typeof value === "number" && Number.isInteger(value))
          ? { case: "intValue" as const, value: BigInt(value) }
          : typeof value === "number"
            ? { case: "doubleValue" as const, value }
            : Array.isArray(value)
              ? { case: "arrayValue" as const, value: { values: value.map(anyValue) } }
              : { case: "kvlistValue" as const, value: { values: Object.entries(value).map(([k, v]) => attr(k, v)) } };
  return create(AnyValueSchema, { value: v });
}

export function attr(key: string, value: AttrValue): KeyValue {
  return create(KeyValueSchema, { key, value: anyValue(value) });
}

const MODEL = "openai/gpt-4.1-mini";

/**
 * One gateway request as TrueFoundry's AI Gateway exports it: `ChatCompletion` → `Model` → the
 * provider's `POST`, with the tfy.* attributes of docs/truefoundry-spans.md.
 */
export function trueFoundryTrace(options: { prompt?: string; start?: bigint } = {}): ExportTraceServiceRequest {
  const traceId = randomId(16);
  const start = options.start ?? 1_764_000_000_000_000_000n;
  const prompt = options.prompt ?? "What is the capital of France?";
  const input = JSON.stringify({ model: MODEL, messages: [{ role: "user", content: prompt }], stream: false });
  const output = JSON.stringify({
    id: "chatcmpl-1",
    choices: [{ index: 0, message: { role: "assistant", content: "Paris." }, finish_reason: "stop" }],
  });
  const root = create(SpanSchema, {
    traceId,
    spanId: randomId(8),
    name: `ChatCompletion: ${MODEL}`,
    kind: Span_SpanKind.SERVER,
    startTimeUnixNano: start,
    endTimeUnixNano: start + 850_000_000n,
    flags: 0x301,
    attributes: [
      attr("tfy.span_type", "ChatCompletion"),
      attr("tfy.input", input),
      attr("tfy.output", output),
      attr("tfy.request.model_name", MODEL),
      attr("tfy.request.created_by_subject", "user:alice@example.com"),
      attr("tfy.request.metadata", JSON.stringify({ env: "prod", tags: ["checkout"] })),
      attr("tfy.request.conversation_id", "conv-42"),
    ],
    status: { code: Status_StatusCode.OK },
  });
  const model = create(SpanSchema, {
    traceId,
    spanId: randomId(8),
    parentSpanId: root.spanId,
    name: `Model: ${MODEL}`,
    kind: Span_SpanKind.INTERNAL,
    startTimeUnixNano: start + 5_000_000n,
    endTimeUnixNano: start + 840_000_000n,
    attributes: [
      attr("tfy.span_type", "Model"),
      attr("tfy.model.id", "m-123"),
      attr("tfy.model.name", "gpt-4.1-mini"),
      attr("tfy.model.fqn", `truefoundry:${MODEL}`),
      attr("tfy.model.streaming", false),
      attr("tfy.model.request_url", "https://api.openai.com/v1/chat/completions"),
      attr("tfy.model.metric.input_tokens", 14),
      attr("tfy.model.metric.output_tokens", 3),
      attr("tfy.model.metric.cost_in_usd", 0.0000134),
      attr("tfy.model.metric.latency_in_ms", 812.5),
      attr("tfy.model.metric.time_to_first_token_in_ms", 230.25),
    ],
    events: [{ timeUnixNano: start + 235_000_000n, name: "first_token", attributes: [attr("index", 0)] }],
  });
  const http = create(SpanSchema, {
    traceId,
    spanId: randomId(8),
    parentSpanId: model.spanId,
    name: "POST https://api.openai.com/v1/chat/completions",
    kind: Span_SpanKind.CLIENT,
    startTimeUnixNano: start + 10_000_000n,
    endTimeUnixNano: start + 830_000_000n,
    attributes: [attr("http.response.status_code", 200)],
    links: [{ traceId: randomId(16), spanId: randomId(8), traceState: "vendor=1", flags: 1 }],
  });
  return create(ExportTraceServiceRequestSchema, {
    resourceSpans: [
      {
        resource: { attributes: [attr("service.name", "tfy-llm-gateway"), attr("deployment.environment", "prod")] },
        scopeSpans: [
          {
            scope: { name: "tfy-llm-gateway", version: "1.0.0" },
            spans: [root, model, http],
            schemaUrl: "https://opentelemetry.io/schemas/1.26.0",
          },
        ],
      },
    ],
  });
}

export function spansOf(request: ExportTraceServiceRequest): Span[] {
  return request.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
}

export function toProtobuf(request: ExportTraceServiceRequest): Uint8Array {
  return toBinary(ExportTraceServiceRequestSchema, request);
}

/** OTLP JSON as exporters send it: proto3 JSON, but ids in hex. */
export function toOtlpJson(request: ExportTraceServiceRequest): JsonObject {
  const json = toJson(ExportTraceServiceRequestSchema, request) as JsonObject;
  const hexIds = (o: JsonObject) => {
    for (const key of ["traceId", "spanId", "parentSpanId"]) {
      if (typeof o[key] === "string") o[key] = hex(Uint8Array.from(atob(o[key] as string), (c) => c.charCodeAt(0)));
    }
  };
  for (const rs of (json.resourceSpans ?? []) as JsonObject[]) {
    for (const ss of (rs.scopeSpans ?? []) as JsonObject[]) {
      for (const span of (ss.spans ?? []) as JsonObject[]) {
        hexIds(span);
        for (const link of (span.links ?? []) as JsonObject[]) hexIds(link);
      }
    }
  }
  return json;
}

/**
 * The request as OTLP JSON of exactly `bytes` bytes, padded with whitespace (which JSON ignores),
 * so a valid body can sit exactly at a size limit or one byte past it.
 */
export function otlpJsonOfSize(request: ExportTraceServiceRequest, bytes: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(toOtlpJson(request)));
  if (json.byteLength > bytes) throw new Error(`the request's JSON alone is ${json.byteLength} bytes, over ${bytes}`);
  const body = new Uint8Array(bytes).fill(0x20);
  body.set(json);
  return body;
}

export async function compress(bytes: Uint8Array | string, format: "gzip" | "deflate" | "deflate-raw"): Promise<Uint8Array> {
  const input = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  const stream = new Blob([input.slice()]).stream().pipeThrough(new CompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The google.rpc.Status of an OTLP error response, in whichever encoding it came. */
export async function rpcStatusOf(response: Response): Promise<{ code: number; message: string }> {
  if (otlpFormatOf(response.headers.get("content-type") ?? undefined) === "protobuf") {
    const status = fromBinary(StatusSchema, new Uint8Array(await response.arrayBuffer()));
    return { code: status.code, message: status.message };
  }
  return (await response.json()) as { code: number; message: string };
}

export async function exportResponseOf(response: Response) {
  return fromBinary(ExportTraceServiceResponseSchema, new Uint8Array(await response.arrayBuffer()));
}

export function spanIdsOf(request: ExportTraceServiceRequest): string[] {
  return spansOf(request).map((s) => hex(s.spanId));
}

/**
 * About `totalBytes` of gateway traces whose prompts are long: `largeSpans` spans carry a
 * `tfy.input` of `largeSpanBytes` each (too big for one queue message), the rest is ordinary traces.
 */
export function largeRequest(options: { largeSpans: number; largeSpanBytes: number; smallTraces: number }): ExportTraceServiceRequest {
  const request = trueFoundryTrace();
  const scope = request.resourceSpans[0]!.scopeSpans[0]!;
  const filler = "The quick brown fox jumps over the lazy dog. "
    .repeat(Math.ceil(options.largeSpanBytes / 45))
    .slice(0, options.largeSpanBytes);
  for (let i = 0; i < options.largeSpans; i++) {
    const [root] = trueFoundryTrace().resourceSpans[0]!.scopeSpans[0]!.spans;
    root!.attributes.push(attr("tfy.input", JSON.stringify({ messages: [{ role: "user", content: `${i}: ${filler}` }] })));
    scope.spans.push(root!);
  }
  for (let i = 0; i < options.smallTraces; i++) {
    const other = trueFoundryTrace({ prompt: `question ${i}: ${"x".repeat(1500)}` });
    request.resourceSpans.push(...other.resourceSpans);
  }
  return request;
}

/** A single-span trace with these attributes, for routing, filtering and translation cases. */
export function spanWith(name: string, attributes: KeyValue[], options: { traceId?: Uint8Array; parentSpanId?: Uint8Array } = {}): Span {
  return create(SpanSchema, {
    traceId: options.traceId ?? randomId(16),
    spanId: randomId(8),
    parentSpanId: options.parentSpanId ?? new Uint8Array(),
    name,
    kind: Span_SpanKind.INTERNAL,
    startTimeUnixNano: 1_764_000_000_000_000_000n,
    endTimeUnixNano: 1_764_000_000_500_000_000n,
    attributes,
  });
}

/** A varied request from a seed: resources, scopes, traces across them, tfy.* spans, unknown fields, a bad id now and then. */
export function variedRequest(seed: number): ExportTraceServiceRequest {
  let state = seed;
  const next = (n: number) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  };
  const traces = Array.from({ length: 1 + next(4) }, () => crypto.getRandomValues(new Uint8Array(16)));
  return create(ExportTraceServiceRequestSchema, {
    resourceSpans: Array.from({ length: 1 + next(3) }, (_, r) => ({
      resource: { attributes: [attr("service.name", `svc-${r}`)] },
      schemaUrl: next(2) ? "https://opentelemetry.io/schemas/1.26.0" : "",
      $unknown: next(3) === 0 ? [{ no: 77, wireType: WireType.Varint, data: new Uint8Array([5]) }] : undefined,
      scopeSpans: Array.from({ length: 1 + next(3) }, (_, s) => ({
        scope: { name: `scope-${s}`, version: "1" },
        spans: Array.from({ length: next(5) }, (_, i) => {
          const span = spanWith(
            next(2) ? `ChatCompletion ${i}` : `db.query ${i}`,
            [
              ...(next(2)
                ? [
                    attr("tfy.span_type", ["Model", "ChatCompletion", "MCP"][next(3)]!),
                    attr(
                      "tfy.input",
                      JSON.stringify({ messages: [{ role: "user", content: `${"x".repeat(next(300))} é ✓ 🙂 ${"ü".repeat(next(200))}` }] }),
                    ),
                  ]
                : []),
              ...(next(3) === 0 ? [attr("tfy.request.metadata", JSON.stringify({ env: next(2) ? "eval" : "prod" }))] : []),
              attr("n", i),
            ],
            { traceId: traces[next(traces.length)]!, parentSpanId: next(3) ? crypto.getRandomValues(new Uint8Array(8)) : new Uint8Array() },
          );
          if (next(4) === 0) span.$unknown = [{ no: 99, wireType: WireType.LengthDelimited, data: new Uint8Array([2, 0x68, 0x69]) }];
          if (next(10) === 0) span.traceId = new Uint8Array(4);
          return span;
        }),
      })),
    })),
  });
}

export function requestOf(spans: Span[], scopeName = "tfy-llm-gateway"): ExportTraceServiceRequest {
  return create(ExportTraceServiceRequestSchema, {
    resourceSpans: [
      { resource: { attributes: [attr("service.name", "tfy-llm-gateway")] }, scopeSpans: [{ scope: { name: scopeName }, spans }] },
    ],
  });
}

/** The attributes of a delivered span, as plain key → value. */
export function attributesOf(span: Span): Record<string, unknown> {
  return Object.fromEntries(
    span.attributes.map((a) => [
      a.key,
      a.value?.value.case === "arrayValue" ? a.value.value.value.values.map((v) => v.value.value) : a.value?.value.value,
    ]),
  );
}
