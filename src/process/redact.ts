import { create } from "@bufbuild/protobuf";
import { type AnyValue, AnyValueSchema, type KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import type { Span } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { BUILTIN_VALUE_PATTERNS, type Redact } from "../tenants/processing-schema.js";
import { parseJson } from "./attributes.js";

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
 * text from a pattern, so JSON with escapes is also masked string by string, once parsed.
 */
export function maskValues(lists: KeyValue[][], rules: CompiledRedaction, span?: Span): boolean {
  if (rules.values.length === 0) return false;
  const mask = (text: string): string => rules.values.reduce((acc, r) => acc.replace(r.regex, r.replacement), text);
  const maskText = (text: string): string => {
    const masked = mask(text);
    const json = masked.includes("\\") ? parseJson(masked) : undefined;
    if (json === undefined) return masked;
    let escapedMatch = false;
    const maskedJson = maskJson(json, (inner) => {
      const maskedInner = mask(inner);
      if (maskedInner !== inner) escapedMatch = true;
      return maskedInner;
    });
    return escapedMatch ? JSON.stringify(maskedJson) : masked;
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

/** Every string of parsed JSON masked, keys too (own properties only, so no key reaches a prototype). */
function maskJson(json: unknown, mask: (text: string) => string): unknown {
  if (typeof json === "string") return mask(json);
  if (Array.isArray(json)) return json.map((item) => maskJson(item, mask));
  if (typeof json === "object" && json !== null)
    return Object.fromEntries(Object.entries(json).map(([key, value]) => [mask(key), maskJson(value, mask)]));
  return json;
}
