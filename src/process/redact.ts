import { create } from "@bufbuild/protobuf";
import { type AnyValue, AnyValueSchema, type KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import type { Span } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { utf8Of } from "../encoding/bytes.js";
import { isJson } from "../encoding/json.js";
import { BUILTIN_VALUE_PATTERNS, type Redact } from "../tenants/processing-schema.js";

export interface CompiledRedaction {
  keys: Array<{ regex: RegExp; action: "remove" | "replace"; replacement: string }>;
  values: Array<{ regex: RegExp; replacement: string }>;
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
      keys: redact.keys.map((k) => ({ regex: globToRegex(k.pattern), action: k.action, replacement: k.replacement })),
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

/** Removes attributes whose key matches a glob, or replaces their value. Runs before translation, so nothing derived from them survives. */
export function redactKeys(lists: KeyValue[][], rules: CompiledRedaction): boolean {
  if (rules.keys.length === 0) return false;
  let changed = false;
  for (const list of lists) {
    for (let i = list.length - 1; i >= 0; i--) {
      const attribute = list[i]!;
      const rule = rules.keys.find((r) => r.regex.test(attribute.key));
      if (!rule) continue;
      changed = true;
      if (rule.action === "remove") list.splice(i, 1);
      else attribute.value = create(AnyValueSchema, { value: { case: "stringValue", value: rule.replacement } });
    }
  }
  return changed;
}

/**
 * Masks matching text in every string value (nested ones too) and, for a span, in its name, its
 * events' names and its status message. Runs after translation, so it reaches the translated JSON.
 * A value that is JSON is masked as Braintrust will read it too: an escape (`\u0040` for `@`) hides
 * text from a pattern, so each of its strings with an escape is also masked as it reads, and written
 * again only when that found something; nothing else of the value changes.
 */
export function maskValues(lists: KeyValue[][], rules: CompiledRedaction, span?: Span): boolean {
  if (rules.values.length === 0) return false;
  const mask = (text: string): string => rules.values.reduce((acc, r) => acc.replace(r.regex, r.replacement), text);
  const maskText = (text: string): string => {
    const masked = mask(text);
    return masked.includes("\\") && isJson(utf8Of(masked)) ? maskEscapedStrings(masked, mask) : masked;
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

/**
 * Valid JSON text with each string literal that holds an escape masked as it reads (decoded), and
 * written anew only when that changed it; everything else as it was, byte for byte.
 */
function maskEscapedStrings(json: string, mask: (text: string) => string): string {
  let out = "";
  let copiedTo = 0;
  for (let at = 0; at < json.length; at++) {
    if (json.charCodeAt(at) !== QUOTE) continue;
    const start = at;
    let escaped = false;
    for (at++; json.charCodeAt(at) !== QUOTE; at++) {
      if (json.charCodeAt(at) !== BACKSLASH) continue;
      escaped = true;
      at++;
    }
    if (!escaped) continue;
    const text = JSON.parse(json.slice(start, at + 1)) as string;
    const masked = mask(text);
    if (masked === text) continue;
    out += json.slice(copiedTo, start) + JSON.stringify(masked);
    copiedTo = at + 1;
  }
  return copiedTo === 0 ? json : out + json.slice(copiedTo);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
