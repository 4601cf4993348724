import { create } from "@bufbuild/protobuf";
import { type AnyValue, AnyValueSchema, type KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import type { Span } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { textOf, utf8Of } from "../encoding/bytes.js";
import { isJson, jsonList, jsonObject, listItems, objectMembers } from "../encoding/json.js";
import { BUILTIN_VALUE_PATTERNS, type Redact } from "../tenants/processing-schema.js";

export interface CompiledRedaction {
  keys: KeyRule[];
  values: Array<{ regex: RegExp; replacement: string }>;
}

interface KeyRule {
  regex: RegExp;
  /** The glob up to its first `*`, and whether it has one: which paths it may match below a key. */
  literalPrefix: string;
  wildcard: boolean;
  action: "remove" | "replace";
  replacement: string;
}

const compiled = new WeakMap<Redact, CompiledRedaction>();

function globToRegex(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
}

/** The tenant's rules, compiled once per tenant record; undefined when there are none. */
export function compileRedaction(redact: Redact): CompiledRedaction | undefined {
  if (redact.keys.length === 0 && redact.values.length === 0) return undefined;
  let rules = compiled.get(redact);
  if (!rules) {
    rules = {
      keys: redact.keys.map((k) => ({
        regex: globToRegex(k.pattern),
        literalPrefix: k.pattern.split("*")[0]!,
        wildcard: k.pattern.includes("*"),
        action: k.action,
        replacement: k.replacement,
      })),
      values: redact.values.map((v) =>
        typeof v === "string"
          ? { regex: new RegExp(BUILTIN_VALUE_PATTERNS[v], "g"), replacement: "[REDACTED]" }
          : { regex: new RegExp(v.pattern, "g"), replacement: v.replacement },
      ),
    };
    compiled.set(redact, rules);
  }
  return rules;
}

/** A span's attribute lists: its own, its events' and its links'. */
export function spanAttributeLists(span: Span): KeyValue[][] {
  return [span.attributes, ...span.events.map((e) => e.attributes), ...span.links.map((l) => l.attributes)];
}

/**
 * Removes attributes whose key matches a glob, or replaces their value. A key nested in a key-value
 * list, or in a JSON object an attribute holds as text, is matched by its dotted path, as flattened
 * attributes name it (`tfy.request.metadata.email`, `a.list.0.key` in a list), so a rule reaches a
 * value however the exporter nested it. Runs before translation, so nothing derived from them survives.
 */
export function redactKeys(lists: KeyValue[][], rules: CompiledRedaction): boolean {
  if (rules.keys.length === 0) return false;
  let changed = false;
  const redactList = (list: KeyValue[], prefix: string): void => {
    for (let i = list.length - 1; i >= 0; i--) {
      const attribute = list[i]!;
      const path = prefix + attribute.key;
      const rule = ruleFor(rules, path);
      if (!rule) {
        redactNested(attribute.value, `${path}.`);
        continue;
      }
      changed = true;
      if (rule.action === "remove") list.splice(i, 1);
      else attribute.value = create(AnyValueSchema, { value: { case: "stringValue", value: rule.replacement } });
    }
  };
  const redactNested = (value: AnyValue | undefined, prefix: string): void => {
    if (value?.value.case === "kvlistValue") redactList(value.value.value.values, prefix);
    else if (value?.value.case === "arrayValue") {
      for (const [i, item] of value.value.value.values.entries()) redactNested(item, `${prefix}${i}.`);
    } else if (value?.value.case === "stringValue" && JSON_CONTAINER.test(value.value.value) && mayMatchBelow(rules, prefix)) {
      const redacted = redactJsonKeys(utf8Of(value.value.value), prefix, rules, MAX_JSON_KEY_DEPTH);
      if (redacted === undefined) return;
      value.value.value = textOf(redacted);
      changed = true;
    }
  };
  for (const list of lists) redactList(list, "");
  return changed;
}

function ruleFor(rules: CompiledRedaction, path: string): KeyRule | undefined {
  return rules.keys.find((r) => r.regex.test(path));
}

/** Whether a rule may match a path that starts with `prefix`: what JSON text is scanned for. */
function mayMatchBelow(rules: CompiledRedaction, prefix: string): boolean {
  return rules.keys.some((r) => r.literalPrefix.startsWith(prefix) || (r.wildcard && prefix.startsWith(r.literalPrefix)));
}

/**
 * JSON nested deeper than this is not searched for keys: each level is read again by the level
 * above, so the depth bounds what a hostile value costs. Metadata and request bodies nest a few levels.
 */
const MAX_JSON_KEY_DEPTH = 8;

/**
 * A JSON object or list with its keys matched by dotted path below `prefix`, removed or their value
 * replaced; what no rule touched keeps its bytes. Undefined when nothing matched, or for text that
 * is not a JSON object or list.
 */
function redactJsonKeys(utf8: Uint8Array, prefix: string, rules: CompiledRedaction, depthLeft: number): Uint8Array | undefined {
  if (depthLeft === 0) return undefined;
  const nested = (raw: Uint8Array, path: string) =>
    raw[0] === OPEN_OBJECT || raw[0] === OPEN_LIST ? redactJsonKeys(raw, `${path}.`, rules, depthLeft - 1) : undefined;
  const members = utf8[0] === OPEN_LIST ? undefined : objectMembers(utf8);
  if (members) {
    let changed = false;
    const kept: Array<[string, Uint8Array]> = [];
    for (const [key, raw] of members) {
      const path = prefix + key;
      const rule = ruleFor(rules, path);
      const value = rule ? (rule.action === "remove" ? undefined : utf8Of(JSON.stringify(rule.replacement))) : (nested(raw, path) ?? raw);
      if (value !== raw) changed = true;
      if (value !== undefined) kept.push([key, value]);
    }
    return changed ? jsonObject(kept) : undefined;
  }
  const items = listItems(utf8);
  if (!items) return undefined;
  let changed = false;
  const redacted = items.map((raw, i) => {
    const value = nested(raw, `${prefix}${i}`);
    if (value !== undefined) changed = true;
    return value ?? raw;
  });
  return changed ? jsonList(redacted) : undefined;
}

const OPEN_OBJECT = 0x7b;
const OPEN_LIST = 0x5b;

/**
 * Masks matching text in every string value (nested ones too) and, for a span, in its name, its
 * events' names and its status message. Runs after translation, so it reaches the translated JSON.
 * A value that is a JSON object or list is masked as text, so a pattern may span its keys and values,
 * and then as Braintrust will read it: each string with an escape once more as it reads (`\u0040` for
 * `@` hides text from a pattern). Should masking it as text have broken its JSON (a match took the `n`
 * of a `\n`), it is masked token by token instead. What changed is written anew as a JSON string,
 * everything else stays as it came, so the value stays JSON.
 */
export function maskValues(lists: KeyValue[][], rules: CompiledRedaction, span?: Span): boolean {
  if (rules.values.length === 0) return false;
  const mask = (text: string): string => rules.values.reduce((acc, r) => acc.replace(r.regex, r.replacement), text);
  const maskText = (text: string): string => {
    const asText = mask(text);
    if (!JSON_CONTAINER.test(text)) return asText;
    if (isJson(utf8Of(asText))) return asText.includes("\\") ? maskJsonTokens(asText, mask, "escaped strings") : asText;
    return isJson(utf8Of(text)) ? maskJsonTokens(text, mask, "every token") : asText;
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
      case "kvlistValue":
        for (const kv of value.value.value.values) maskValue(kv.value);
        break;
    }
  };
  for (const list of lists) for (const attribute of list) maskValue(attribute.value);
  if (span) {
    span.name = masked(span.name);
    for (const event of span.events) event.name = masked(event.name);
    if (span.status) span.status.message = masked(span.status.message);
  }
  return changed;
}

