import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import type { Span } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { syntaxPlaces } from "../tenants/pattern-syntax.js";
import { type BuiltinValuePattern, REDACTED, type Redact } from "../tenants/processing-schema.js";
import { maskEmails } from "./mask-emails.js";
import { replaceWithin } from "./replace-within.js";

/**
 * A tenant's redaction rules, compiled once per tenant record, which redact-keys.ts and
 * mask-values.ts apply to a span's attributes.
 */

export interface CompiledRedaction {
  keys: KeyRule[];
  /** Each value pattern, in order, as the text with what it matches masked: see ValueRule. */
  values: ValueRule[];
  /**
   * Those of `values` anchored to the start or end of text (`^`, `$`), in order: a JSON value's
   * strings and scalars are masked by these each on its own, not as the value's text (mask-values.ts),
   * so that their anchors hold at each string's start and end, as they do in any other string value.
   */
  anchored: ValueRule[];
  /** The others of `values`, in order. */
  unanchored: ValueRule[];
}

/**
 * A value pattern: the text with what it matches masked, or undefined when that would be longer than
 * `maxLength` or mask more than MAX_MATCHES_PER_VALUE matches (the text is then masked whole).
 */
export type ValueRule = (text: string, maxLength: number) => string | undefined;

const API_KEYS = /\b(?:sk|pk|rk|sess)-[A-Za-z0-9_-]{16,}|\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*/g;

/**
 * At most so many matches are masked in one value, which is then masked whole: each is a part of the
 * text being built, and a value of a million short addresses would take more heap than an isolate has.
 */
export const MAX_MATCHES_PER_VALUE = 10_000;

// Each masks a match of at least six characters with ten: the text at most doubles, so it is
// measured once it is masked. Native replacement keeps a match as two numbers, not a part.
const BUILTIN_VALUE_RULES: Record<BuiltinValuePattern, ValueRule> = {
  api_keys: (text, maxLength) => atMost(maxLength, text.replace(API_KEYS, REDACTED)),
  emails: (text, maxLength) => maskEmails(text, REDACTED, maxLength, MAX_MATCHES_PER_VALUE),
};

function atMost(maxLength: number, text: string): string | undefined {
  return text.length <= maxLength ? text : undefined;
}

export interface KeyRule {
  /** The glob's text between its `*`s, in order. */
  parts: string[];
  /** The glob up to its first `*`, and whether it has one: which paths it may match below a key. */
  literalPrefix: string;
  wildcard: boolean;
  action: "remove" | "replace";
  replacement: string;
}

const compiled = new WeakMap<Redact, CompiledRedaction>();

/**
 * Whether a path matches a glob: `*` matches any run of characters, line breaks too (a key a caller
 * writes may hold one). The parts between the stars are found in order, each as early as it can
 * be, the first at the start and the last at the end: time that grows with the path, where a
 * regular expression of `.*`s backtracks over it again for every star, on a key the client chose.
 */
export function globMatches(parts: string[], path: string): boolean {
  const first = parts[0]!;
  if (parts.length === 1) return path === first;
  const last = parts.at(-1)!;
  const end = path.length - last.length;
  if (end < first.length || !path.startsWith(first) || !path.endsWith(last)) return false;
  let at = first.length;
  for (const part of parts.slice(1, -1)) {
    const found = path.indexOf(part, at);
    if (found === -1 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

/** A tenant's own pattern: its replacement as String.prototype.replace reads one (`$&` is the match). */
function maskingWith(regex: RegExp, replacement: string): ValueRule {
  return (text, maxLength) => replaceWithin(text, regex, replacement, maxLength, MAX_MATCHES_PER_VALUE);
}

/** The tenant's rules, compiled once per tenant record; undefined when there are none. */
export function compileRedaction(redact: Redact): CompiledRedaction | undefined {
  if (redact.keys.length === 0 && redact.values.length === 0) return undefined;
  let rules = compiled.get(redact);
  if (!rules) {
    rules = {
      keys: redact.keys.map((k) => ({
        parts: k.pattern.split("*"),
        literalPrefix: k.pattern.split("*")[0]!,
        wildcard: k.pattern.includes("*"),
        action: k.action,
        replacement: k.replacement,
      })),
      values: [],
      anchored: [],
      unanchored: [],
    };
    for (const v of redact.values) {
      const rule = typeof v === "string" ? BUILTIN_VALUE_RULES[v] : maskingWith(new RegExp(v.pattern, "g"), v.replacement);
      rules.values.push(rule);
      (typeof v !== "string" && isAnchored(v.pattern) ? rules.anchored : rules.unanchored).push(rule);
    }
    compiled.set(redact, rules);
  }
  return rules;
}

/** Whether a pattern asserts the start or end of text: a `^` or `$` that is syntax, neither escaped nor in a character class. */
function isAnchored(pattern: string): boolean {
  for (const at of syntaxPlaces(pattern)) if (pattern[at] === "^" || pattern[at] === "$") return true;
  return false;
}

/** A span's attribute lists: its own, its events' and its links'. */
export function spanAttributeLists(span: Span): KeyValue[][] {
  return [span.attributes, ...span.events.map((e) => e.attributes), ...span.links.map((l) => l.attributes)];
}

/** Text that may be a JSON object or list: what else parses as JSON (a number, `null`) is masked as text. */
export const JSON_CONTAINER = /^[ \t\n\r]*[[{]/;
