import { create } from "@bufbuild/protobuf";
import { type AnyValue, AnyValueSchema, type KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { textOf, utf8Of } from "../encoding/bytes.js";
import { jsonList, jsonObject, listItems, objectMembers } from "../encoding/json.js";
import { OPEN_LIST, OPEN_OBJECT } from "../encoding/json-characters.js";
import { type EntryBudget, OVER_BUDGET } from "../encoding/json-reader.js";
import { withinParseBudget } from "./raw-json.js";
import { type CompiledRedaction, globMatches, JSON_CONTAINER, type KeyRule } from "./redact.js";

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
    const list = value?.value.case === "kvlistValue" || value?.value.case === "arrayValue";
    if (list && path.length > MAX_KEY_PATH_LENGTH) {
      const rule = ruleReachingBelow(rules, `${path}.`);
      if (!rule) return false;
      changed = true;
      if (rule.action === "remove") return true;
      value.value = replaced(rule).value;
      return false;
    }
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
      redactedWithin.add(value);
    }
    return false;
  };
  for (const list of lists) redactList(list, "");
  return changed;
}

/** The values whose JSON a rule reached into and changed, by identity: they go with their span. */
const redactedWithin = new WeakSet<AnyValue>();

/**
 * Whether a rule changed what is inside this value's JSON: a request body without messages is one a
 * rule took them out of (`tfy.input.messages`), not one that never had any, which shows whole.
 */
export function isRedactedWithin(value: AnyValue | undefined): boolean {
  return value !== undefined && redactedWithin.has(value);
}

function ruleFor(rules: CompiledRedaction, path: string): KeyRule | undefined {
  return rules.keys.find((r) => globMatches(r.parts, path));
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
  const redacted =
    path.length > MAX_KEY_PATH_LENGTH
      ? undefined
      : redactJsonKeys(utf8Of(text), `${path}.`, rules, MAX_JSON_KEY_DEPTH, { left: MAX_JSON_ENTRIES });
  if (redacted === READ_NOTHING) return undefined;
  if (redacted instanceof Uint8Array) return textOf(redacted);
  // Not read (JSON deeper than the reader reads, or not JSON): JSON.parse says which, but builds all
  // it reads (a deep part beside millions of `[]` would take more heap than an isolate has), so past
  // the span's parse budget the value is taken whole unchecked, as one over the entry budget is.
  if (redacted === undefined && withinParseBudget(text)) {
    try {
      JSON.parse(text);
    } catch {
      return undefined;
    }
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

/**
 * How long a path may be for what is below it to be searched. Each key below is matched by its
 * path, the path above it and its own key, so a long key over many members would cost their number
 * times its length: an object or list below a longer path that a rule could reach into is taken
 * whole by that rule, as one too deep is. Paths of keys people name run to tens of characters.
 */
const MAX_KEY_PATH_LENGTH = 512;

/**
 * How many members and items of one value's JSON are read, at every depth: a container past it that
 * a rule could reach into is taken whole by that rule, as one too deep is. A request body of a
 * thousand messages reads some ten thousand; a million tiny members would take more heap than an
 * isolate has.
 */
const MAX_JSON_ENTRIES = 100_000;

/** What redactJsonKeys gives for JSON it read and found nothing to change in. */
const READ_NOTHING = new Uint8Array(0);

/**
 * A JSON object or list with its keys and items matched by dotted path below `prefix`, removed or
 * their value replaced; what no rule touched keeps its bytes. READ_NOTHING when nothing matched;
 * undefined for text this reader cannot read as a JSON object or list.
 */
function redactJsonKeys(
  utf8: Uint8Array,
  prefix: string,
  rules: CompiledRedaction,
  depthLeft: number,
  budget: EntryBudget,
): Uint8Array | undefined | typeof OVER_BUDGET {
  const members = objectMembers(utf8, budget);
  const items = members ? undefined : listItems(utf8, budget);
  if (members === OVER_BUDGET || items === OVER_BUDGET) return OVER_BUDGET;
  if (!members && !items) return undefined;
  let changed = false;
  /** An entry's value as redacted: undefined when a rule removed it. */
  const redactedValue = (raw: Uint8Array, path: string): Uint8Array | undefined => {
    const container = raw[0] === OPEN_OBJECT || raw[0] === OPEN_LIST;
    const reachingBelow = container ? ruleReachingBelow(rules, `${path}.`) : undefined;
    let rule = ruleFor(rules, path) ?? (depthLeft === 1 || path.length > MAX_KEY_PATH_LENGTH ? reachingBelow : undefined);
    // Read again only where a rule could match: a rule naming its key reads one branch, not the whole.
    if (!rule && reachingBelow) {
      const nested = redactJsonKeys(raw, `${path}.`, rules, depthLeft - 1, budget);
      if (nested === undefined || nested === READ_NOTHING) return raw;
      if (nested !== OVER_BUDGET) {
        changed = true;
        return nested;
      }
      rule = reachingBelow;
    }
    if (!rule) return raw;
    changed = true;
    return rule.action === "remove" ? undefined : utf8Of(JSON.stringify(rule.replacement));
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
