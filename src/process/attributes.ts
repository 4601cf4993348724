import { create } from "@bufbuild/protobuf";
import { type AnyValue, AnyValueSchema, type KeyValue, KeyValueSchema } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { base64Encode, utf8Of } from "../encoding/bytes.js";
import { isJson, isJsonObject } from "../encoding/json.js";
import { exactInteger, parseKeepingIntegers, withinParseBudget } from "./raw-json.js";

export type Scalar = string | number | boolean;

export function findAttribute(attributes: KeyValue[], key: string): AnyValue | undefined {
  return attributes.find((a) => a.key === key)?.value;
}

/** Whether an attribute has the key, whatever its value (none included). */
export function hasAttribute(attributes: KeyValue[], key: string): boolean {
  return attributes.some((a) => a.key === key);
}

/** How many attributes have the key: OTLP forbids a repeated key, but it happens. */
export function countOf(attributes: KeyValue[], key: string): number {
  let count = 0;
  for (const attribute of attributes) if (attribute.key === key) count++;
  return count;
}

/** Strings, numbers and booleans as themselves; 64-bit integers as numbers; anything else undefined. */
export function scalarOf(value: AnyValue | undefined): Scalar | undefined {
  switch (value?.value.case) {
    case "stringValue":
    case "boolValue":
    case "doubleValue":
      return value.value.value;
    case "intValue":
      return Number(value.value.value);
    default:
      return undefined;
  }
}

export function stringAttribute(attributes: KeyValue[], key: string): string | undefined {
  const value = findAttribute(attributes, key);
  return value?.value.case === "stringValue" ? value.value.value : undefined;
}

/** A number, or text that is one: an exporter may write every value as text. */
export function numberAttribute(attributes: KeyValue[], key: string): number | undefined {
  const scalar = scalarOf(findAttribute(attributes, key));
  const value = typeof scalar === "string" && DECIMAL.test(scalar) ? Number(scalar) : scalar;
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

const DECIMAL = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * JSON from an attribute's value, for a dotted key to reach into: text holding a JSON object or list
 * parsed, a key-value list or array converted, at any depth; other text stays text, as it was sent
 * ("1.10" is not the number 1.1, nor an id of 20 digits a rounded number), scalars as they are.
 */
export function jsonOf(value: AnyValue | undefined): unknown {
  return convertedValue(value, (text) => {
    const opens = text.trimStart()[0];
    return opens === "{" || opens === "[" ? (parseJson(text) ?? text) : text;
  });
}

/**
 * An attribute's value as it was given: text as text at any depth, never read as JSON, lists and
 * key-value lists converted, scalars as they are. For values that are a caller's text, such as
 * request metadata, where "2.10" or "2024" is not a number.
 */
export function givenOf(value: AnyValue | undefined): unknown {
  return convertedValue(value, (text) => text);
}

/**
 * A value that holds one object or list, in either form an attribute may carry it: JSON text parsed
 * (undefined when it is not JSON), or a key-value list or array as given, its texts as sent.
 */
export function structuredOf(value: AnyValue | undefined): unknown {
  return value?.value.case === "stringValue" ? parseJson(value.value.value) : givenOf(value);
}

/** A value with its lists and key-value lists converted, at any depth, each text read by `textValue`, scalars as they are. */
function convertedValue(value: AnyValue | undefined, textValue: (text: string) => unknown): unknown {
  switch (value?.value.case) {
    case "stringValue":
      return textValue(value.value.value);
    case "kvlistValue":
      return Object.fromEntries(value.value.value.values.map((kv) => [kv.key, convertedValue(kv.value, textValue)]));
    case "arrayValue":
      return value.value.value.values.map((item) => convertedValue(item, textValue));
    default:
      return restatedScalar(value);
  }
}

/**
 * A scalar as JSON restates it exactly, the way OTLP/JSON writes what JSON's numbers cannot hold:
 * an integer past 2^53 digit for digit, NaN and the infinities as text, bytes as base64. What is
 * restated replaces the attribute it came from, so nothing else would show the value sent.
 */
function restatedScalar(value: AnyValue | undefined): unknown {
  switch (value?.value.case) {
    case "intValue": {
      const integer = value.value.value;
      return Number.isSafeInteger(Number(integer)) ? Number(integer) : exactInteger(integer.toString());
    }
    case "doubleValue":
      return Number.isFinite(value.value.value) ? value.value.value : String(value.value.value);
    case "bytesValue":
      return base64Encode(value.value.value);
    default:
      return scalarOf(value);
  }
}

/**
 * JSON text parsed, its integers past 2^53 kept digit for digit; undefined for text that is not
 * JSON, or that nests deeper than the relay reads JSON (encoding/json.ts): what is parsed may be
 * written out again, and JSON.stringify recurses.
 */
export function parseJson(text: string): unknown {
  return isJson(utf8Of(text)) && withinParseBudget(text) ? parseKeepingIntegers(text) : undefined;
}

/**
 * A dotted key, read the way routing conditions read it: the attribute of that exact key, or else
 * the longest key that is a prefix of it and holds a JSON object or key-value list, descended into.
 * `json` reads an attribute's value as {@link jsonOf} does; a caller looking up many keys in one
 * span passes one that remembers, so a large JSON value is parsed once.
 */
export function lookupDotted(attributes: KeyValue[], dottedKey: string, json: (value: AnyValue) => unknown = jsonOf): unknown {
  const exact = findAttribute(attributes, dottedKey);
  if (exact) return json(exact);
  const parts = dottedKey.split(".");
  for (let cut = parts.length - 1; cut > 0; cut--) {
    const holder = findAttribute(attributes, parts.slice(0, cut).join("."));
    if (!holder) continue;
    let node = json(holder);
    for (const part of parts.slice(cut)) {
      // Own members only: `constructor` or `__proto__` is no member of a JSON object.
      node = isJsonObject(node) && Object.hasOwn(node, part) ? node[part] : undefined;
    }
    return node;
  }
  return undefined;
}

export function stringKeyValue(key: string, value: string): KeyValue {
  return keyValue(key, create(AnyValueSchema, { value: { case: "stringValue", value } }));
}

export function keyValue(key: string, value: AnyValue): KeyValue {
  return create(KeyValueSchema, { key, value });
}

export function stringArrayValue(values: string[]): AnyValue {
  return create(AnyValueSchema, {
    value: {
      case: "arrayValue",
      value: { values: values.map((value) => create(AnyValueSchema, { value: { case: "stringValue", value } })) },
    },
  });
}
