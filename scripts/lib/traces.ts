import { create, type JsonObject, toBinary, toJson } from "@bufbuild/protobuf";
import {
  type ExportTraceServiceRequest,
  ExportTraceServiceRequestSchema,
} from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { type AnyValue, AnyValueSchema, type KeyValue, KeyValueSchema } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { type Span, Span_SpanKind, SpanSchema, Status_StatusCode } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { hex } from "../../src/encoding/bytes.js";

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
