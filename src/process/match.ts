import type { AnyValue, InstrumentationScope } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import type { Resource } from "../../gen/opentelemetry/proto/resource/v1/resource_pb.js";
import { rawJsonText } from "../encoding/json.js";
import type { SpanFields } from "../otlp/incoming.js";
import type { Condition, Match } from "../tenants/processing-schema.js";
import { jsonOf, lookupDotted, type Scalar } from "./attributes.js";

/** Everything a condition may look at for one span. */
export interface SpanInContext {
  span: SpanFields;
  scope?: InstrumentationScope;
  resource?: Resource;
  /**
   * Each attribute value a condition read, as JSON: a hundred routes of fifty conditions on one
   * attribute holding megabytes of JSON then parse it once, not five thousand times.
   */
  json?: Map<AnyValue, unknown>;
  /**
   * The `resource.*` fields read so far, shared by every span of the resource: a resource's value is
   * the same for each of its spans, and read for each it would cost the request its resource's size
   * times its spans (a megabyte of JSON over thousands of tiny spans).
   */
  resourceFields?: Map<string, unknown>;
}

export function matches(match: Match, target: SpanInContext): boolean {
  if ("all" in match) return match.all.every((m) => matches(m, target));
  if ("any" in match) return match.any.some((m) => matches(m, target));
  return conditionHolds(match, fieldValue(match.field, target));
}

function fieldValue(field: string, target: SpanInContext): unknown {
  if (field === "span_name") return target.span.name;
  if (field === "scope_name") return target.scope?.name;
  const json = (value: AnyValue) => {
    target.json ??= new Map();
    if (!target.json.has(value)) target.json.set(value, jsonOf(value));
    return target.json.get(value);
  };
  if (field.startsWith("resource.")) {
    const known = target.resourceFields;
    if (known?.has(field)) return known.get(field);
    const value = lookupDotted(target.resource?.attributes ?? [], field.slice("resource.".length), json);
    known?.set(field, value);
    return value;
  }
  return lookupDotted(target.span.attributes, field.slice("attributes.".length), json);
}

function conditionHolds(condition: Condition, value: unknown): boolean {
  if (condition.exists !== undefined) return (value !== undefined && value !== null) === condition.exists;
  if (condition.equals !== undefined) return sameScalar(value, condition.equals);
  if (condition.one_of !== undefined) return condition.one_of.some((candidate) => sameScalar(value, candidate));
  if (condition.prefix !== undefined) return typeof value === "string" && value.startsWith(condition.prefix);
  return false;
}

/**
 * Equal as the same type, except that a number and its decimal text are equal (`"200"` and `200`),
 * and so are a boolean and its text, either way round (a caller's metadata is text, `"true"`, and a
 * route written `"true"` for a boolean attribute would otherwise match nothing, silently); an integer past
 * 2^53, kept as its digits, equals those digits as text (a route's number is never one: the admin
 * API refuses it).
 */
function sameScalar(value: unknown, expected: Scalar): boolean {
  if (value === expected) return true;
  const digits = rawJsonText(value);
  if (digits !== undefined) return digits === expected;
  if (typeof expected === "boolean") return value === String(expected);
  if (typeof expected === "number" && typeof value === "string") return value.trim() !== "" && Number(value) === expected;
  if (typeof expected === "string" && (typeof value === "number" || typeof value === "boolean")) return String(value) === expected;
  return false;
}
