import { create } from "@bufbuild/protobuf";
import { type AnyValue, AnyValueSchema, type KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import type { ResourceSpans, ScopeSpans, Span } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { utf8Of } from "../encoding/bytes.js";
import { isJson, isJsonObject } from "../encoding/json.js";
import { BACKSLASH, CLOSE_LIST, CLOSE_OBJECT, isJsonSpace, OPEN_LIST, QUOTE } from "../encoding/json-characters.js";
import { REDACTED } from "../tenants/processing-schema.js";
import { parseJson } from "./attributes.js";
import { type CompiledRedaction, JSON_CONTAINER, MAX_MATCHES_PER_VALUE, type ValueRule } from "./redact.js";

/**
 * Masks matching text in every string value (nested ones too, and the keys of key-value lists) and
 * in the message's own text fields (`ownTexts`: a span's name, a scope's version, …). Runs after
 * translation, so it reaches the translated JSON.
 * A value that is a JSON object or list is masked as text, so a pattern may span its keys and values,
 * and then as Braintrust will read it: each string with an escape once more as it reads (`\u0040` for
 * `@` hides text from a pattern), and a string holding JSON as JSON in its turn. Should masking it as
 * text have broken its JSON (a match took the `n` of a `\n`), it is masked token by token instead,
 * then as text once more for the patterns that span tokens (a key and its value); broken again, it is
 * masked whole. Patterns anchored with `^` or `$` mask each token of a JSON value on its own instead,
 * as they would the same text in an attribute of its own (where it was before translation moved it
 * into JSON). What changed is written anew as a JSON string, everything else stays as it came, so the
 * value stays JSON.
 */
export function maskValues(lists: KeyValue[][], rules: CompiledRedaction, ownTexts: OwnTexts): boolean {
  if (rules.values.length === 0) return false;
  const maskWithin = (text: string): string | undefined => maskedWithin(text, rules.values);
  const mask = (text: string): string => maskedText(text, rules);
  const maskAnchored = rules.anchored.length === 0 ? undefined : (text: string): string => maskedWithin(text, rules.anchored) ?? REDACTED;
  const maskText = (text: string, depth = 0): string => {
    if (!JSON_CONTAINER.test(text)) return maskWithin(text) ?? REDACTED;
    // Anchored patterns mask a JSON value's tokens, each on its own (below), not its text: each
    // pattern masks a text once.
    const tokensApart = maskAnchored !== undefined && isJson(utf8Of(text));
    const asText = tokensApart ? maskedWithin(text, rules.unanchored) : maskWithin(text);
    // A string of it holding JSON (a tool call's arguments, an answer in JSON mode, JSON text that
    // translation nested in the JSON it writes) is escaped in it: masked as JSON in its turn.
    const maskString =
      depth < JSON_IN_STRINGS_DEPTH ? (string: string) => (mayHoldJson(string) ? maskText(string, depth + 1) : mask(string)) : mask;
    let asJson = asText ?? REDACTED;
    // Text found JSON just above and left as it was is not checked again.
    if (asText !== undefined && ((tokensApart && asText === text) || isJson(utf8Of(asText)))) {
      if (maskAnchored || asText.includes("\\")) asJson = maskJsonTokens(asText, maskString, maskAnchored) ?? REDACTED_JSON;
    } else if (asText !== text && (tokensApart || isJson(utf8Of(text)))) {
      // A pattern may match across a key and its value, which no token holds alone: what the tokens
      // leave is masked as text once more, and taken if it is still JSON. (Text masking left as it
      // was is no JSON, broken or not.)
      const tokens = maskJsonTokens(text, maskString, mask);
      const again = tokens === undefined ? undefined : maskWithin(tokens);
      asJson = again !== undefined && (again === tokens || isJson(utf8Of(again))) ? again : REDACTED_JSON;
    }
    return asJson.length <= grownAtMost(text) ? asJson : REDACTED_JSON;
  };
  let changed = false;
  const masked = (text: string, how: (text: string) => string = mask): string => {
    const result = how(text);
    if (result !== text) changed = true;
    return result;
  };
  const maskValue = (value: AnyValue | undefined): void => {
    switch (value?.value.case) {
      case "stringValue":
        value.value.value = masked(value.value.value, maskText);
        break;
      case "arrayValue":
        value.value.value.values.forEach(maskValue);
        break;
      case "kvlistValue": {
        // Its keys too, as a JSON object's are masked: a map's keys may be a caller's text (an address
        // as a key). Keys masked into one are told apart, or Braintrust's object would keep one value.
        // A key masking left alone keeps its name wherever it stands in the list.
        const entries = value.value.value.values;
        const keys = entries.map((kv) => masked(kv.key));
        const taken = takenNames(entries.filter((kv, i) => keys[i] === kv.key).map((kv) => kv.key));
        entries.forEach((kv, i) => {
          if (keys[i] !== kv.key) kv.key = distinctName(keys[i]!, taken);
          maskValue(kv.value);
        });
        break;
      }
    }
  };
  for (const list of lists) {
    for (const attribute of list) {
      const metrics = numbersOnlyMetrics(attribute);
      if (!metrics) maskValue(attribute.value);
      else if (metrics.some(([name]) => masked(name) !== name))
        attribute.value = create(AnyValueSchema, {
          value: {
            case: "stringValue",
            value: JSON.stringify(Object.fromEntries(distinctNames(metrics.map(([name, n]) => [mask(name), n])))),
          },
        });
    }
  }
  ownTexts((text) => masked(text));
  return changed;
}

/** Text as the value rules mask it: masked whole when that would grow it too far or mask too many matches. */
export function maskedText(text: string, rules: CompiledRedaction): string {
  return maskedWithin(text, rules.values) ?? REDACTED;
}

/** The text masked by each pattern in turn, or undefined when that would grow it past grownAtMost or mask too many matches (ValueRule). */
function maskedWithin(text: string, rules: ValueRule[]): string | undefined {
  const maxLength = grownAtMost(text);
  let masked = text;
  for (const maskOne of rules) {
    const next = maskOne(masked, maxLength);
    if (next === undefined) return undefined;
    masked = next;
  }
  return masked;
}

/** A message's own text fields, beside its attributes, each set to what `mask` makes of it. */
export type OwnTexts = (mask: (text: string) => string) => void;

/** A span's: its name, its and its links' trace states, its events' names and its status message. */
export function spanTexts(span: Span): OwnTexts {
  return (mask) => {
    span.name = mask(span.name);
    span.traceState = mask(span.traceState);
    for (const event of span.events) event.name = mask(event.name);
    for (const link of span.links) link.traceState = mask(link.traceState);
    if (span.status) span.status.message = mask(span.status.message);
  };
}

/** A resource's: its schema URL. */
export function resourceTexts(resourceSpans: ResourceSpans): OwnTexts {
  return (mask) => {
    resourceSpans.schemaUrl = mask(resourceSpans.schemaUrl);
  };
}

/** A scope's: its name, version and schema URL. */
export function scopeTexts(scopeSpans: ScopeSpans): OwnTexts {
  return (mask) => {
    if (scopeSpans.scope) {
      scopeSpans.scope.name = mask(scopeSpans.scope.name);
      scopeSpans.scope.version = mask(scopeSpans.scope.version);
    }
    scopeSpans.schemaUrl = mask(scopeSpans.schemaUrl);
  };
}

/**
 * How long masking may make text: a replacement may be longer than what it replaces, but a pattern
 * matching every character (`.`), or nothing between characters the check on saving a tenant does
 * not try (a lookahead for CJK), would multiply a request's size in an isolate other tenants'
 * requests share. Text masking would take past twice its length and a little is masked whole.
 */
function grownAtMost(text: string): number {
  return 2 * text.length + GROWTH_ALLOWANCE;
}

/**
 * Whether a string may hold a JSON object or list: it opens one and ends as it would close. A cheap
 * look first, since a value may be millions of short strings that open one and are no JSON.
 */
function mayHoldJson(text: string): boolean {
  if (!JSON_CONTAINER.test(text)) return false;
  let start = 0;
  while (isJsonSpace(text.charCodeAt(start))) start++;
  let end = text.length - 1;
  while (end > start && isJsonSpace(text.charCodeAt(end))) end--;
  return end > start && text.charCodeAt(end) === (text.charCodeAt(start) === OPEN_LIST ? CLOSE_LIST : CLOSE_OBJECT);
}

/**
 * How deep JSON held in a string of a JSON value is masked as JSON: deeper, a string is masked as
 * text. Each level reads its string again, so a value nested deeper than any encoder nests costs at
 * most this many more passes.
 */
const JSON_IN_STRINGS_DEPTH = 3;

/** Room for a replacement in short text: an address of six characters masked as `[REDACTED]`. */
const GROWTH_ALLOWANCE = 16;
/** A JSON value masked whole stays JSON. */
const REDACTED_JSON = JSON.stringify(REDACTED);

/**
 * Metrics of numbers only, as translation writes them (from numeric attributes, which masking never
 * touches, and a response's usage counts), have only their names masked: a digit pattern would turn
 * a cost into a string, which Braintrust drops. Undefined for any other attribute, masked as elsewhere.
 */
function numbersOnlyMetrics({ key, value }: KeyValue): Array<[string, number]> | undefined {
  if (key !== "braintrust.metrics" || value?.value.case !== "stringValue") return undefined;
  const metrics = parseJson(value.value.value);
  if (!isJsonObject(metrics)) return undefined;
  const entries = Object.entries(metrics);
  return entries.every((entry): entry is [string, number] => typeof entry[1] === "number") ? entries : undefined;
}

/** Names masked into one are told apart (`name (2)`): no metric is lost to another's name. */
function distinctNames(metrics: Array<[string, number]>): Array<[string, number]> {
  const taken = takenNames([]);
  return metrics.map(([name, n]) => [distinctName(name, taken), n]);
}

/**
 * Names given out, and for each name the number its next twin tries first: every number below it
 * is taken, so thousands of keys masked into one name cost one try each, not one per twin before.
 */
interface TakenNames {
  names: Set<string>;
  next: Map<string, number>;
}

function takenNames(names: string[]): TakenNames {
  return { names: new Set(names), next: new Map() };
}

/** The name, or `name (2)`, `name (3)`, … when one taken has it; taken too from then on. */
function distinctName(name: string, taken: TakenNames): string {
  let distinct = name;
  let i = taken.next.get(name) ?? 2;
  while (taken.names.has(distinct)) distinct = `${name} (${i++})`;
  taken.next.set(name, i);
  taken.names.add(distinct);
  return distinct;
}

/**
 * Valid JSON text with each string that holds an escape masked on its own by `maskEscaped`, decoded
 * (text the value's masking as text saw escaped), and each other token (strings, keys too, and other
 * scalars) by `maskPlain`, when given; what a mask changed is written as a JSON string, the rest byte
 * for byte as it came.
 */
function maskJsonTokens(json: string, maskEscaped: (text: string) => string, maskPlain?: (text: string) => string): string | undefined {
  let out = "";
  let copiedTo = 0;
  let changed = 0;
  const maskToken = (start: number, end: number, text: string, mask: (text: string) => string) => {
    const masked = mask(text);
    if (masked === text) return;
    changed++;
    out += json.slice(copiedTo, start) + JSON.stringify(masked);
    copiedTo = end;
  };
  for (let at = 0; at < json.length; ) {
    const start = at;
    if (json.charCodeAt(at) === QUOTE) {
      let escaped = false;
      for (at++; json.charCodeAt(at) !== QUOTE; at++) {
        if (json.charCodeAt(at) !== BACKSLASH) continue;
        escaped = true;
        at++;
      }
      at++;
      if (escaped) maskToken(start, at, JSON.parse(json.slice(start, at)) as string, maskEscaped);
      else if (maskPlain) maskToken(start, at, json.slice(start + 1, at - 1), maskPlain);
    } else if (maskPlain && isScalarCharacter(json.charCodeAt(at))) {
      while (at < json.length && isScalarCharacter(json.charCodeAt(at))) at++;
      maskToken(start, at, json.slice(start, at), maskPlain);
    } else at++;
    if (changed > MAX_MATCHES_PER_VALUE) return undefined;
  }
  return copiedTo === 0 ? json : out + json.slice(copiedTo);
}

/** A character of a number, `true`, `false` or `null`: none of JSON's structure or white space. */
function isScalarCharacter(c: number): boolean {
  return !STRUCTURE.has(c);
}

const STRUCTURE = new Set([...'{}[]:," \t\n\r'].map((c) => c.charCodeAt(0)));
