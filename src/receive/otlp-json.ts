import type { DescEnum } from "@bufbuild/protobuf";
import { Span_SpanKindSchema, Status_StatusCodeSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { RelayError } from "../http/errors.js";

/**
 * OTLP's JSON encoding differs from the proto3 JSON mapping that protobuf-es reads: span, parent
 * and link ids are hex rather than base64, and 64-bit integers may arrive as bare numbers too
 * large for a double. This turns an OTLP JSON body into proto3 JSON, accepting what the
 * OpenTelemetry Collector accepts (hex in any case, snake_case keys, enum names or numbers).
 * Enum names are resolved here because protobuf-es, told to ignore unknown fields, would also
 * drop an unknown enum name without a word; here it is a 400.
 * https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding, summarised in docs/otlp-http.md.
 */
export function parseOtlpJson(text: string): unknown {
  let json: unknown;
  try {
    json = JSON.parse(text, keepLargeIntegersExact);
  } catch (err) {
    throw new RelayError("malformed", `request body is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(json)) throw new RelayError("malformed", "request body must be a JSON object");
  for (const resourceSpans of listField(json, "resourceSpans", "resource_spans")) {
    for (const scopeSpans of listField(resourceSpans, "scopeSpans", "scope_spans")) {
      for (const span of listField(scopeSpans, "spans")) {
        hexIdsToBase64(span, "span");
        enumNameToNumber(span, "kind", Span_SpanKindSchema);
        if (isObject(span.status)) enumNameToNumber(span.status, "code", Status_StatusCodeSchema);
        for (const link of listField(span, "links")) hexIdsToBase64(link, "link");
      }
    }
  }
  return json;
}

type JsonObject = Record<string, unknown>;

interface ReviverContext {
  source?: string;
}

/** A JSON number past 2^53 would lose digits as a double; protobuf-es takes it as a string. */
function keepLargeIntegersExact(_key: string, value: unknown, context?: ReviverContext): unknown {
  if (typeof value === "number" && !Number.isSafeInteger(value) && context?.source && /^-?\d+$/.test(context.source)) {
    return context.source;
  }
  return value;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function listField(parent: unknown, ...names: string[]): JsonObject[] {
  if (!isObject(parent)) return [];
  for (const name of names) {
    const value = parent[name];
    if (value === undefined || value === null) continue;
    if (!Array.isArray(value)) throw new RelayError("malformed", `${name} must be an array`);
    return value.filter(isObject);
  }
  return [];
}

const ID_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ["traceId", "trace_id"],
  ["spanId", "span_id"],
  ["parentSpanId", "parent_span_id"],
];

function hexIdsToBase64(target: JsonObject, what: string): void {
  for (const names of ID_FIELDS) {
    for (const name of names) {
      const value = target[name];
      if (value === undefined || value === null) continue;
      if (typeof value !== "string" || value.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(value)) {
        throw new RelayError("malformed", `${what} ${name} must be a hex string, got ${JSON.stringify(value).slice(0, 80)}`);
      }
      target[name] = hexToBase64(value);
    }
  }
}

function hexToBase64(hex: string): string {
  let binary = "";
  for (let i = 0; i < hex.length; i += 2) binary += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  return btoa(binary);
}

function enumNameToNumber(target: JsonObject, field: string, schema: DescEnum): void {
  const value = target[field];
  if (typeof value !== "string") return;
  const known = schema.values.find((v) => v.name === value);
  if (!known) throw new RelayError("malformed", `${field} ${JSON.stringify(value.slice(0, 64))} is not a ${schema.name} name`);
  target[field] = known.number;
}