/** Text that may be a JSON object or list: what else parses as JSON (a number, `null`) is masked as text. */
const JSON_CONTAINER = /^[ \t\n\r]*[[{]/;

/**
 * Valid JSON text with each string that holds an escape, or each token (strings, keys too, and other
 * scalars), masked on its own, strings decoded; what a mask changed is written as a JSON string, the
 * rest byte for byte as it came.
 */
function maskJsonTokens(json: string, mask: (text: string) => string, tokens: "escaped strings" | "every token"): string {
  let out = "";
  let copiedTo = 0;
  const maskToken = (start: number, end: number, text: string) => {
    const masked = mask(text);
    if (masked === text) return;
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
      if (escaped) maskToken(start, at, JSON.parse(json.slice(start, at)) as string);
      else if (tokens === "every token") maskToken(start, at, json.slice(start + 1, at - 1));
    } else if (tokens === "every token" && isScalarCharacter(json.charCodeAt(at))) {
      while (at < json.length && isScalarCharacter(json.charCodeAt(at))) at++;
      maskToken(start, at, json.slice(start, at));
    } else at++;
  }
  return copiedTo === 0 ? json : out + json.slice(copiedTo);
}

/** A character of a number, `true`, `false` or `null`: none of JSON's structure or white space. */
function isScalarCharacter(c: number): boolean {
  return !STRUCTURE.has(c);
}

const STRUCTURE = new Set([...'{}[]:," \t\n\r'].map((c) => c.charCodeAt(0)));
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
