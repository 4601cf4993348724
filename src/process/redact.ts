import { create } from "@bufbuild/protobuf";
import type { ExportTraceServiceRequest } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { type AnyValue, AnyValueSchema, type KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { BUILTIN_VALUE_PATTERNS, type Redact } from "../tenants/processing-schema.js";

interface CompiledRedaction {
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

/** Every attribute list in the request: resources, scopes, spans, events and links. */
function attributeLists(request: ExportTraceServiceRequest): KeyValue[][] {
  const lists: KeyValue[][] = [];
  for (const rs of request.resourceSpans) {
    if (rs.resource) lists.push(rs.resource.attributes);
    for (const ss of rs.scopeSpans) {
      if (ss.scope) lists.push(ss.scope.attributes);
      for (const span of ss.spans) {
        lists.push(span.attributes);
        for (const event of span.events) lists.push(event.attributes);
        for (const link of span.links) lists.push(link.attributes);
      }
    }
  }
  return lists;
}

/** Removes attributes whose key matches a glob, or replaces their value. Runs before translation, so nothing derived from them survives. */
export function redactKeys(request: ExportTraceServiceRequest, rules: CompiledRedaction): boolean {
  if (rules.keys.length === 0) return false;
  let changed = false;
  for (const list of attributeLists(request)) {
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

/** Masks matching text in every string value (nested ones too) and in span status messages. Runs after translation, so it reaches the translated JSON. */
export function maskValues(request: ExportTraceServiceRequest, rules: CompiledRedaction): boolean {
  if (rules.values.length === 0) return false;
  let changed = false;
  const mask = (text: string): string => {
    const masked = rules.values.reduce((acc, r) => acc.replace(r.regex, r.replacement), text);
    if (masked !== text) changed = true;
    return masked;
  };
  const maskValue = (value: AnyValue | undefined): void => {
    switch (value?.value.case) {
      case "stringValue":
        value.value.value = mask(value.value.value);
        break;
      case "arrayValue":
        value.value.value.values.forEach(maskValue);
        break;
      case "kvlistValue":
        for (const kv of value.value.value.values) maskValue(kv.value);
        break;
    }
  };
  for (const list of attributeLists(request)) for (const attribute of list) maskValue(attribute.value);
  for (const rs of request.resourceSpans)
    for (const ss of rs.scopeSpans) for (const span of ss.spans) if (span.status) span.status.message = mask(span.status.message);
  return changed;
}
