import {
  type DescEnum,
  type DescField,
  type DescMessage,
  fromJson,
  type JsonValue,
  type MessageShape,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import {
  ResourceSpansSchema,
  ScopeSpansSchema,
  Span_SpanKindSchema,
  SpanSchema,
  Status_StatusCodeSchema,
} from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { base64Encode, bomLength, fromHex, strictTextOf } from "../encoding/bytes.js";
import { isJson, isJsonObject, type JsonObject, type ReviverContext, unsafeIntegerDigits, writesWholeNumber } from "../encoding/json.js";
import { quotedUnlessSecret } from "../http/caller-text.js";
import { RelayError } from "../http/errors.js";
import type { IncomingResource, IncomingSpan } from "../otlp/incoming.js";
import type { Range } from "../otlp/wire.js";
import { scanJsonRequest, spanNameAt } from "./json-layout.js";
import { NESTING_LEFT } from "./request-limits.js";
import { passIsAStep, StepCounter, type Steps } from "./turns.js";
import type { SpanRejections } from "./validate.js";

/**
 * Reads an OTLP JSON body one span at a time. OTLP's JSON encoding differs from the proto3 JSON
 * mapping that protobuf-es reads: span, parent and link ids are hex rather than base64, and 64-bit
 * integers may arrive as bare numbers too large for a double. Each span is turned into proto3 JSON,
 * accepting what the OpenTelemetry Collector accepts (hex in any case, snake_case keys, enum names
 * or numbers), then decoded. Enum names are resolved here because protobuf-es, told to ignore
 * unknown fields, would also drop an unknown enum name without a word; here it is a 400.
 * https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding, summarised in docs/otlp-http.md.
 * The body is never parsed whole (see json-layout.ts). In steps (turns.ts), by where the reading has
 * come to in the text.
 */
export function* readJsonSpans(bytes: Uint8Array, visit: (incoming: IncomingSpan) => void, rejections: SpanRejections): Steps<void> {
  // Each of the three passes over the whole body is a step of its own, for a body of more than one.
  const passesAreSteps = passIsAStep(bytes.byteLength);
  let text: string;
  try {
    text = strictTextOf(bytes);
  } catch {
    throw new RelayError("malformed", "request body is not valid UTF-8");
  }
  if (passesAreSteps) yield;
  const layout = scanJsonRequest(text);
  // An empty body is a request without spans, as an empty protobuf one is; white space is as empty.
  if (!layout) return;
  if (passesAreSteps) yield;
  // The layout reads only the structure of what no span needs; the body must be JSON all the same.
  // Without a leading byte order mark, as the text it is read as has none either.
  if (!isJson(bytes.subarray(bomLength(bytes)))) throw new RelayError("malformed", "request body is not valid JSON");
  if (passesAreSteps) yield;
  const steps = new StepCounter();
  for (const resourceLayout of layout) {
    // Laying out a resource of more than a step's text is a step of its own, before its first span.
    if (passIsAStep(resourceLayout.text.end - resourceLayout.text.start)) yield;
    const resourceSpans = decode(ResourceSpansSchema, parseMembers(text, resourceLayout.members), NESTING_LEFT.resource);
    const resource: IncomingResource = { resourceSpans, header: [toBinary(ResourceSpansSchema, resourceSpans)] };
    for (const scopeLayout of resourceLayout.scopes) {
      const scopeSpans = decode(ScopeSpansSchema, parseMembers(text, scopeLayout.members), NESTING_LEFT.scope);
      const scope = { resource, scopeSpans, header: [toBinary(ScopeSpansSchema, scopeSpans)] };
      for (const span of scopeLayout.spans) {
        const overLimits = scopeLayout.overLimits(span);
        if (overLimits === undefined) {
          const json = parse(text, span);
          if (!isJsonObject(json)) throw new RelayError("malformed", "spans must be an array of objects");
          const decoded = decode(SpanSchema, toProto3Span(json), NESTING_LEFT.span);
          visit({ span: decoded, fields: decoded, scope, range: undefined });
        } else rejections.reject(spanNameAt(text, span), overLimits);
        if (steps.reached(span.end)) yield;
      }
    }
  }
}

function parse(text: string, { start, end }: Range): unknown {
  try {
    return JSON.parse(text.slice(start, end), keepLargeIntegersExact);
  } catch (err) {
    throw new RelayError("malformed", `request body is not valid JSON: ${(err as Error).message}`);
  }
}

function parseMembers(text: string, members: Map<string, Range>): JsonObject {
  return Object.fromEntries([...members].map(([key, range]) => [key, parse(text, range)]));
}

/** `recursionLimit`: the nesting left below where the message sits, as for protobuf (request-limits.ts). */
function decode<Desc extends DescMessage>(desc: Desc, json: JsonObject, recursionLimit: number): MessageShape<Desc> {
  settleNumbers(desc, json, recursionLimit);
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
  for (const link of listField(span, "links")) hexIdsToBase64(link, "link", LINK_ID_FIELDS);
  return span;
}

/** A JSON number the reviver kept as its text, until the field it is given to says whether it takes text (settleNumbers). */
class NumberText {
  constructor(
    readonly text: string,
    readonly value: number,
  ) {}
}

/**
 * A JSON number past 2^53 would lose digits as a double; protobuf-es takes it as a string. A fraction
 * whose double is whole (`9007199254740993.5`, `1.0000000000000000001`, `1e-400`) goes as its text
 * too, which an integer field refuses, as the Collector does, where its double would have been
 * rounded to one; a double field reads it as a number. Kept as a NumberText, not a string: a field
 * of text or bytes must not take a number as its text.
 */
function keepLargeIntegersExact(_key: string, value: unknown, context?: ReviverContext): unknown {
  // A lone surrogate's escape (`"\ud83d"`, an emoji an SDK cut in half) is JSON, but no text
  // protobuf-es takes: read as U+FFFD, as the Collector reads it, the batch is kept.
  if (typeof value === "string") return value.isWellFormed() ? value : value.toWellFormed();
  if (typeof value !== "number" || context?.source === undefined) return value;
  const digits = unsafeIntegerDigits(value, context);
  if (digits !== undefined) return new NumberText(digits, value);
  const rounded = Math.abs(value) > Number.MAX_SAFE_INTEGER || (Number.isInteger(value) && !writesWholeNumber(context.source));
  return rounded ? new NumberText(context.source, value) : value;
}

/**
 * Walks the JSON as the schema reads it, before protobuf-es does: a number kept as its text goes to
 * a field of numbers as that text, to any other as the number it is, which the field refuses as it
 * refuses any number (`"name": 5`, `"spanId": 9234567890123456`); an integer field given a string of
 * anything but decimal digits, which protobuf-es would read as BigInt reads it (`0x10` as 16, `0b101`
 * as 5, ` 7 ` as 7), and so a fraction kept as its text, is refused. A member the schema does not
 * have is ignored whatever its name, as decode ignores it; `depth`, the nesting left, as decode's
 * limit, past which decode refuses it anyway.
 */
function settleNumbers(desc: DescMessage, json: JsonObject, depth: number): void {
  if (depth <= 0) return;
  const fields = fieldsByName(desc);
  for (const [name, value] of Object.entries(json)) {
    const field = fields.get(name);
    if (field === undefined || field.fieldKind === "map") continue;
    if (field.fieldKind === "list") {
      // Not a list, which protobuf-es refuses: a number kept as its text is refused as the number it is.
      if (!Array.isArray(value)) {
        json[name] = settled(name, undefined, value);
        continue;
      }
      for (let at = 0; at < value.length; at++) {
        const item = settled(name, field.listKind === "scalar" ? field.scalar : undefined, value[at]);
        value[at] = item;
        if (field.listKind === "message" && isJsonObject(item)) settleNumbers(field.message, item, depth - 1);
      }
      continue;
    }
    // An enum's number is read as an integer field's: a fraction kept as its text is refused (its name is text of its own).
    const enumNumber = field.fieldKind === "enum" && value instanceof NumberText;
    const scalar = field.fieldKind === "scalar" ? field.scalar : enumNumber ? ScalarType.INT32 : undefined;
    const settledValue = settled(name, scalar, value);
    // Yet it goes on as the number it is, which protobuf-es refuses as out of range: as text it would
    // be an unknown name, which protobuf-es, ignoring unknown fields, drops (a span sent as unspecified).
    json[name] = enumNumber ? value.value : settledValue;
    if (field.fieldKind === "message" && isJsonObject(settledValue)) settleNumbers(field.message, settledValue, depth - 1);
  }
}

/** A member's value as protobuf-es is to read it; `scalar`: the field's, when it is one. */
function settled(name: string, scalar: ScalarType | undefined, value: unknown): unknown {
  const given = value instanceof NumberText ? (scalar !== undefined && NUMBER_SCALARS.has(scalar) ? value.text : value.value) : value;
  if (typeof given === "string" && scalar !== undefined && INTEGER_SCALARS.has(scalar) && !/^-?\d+$/.test(given))
    throw new RelayError(
      "malformed",
      `${name} must be a whole number, as a number or a string of decimal digits, got ${textShown(given, NUMBER_LIKE.test(given))}`,
    );
  // Refused before protobuf-es turns it into a BigInt, whose cost grows faster than its length: a
  // million digits would take seconds of CPU to be refused as out of range all the same.
  if (typeof given === "string" && scalar !== undefined && INTEGER_SCALARS.has(scalar) && significantDigits(given) > MAX_INTEGER_DIGITS)
    throw new RelayError(
      "malformed",
      `${name} must be a whole number of at most 64 bits, got ${textShown(given, NUMBER_LIKE.test(given))}`,
    );
  // protobuf-es reads a double's string as Number does, `0x10` as 16; the Collector reads decimal only.
  if (typeof given === "string" && scalar !== undefined && FRACTION_SCALARS.has(scalar) && RADIX_PREFIXED.test(given))
    throw new RelayError(
      "malformed",
      `${name} must be a number, as a number or a string of one in decimal, got ${textShown(given, NUMBER_LIKE.test(given))}`,
    );
  if (typeof given === "string" && scalar === ScalarType.BYTES && !isBase64(given))
    throw new RelayError("malformed", `${name} must be base64 or base64url, got ${textShown(given, false)}`);
  return given;
}

const RADIX_PREFIXED = /^[-+]?0[xXbBoO]/;

/** The digits of the largest 64-bit integer, 18446744073709551615. */
const MAX_INTEGER_DIGITS = 20;

/** A string of decimal digits' length without its sign and leading zeros, which protobuf-es reads past. */
function significantDigits(digits: string): number {
  let first = digits.startsWith("-") ? 1 : 0;
  while (first < digits.length - 1 && digits[first] === "0") first++;
  return digits.length - first;
}

/**
 * Base64 or base64url, padded or not, as proto3 JSON takes bytes; line breaks (MIME's) stepped over,
 * as Go's decoder steps over them. protobuf-es reads more, and reads it as other bytes: padding
 * inside the text restarts a group (`A=QID` is 0x40 0x80), white space is skipped, `AQ==AQ==` is two bytes.
 */
function isBase64(text: string): boolean {
  const unbroken = /[\r\n]/.test(text) ? text.replace(/[\r\n]/g, "") : text;
  const padded = unbroken.endsWith("=");
  return BASE64.test(unbroken) && unbroken.length % 4 !== 1 && (!padded || unbroken.length % 4 === 0);
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

const INTEGER_SCALARS: ReadonlySet<ScalarType> = new Set([
  ScalarType.INT32,
  ScalarType.INT64,
  ScalarType.UINT32,
  ScalarType.UINT64,
  ScalarType.SINT32,
  ScalarType.SINT64,
  ScalarType.FIXED32,
  ScalarType.FIXED64,
  ScalarType.SFIXED32,
  ScalarType.SFIXED64,
]);

const FRACTION_SCALARS: ReadonlySet<ScalarType> = new Set([ScalarType.DOUBLE, ScalarType.FLOAT]);

const NUMBER_SCALARS: ReadonlySet<ScalarType> = new Set([...INTEGER_SCALARS, ...FRACTION_SCALARS]);

const FIELDS_BY_NAME = new WeakMap<DescMessage, Map<string, DescField>>();

/** A message's fields by both names JSON may give them, `startTimeUnixNano` and `start_time_unix_nano`. */
function fieldsByName(desc: DescMessage): Map<string, DescField> {
  let fields = FIELDS_BY_NAME.get(desc);
  if (!fields) {
    fields = new Map(desc.fields.flatMap((field) => [[field.name, field] as const, [field.jsonName, field] as const]));
    FIELDS_BY_NAME.set(desc, fields);
  }
  return fields;
}

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
/** A link has no parent: a member of that name is an unknown one, ignored as any other. */
const LINK_ID_FIELDS = ID_FIELDS.slice(0, 2);

function hexIdsToBase64(target: JsonObject, what: string, idFields = ID_FIELDS): void {
  for (const names of idFields) {
    for (const name of names) {
      const value = target[name];
      if (value === undefined || value === null) continue;
      if (typeof value !== "string" || value.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(value)) {
        throw new RelayError(
          "malformed",
          `${what} ${name} must be a hex string, got ${typeof value === "string" ? textShown(value, ID_LIKE.test(value)) : jsonKind(value)}`,
        );
      }
      target[name] = base64Encode(fromHex(value));
    }
  }
}

/**
 * A string of the request where a number, an id or an enum's name belongs, as a refusal shows it:
 * quoted when it has the shape of what belongs there or is short, else by its length alone. The
 * refusal is logged, and the request has not met the tenant's redaction yet: text of any other
 * shape may be anything of a span's (an attribute's value, a prompt's line, a key).
 */
function textShown(text: string, shaped: boolean): string {
  return quotedUnlessSecret(text, shaped) ?? `a string of ${text.length} characters`;
}

const NUMBER_LIKE = /^[-+0-9.eE]{1,40}$/;
/** Hex digits, and a UUID's dashes: an id as a client may send it by mistake, no longer than a UUID. */
const ID_LIKE = /^[0-9a-fA-F-]{1,36}$/;
const ENUM_NAME_LIKE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** What a JSON value that is not a string is, as a refusal names it without quoting all of it back. */
function jsonKind(value: unknown): string {
  if (value instanceof NumberText) return value.text;
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return String(value);
}

function enumNameToNumber(target: JsonObject, field: string, schema: DescEnum): void {
  const value = target[field];
  if (typeof value !== "string") return;
  const known = schema.values.find((v) => v.name === value);
  if (!known)
    throw new RelayError("malformed", `${field} must be a ${schema.name} name, got ${textShown(value, ENUM_NAME_LIKE.test(value))}`);
  target[field] = known.number;
}
