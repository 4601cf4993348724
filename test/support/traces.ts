import { create, fromBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";
import {
  type ExportTraceServiceRequest,
  ExportTraceServiceRequestSchema,
  ExportTraceServiceResponseSchema,
} from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { type Span, Span_SpanKind, SpanSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { attr, randomId, spansOf, toOtlpJson, trueFoundryTrace } from "../../scripts/lib/traces.js";
import { hex } from "../../src/encoding/bytes.js";
import { otlpFormatOf } from "../../src/otlp/format.js";

/** Requests built for the tests alone, and their answers read back; scripts/lib/traces.ts has the builders the tools share. */

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

/** The attributes of a delivered span (or event, or resource), as plain key → value. */
export function attributesOf(holder: Pick<Span, "attributes">): Record<string, unknown> {
  return Object.fromEntries(
    holder.attributes.map((a) => [
      a.key,
      a.value?.value.case === "arrayValue" ? a.value.value.value.values.map((v) => v.value.value) : a.value?.value.value,
    ]),
  );
}
