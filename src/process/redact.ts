import { create } from "@bufbuild/protobuf";
import { type AnyValue, AnyValueSchema, type KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import type { Span } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { textOf, utf8Of } from "../encoding/bytes.js";
import { isJson, isJsonObject, jsonList, jsonObject, listItems, OPEN_LIST, OPEN_OBJECT, objectMembers } from "../encoding/json.js";
import type { BuiltinValuePattern, Redact } from "../tenants/processing-schema.js";
import { parseJson } from "./attributes.js";

export interface CompiledRedaction {
  keys: KeyRule[];
  values: ValueRule[];
}

/** `replacement` as String.prototype.replace takes it: text (`$&` and the like read), or a function of the match. */
interface ValueRule {
  regex: RegExp;
  replacement: string | ((match: string) => string);
}

const REDACTED = "[REDACTED]";

const BUILTIN_VALUE_RULES: Record<BuiltinValuePattern, ValueRule> = {
  api_keys: { regex: /\b(?:sk|pk|rk|sess)-[A-Za-z0-9_-]{16,}|\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*/g, replacement: REDACTED },
  // An address's local part, then `@` and a domain. Written as that pattern, a search tries every
  // character of a long run without an `@` and reads the run to its end each time: quadratic, a
  // second for 40,000 letters. So every run is a match, and only one with an address is masked:
  // each run is read once, and what is masked is what the plain pattern masks.
  emails: {
    regex: /[A-Za-z0-9._%+-]+(?:@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?/g,
    replacement: (run) => (run.includes("@") ? REDACTED : run),
  },
};

interface KeyRule {
  regex: RegExp;
  /** The glob up to its first `*`, and whether it has one: which paths it may match below a key. */
  literalPrefix: string;
  wildcard: boolean;
  action: "remove" | "replace";
  replacement: string;
}

const compiled = new WeakMap<Redact, CompiledRedaction>();

/** `*` matches any run of characters, line breaks too: a key a caller writes may hold one. */
function globToRegex(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
    "s",
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
        typeof v === "string" ? BUILTIN_VALUE_RULES[v] : { regex: new RegExp(v.pattern, "g"), replacement: v.replacement },
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
 * attributes name it (`tfy.request.metadata.email`; `a.list.0` a list's first item, `a.list.0.key` a
 * key in it), so a rule reaches a value however the exporter nested it. Runs before translation, so
 * nothing derived from them survives.
 */
export function redactKeys(lists: KeyValue[][], rules: CompiledRedaction): boolean {
  if (rules.keys.length === 0) return false;
  let changed = false;
  const replaced = (rule: KeyRule) => create(AnyValueSchema, { value: { case: "stringValue", value: rule.replacement } });
  const redactList = (list: KeyValue[], prefix: string): void => {
    for (let i = list.length - 1; i >= 0; i--) {
      const attribute = list[i]!;
      const path = prefix + attribute.key;
      const rule = ruleFor(rules, path);
      if (!rule) {
        if (redactNested(attribute.value, path)) list.splice(i, 1);
        continue;
      }
      changed = true;
      if (rule.action === "remove") list.splice(i, 1);
      else attribute.value = replaced(rule);
    }
  };
  /** Redacts what is below `path`; true when the value itself goes (JSON a remove rule took whole). */
  const redactNested = (value: AnyValue | undefined, path: string): boolean => {
    if (value?.value.case === "kvlistValue") redactList(value.value.value.values, `${path}.`);
    else if (value?.value.case === "arrayValue") {
      const items = value.value.value.values;
      for (let i = items.length - 1; i >= 0; i--) {
        const rule = ruleFor(rules, `${path}.${i}`);
        if (!rule) {
          if (redactNested(items[i], `${path}.${i}`)) items.splice(i, 1);
          continue;
        }
        changed = true;
        if (rule.action === "remove") items.splice(i, 1);
        else items[i] = replaced(rule);
      }
    } else if (value?.value.case === "stringValue" && JSON_CONTAINER.test(value.value.value)) {
      const text = redactJsonText(value.value.value, path, rules);
      if (text === undefined) return false;
      changed = true;
      if (text === REMOVED) return true;
      value.value.value = text;
    }
    return false;
  };
  for (const list of lists) redactList(list, "");
  return changed;
}

function ruleFor(rules: CompiledRedaction, path: string): KeyRule | undefined {
  return rules.keys.find((r) => r.regex.test(path));
}

/** The first rule that may match a path starting with `prefix`: JSON text is searched only when there is one. */
function ruleReachingBelow(rules: CompiledRedaction, prefix: string): KeyRule | undefined {
  return rules.keys.find((r) => r.literalPrefix.startsWith(prefix) || (r.wildcard && prefix.startsWith(r.literalPrefix)));
}

/** What redactJsonText gives for JSON a remove rule took whole. */
const REMOVED = Symbol("removed");

/**
 * The JSON text at `path` with its keys redacted; undefined when nothing matched or it is not JSON.
 * JSON nested deeper than the reader reads, which JSON.parse still takes, cannot be searched: the
 * first rule that could reach into it takes it whole, rather than letting a key it should have
 * hidden through.
 */
function redactJsonText(text: string, path: string, rules: CompiledRedaction): string | typeof REMOVED | undefined {
  const reaching = ruleReachingBelow(rules, `${path}.`);
  if (!reaching) return undefined;
  const redacted = redactJsonKeys(utf8Of(text), `${path}.`, rules, MAX_JSON_KEY_DEPTH);
  if (redacted !== undefined) return redacted === READ_NOTHING ? undefined : textOf(redacted);
  try {
    JSON.parse(text);
  } catch {
    return undefined;
  }
  return reaching.action === "remove" ? REMOVED : JSON.stringify(reaching.replacement);
}

/**
 * How deep JSON is searched for keys: each level is read again by the level above, so the depth
 * bounds what a hostile value costs (a redacting tenant's request at most so many times over).
 * Request bodies and metadata nest a few levels; a container deeper than this that a rule could
 * reach into is taken whole by that rule.
 */
const MAX_JSON_KEY_DEPTH = 32;

/** What redactJsonKeys gives for JSON it read and found nothing to change in. */
const READ_NOTHING = new Uint8Array(0);

/**
 * A JSON object or list with its keys and items matched by dotted path below `prefix`, removed or
 * their value replaced; what no rule touched keeps its bytes. READ_NOTHING when nothing matched;
 * undefined for text this reader cannot read as a JSON object or list.
 */
function redactJsonKeys(utf8: Uint8Array, prefix: string, rules: CompiledRedaction, depthLeft: number): Uint8Array | undefined {
  const members = objectMembers(utf8);
  const items = members ? undefined : listItems(utf8);
  if (!members && !items) return undefined;
  let changed = false;
  /** An entry's value as redacted: undefined when a rule removed it. */
  const redactedValue = (raw: Uint8Array, path: string): Uint8Array | undefined => {
    const container = raw[0] === OPEN_OBJECT || raw[0] === OPEN_LIST;
    const rule = ruleFor(rules, path) ?? (container && depthLeft === 1 ? ruleReachingBelow(rules, `${path}.`) : undefined);
    if (rule) {
      changed = true;
      return rule.action === "remove" ? undefined : utf8Of(JSON.stringify(rule.replacement));
    }
    // Read again only where a rule could match: a rule naming its key reads one branch, not the whole.
    if (!container || depthLeft === 1 || !ruleReachingBelow(rules, `${path}.`)) return raw;
    const nested = redactJsonKeys(raw, `${path}.`, rules, depthLeft - 1);
    if (nested === undefined || nested === READ_NOTHING) return raw;
    changed = true;
    return nested;
  };
  if (members) {
    const kept = members.flatMap(([key, raw]): Array<[string, Uint8Array]> => {
      const value = redactedValue(raw, prefix + key);
      return value === undefined ? [] : [[key, value]];
    });
    return changed ? jsonObject(kept) : READ_NOTHING;
  }
  const kept = items!.flatMap((raw, i) => redactedValue(raw, `${prefix}${i}`) ?? []);
  return changed ? jsonList(kept) : READ_NOTHING;
}

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
  const mask = (text: string): string =>
    rules.values.reduce(
      (acc, { regex, replacement }) =>
        typeof replacement === "string" ? acc.replace(regex, replacement) : acc.replace(regex, replacement),
      text,
    );
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
  if (span) {
    span.name = masked(span.name);
    for (const event of span.events) event.name = masked(event.name);
    if (span.status) span.status.message = masked(span.status.message);
  }
  return changed;
}

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
  const taken = new Set<string>();
  return metrics.map(([name, n]) => {
    let distinct = name;
    for (let i = 2; taken.has(distinct); i++) distinct = `${name} (${i})`;
    taken.add(distinct);
    return [distinct, n];
  });
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
