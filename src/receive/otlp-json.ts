import { type DescEnum, type DescMessage, fromJson, type JsonValue, type MessageShape, toBinary } from "@bufbuild/protobuf";
import {
  ResourceSpansSchema,
  ScopeSpansSchema,
  Span_SpanKindSchema,
  SpanSchema,
  Status_StatusCodeSchema,
} from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { base64Encode, fromHex } from "../encoding/bytes.js";
import { isJson, isJsonObject, type JsonObject, type ReviverContext, unsafeIntegerDigits, writesWholeNumber } from "../encoding/json.js";
import { quoted, RelayError } from "../http/errors.js";
import type { IncomingResource, IncomingSpan } from "../otlp/incoming.js";
import type { Range } from "../otlp/wire.js";
import { scanJsonRequest } from "./json-layout.js";
import { NESTING_LEFT } from "./request-limits.js";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Reads an OTLP JSON body one span at a time. OTLP's JSON encoding differs from the proto3 JSON
 * mapping that protobuf-es reads: span, parent and link ids are hex rather than base64, and 64-bit
 * integers may arrive as bare numbers too large for a double. Each span is turned into proto3 JSON,
 * accepting what the OpenTelemetry Collector accepts (hex in any case, snake_case keys, enum names
 * or numbers), then decoded. Enum names are resolved here because protobuf-es, told to ignore
 * unknown fields, would also drop an unknown enum name without a word; here it is a 400.
 * https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding, summarised in docs/otlp-http.md.
 * The body is never parsed whole (see json-layout.ts).
 */
export function readJsonSpans(bytes: Uint8Array, visit: (incoming: IncomingSpan) => void): void {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new RelayError("malformed", "request body is not valid UTF-8");
  }
  const layout = scanJsonRequest(text);
  // An empty body is a request without spans, as an empty protobuf one is; white space is as empty.
  if (!layout) return;
  // The layout reads only the structure of what no span needs; the body must be JSON all the same.
  if (!isJson(withoutBom(bytes))) throw new RelayError("malformed", "request body is not valid JSON");
  for (const resourceLayout of layout) {
    const resourceSpans = decode(ResourceSpansSchema, parseMembers(text, resourceLayout.members), NESTING_LEFT.resource);
    const resource: IncomingResource = { resourceSpans, header: [toBinary(ResourceSpansSchema, resourceSpans)] };
    for (const scopeLayout of resourceLayout.scopes) {
      const scopeSpans = decode(ScopeSpansSchema, parseMembers(text, scopeLayout.members), NESTING_LEFT.scope);
      const scope = { resource, scopeSpans, header: [toBinary(ScopeSpansSchema, scopeSpans)] };
      for (const span of scopeLayout.spans) {
        const json = parse(text, span);
        if (!isJsonObject(json)) throw new RelayError("malformed", "spans must be an array of objects");
        const decoded = decode(SpanSchema, toProto3Span(json), NESTING_LEFT.span);
        visit({ span: decoded, fields: decoded, scope, range: undefined });
      }
    }
  }
}

/** The body without a leading byte order mark, which the text it is read as does not have either. */
function withoutBom(bytes: Uint8Array): Uint8Array {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
}

function parse(text: string, { start, end }: Range): unknown {
  try {
    return JSON.parse(text.slice(start, end), keepLargeIntegersExact);
  } catch (err) {
    if (err instanceof RelayError) throw err;
    throw new RelayError("malformed", `request body is not valid JSON: ${(err as Error).message}`);
  }
}

function parseMembers(text: string, members: Map<string, Range>): JsonObject {
  return Object.fromEntries([...members].map(([key, range]) => [key, parse(text, range)]));
}

/** `recursionLimit`: the nesting left below where the message sits, as for protobuf (request-limits.ts). */
function decode<Desc extends DescMessage>(desc: Desc, json: JsonObject, recursionLimit: number): MessageShape<Desc> {
  try {
    return fromJson(desc, json as JsonValue, { ignoreUnknownFields: true, recursionLimit });
  } catch (err) {
    const words = (err instanceof Error ? err.message : String(err)).slice(0, 300);
    throw new RelayError("malformed", `request body is not a valid OTLP JSON ExportTraceServiceRequest: ${words}`);
  }
}

function toProto3Span(span: JsonObject): JsonObject {
  hexIdsToBase64(span, "span");
  enumNameToNumber(span, "kind", Span_SpanKindSchema);
  if (isJsonObject(span.status)) enumNameToNumber(span.status, "code", Status_StatusCodeSchema);
  for (const link of listField(span, "links")) hexIdsToBase64(link, "link");
  return span;
}

/**
 * A JSON number past 2^53 would lose digits as a double; protobuf-es takes it as a string. A fraction
 * whose double is whole (`9007199254740993.5`, `1.0000000000000000001`, `1e-400`) goes as its text
 * too, which an integer field refuses, as the Collector does, where its double would have been
 * rounded to one; a double field reads it as a number. An integer given as a string must be decimal
 * digits: protobuf-es would read `0x10` as 16, `0b101` as 5 and ` 7 ` as 7.
 */
function keepLargeIntegersExact(key: string, value: unknown, context?: ReviverContext): unknown {
  if (typeof value === "string") {
    if (INTEGER_MEMBERS.has(key) && !/^-?\d+$/.test(value))
      throw new RelayError("malformed", `${key} must be an integer in decimal digits, got ${quoted(value)}`);
    // A lone surrogate's escape (`"\ud83d"`, an emoji an SDK cut in half) is JSON, but no text
    // protobuf-es takes: read as U+FFFD, as the Collector reads it, the batch is kept.
    return value.isWellFormed() ? value : value.toWellFormed();
  }
  if (typeof value !== "number" || context?.source === undefined) return value;
  const digits = unsafeIntegerDigits(value, context);
  if (digits !== undefined) return digits;
  const rounded = Math.abs(value) > Number.MAX_SAFE_INTEGER || (Number.isInteger(value) && !writesWholeNumber(context.source));
  return rounded ? context.source : value;
}

/** The integer members a span's JSON may hold, under both their names: times, counts of what was dropped, flags, `intValue`. */
const INTEGER_MEMBERS = new Set([
  "startTimeUnixNano",
  "start_time_unix_nano",
  "endTimeUnixNano",
  "end_time_unix_nano",
  "timeUnixNano",
  "time_unix_nano",
  "intValue",
  "int_value",
  "droppedAttributesCount",
  "dropped_attributes_count",
  "droppedEventsCount",
  "dropped_events_count",
  "droppedLinksCount",
  "dropped_links_count",
  "flags",
]);

function listField(parent: JsonObject, ...names: string[]): JsonObject[] {
  for (const name of names) {
    const value = parent[name];
    if (value === undefined || value === null) continue;
    if (!Array.isArray(value) || !value.every(isJsonObject)) throw new RelayError("malformed", `${name} must be an array of objects`);
    return value;
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
        throw new RelayError(
          "malformed",
          `${what} ${name} must be a hex string, got ${typeof value === "string" ? quoted(value) : jsonKind(value)}`,
        );
      }
      target[name] = base64Encode(fromHex(value));
    }
  }
}

/** What a JSON value that is not a string is, as a refusal names it without quoting all of it back. */
function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return String(value);
}

function enumNameToNumber(target: JsonObject, field: string, schema: DescEnum): void {
  const value = target[field];
  if (typeof value !== "string") return;
  const known = schema.values.find((v) => v.name === value);
  if (!known) throw new RelayError("malformed", `${field} ${quoted(value)} is not a ${schema.name} name`);
  target[field] = known.number;
}
