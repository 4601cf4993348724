import type { AnyValue, KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { textOf, utf8Of } from "../encoding/bytes.js";
import { forEachScalar, isJsonObject, sameJson } from "../encoding/json.js";
import { countOf, findAttribute, givenOf, jsonOf, parseJson } from "./attributes.js";
import { parseKeepingIntegers, withinParseBudget } from "./raw-json.js";
import type { IndexedMessages } from "./traceloop.js";

/**
 * The GenAI conventions' copies of a request's input and a response's output, which a gateway may
 * write beside tfy.input and tfy.output (TrueFoundry's GenAI span attributes).
 */
export const GENAI_INPUT_COPIES = ["gen_ai.input.messages", "gen_ai.system_instructions"];
export const GENAI_OUTPUT_COPIES = ["gen_ai.output.messages"];

/**
 * The GenAI conventions' copies of a tool call's arguments and result (an `execute_tool` span's), which
 * a gateway may write beside an MCP span's tfy.input and tfy.output.
 */
export const GENAI_TOOL_INPUT_COPIES = ["gen_ai.tool.call.arguments"];
export const GENAI_TOOL_OUTPUT_COPIES = ["gen_ai.tool.call.result"];

/**
 * Of these copies, those that are the payload (a tool call's `tfy.input` or `tfy.output`, as UTF-8)
 * again: a tool call's arguments and result show whole, so a copy goes only when it is the same JSON
 * (as text, however spaced, or as a key-value list), or the same text. Anything else stays, and so
 * does a copy, or one beside a payload, longer than a copy the relay reads.
 */
export function sameCopies(attributes: KeyValue[], keys: readonly string[], payload: Uint8Array | undefined): string[] {
  const present = keys.filter((key) => countOf(attributes, key) === 1);
  if (present.length === 0 || payload === undefined || payload.byteLength > MAX_COPY_CHARS) return [];
  const text = textOf(payload);
  const shown = parseJson(text) ?? text;
  return present.filter((key) => {
    const copy = findAttribute(attributes, key);
    const long = copy?.value.case === "stringValue" && copy.value.value.length > MAX_COPY_CHARS;
    return !long && sameJson(jsonOf(copy), shown);
  });
}

/**
 * Keys whose values are the conventions' own vocabulary (a role, a part's type, a finish reason, an
 * image's modality and media type), not the payload's words: a chat message's text part is
 * `{type: "text", content}` there and a string in the payload, a tool call finishes as `tool_call`
 * there and `tool_calls` in OpenAI's answer.
 */
const VOCABULARY_KEYS = new Set(["role", "type", "finish_reason", "modality", "mime_type"]);

/**
 * Of these copies, those the payload (`tfy.input` or `tfy.output` as UTF-8) says all of: every
 * text in the copy is a string value of the payload too (see valuesOf), so the copy is the same
 * messages again, and goes with the payload. A copy saying anything more (system instructions
 * the gateway added, the part of a stream that broke before its answer was recorded) stays, so it
 * still shows; so does one longer than the relay reads. The payload is read once, value by value,
 * never parsed whole (only its strings that may be JSON, when a copy holds objects), and only for a
 * span that has a copy: its cost is its length, whatever it holds.
 */
export function restatedCopies(attributes: KeyValue[], keys: readonly string[], payload: Uint8Array | undefined): string[] {
  const copies = new Map<string, Set<string>>();
  for (const key of keys) {
    const copy = countOf(attributes, key) === 1 ? messagesOf(findAttribute(attributes, key)) : undefined;
    const values = copy === undefined ? undefined : valuesOf(copy);
    if (values) copies.set(key, values);
  }
  const unsaid = copies.size === 0 ? undefined : unsaidBy(payload, [...copies.values()]);
  if (unsaid === undefined) return [];
  return [...copies].filter(([, values]) => [...values].every((value) => !unsaid.has(value))).map(([key]) => key);
}

/**
 * A copy's messages in either form an attribute carries them: JSON text the relay reads (up to
 * MAX_COPY_CHARS), or a list or key-value list as given (its size the span's limits bound).
 */
function messagesOf(copy: AnyValue | undefined): unknown {
  if (copy?.value.case === "stringValue") return copy.value.value.length <= MAX_COPY_CHARS ? parseJson(copy.value.value) : undefined;
  return copy?.value.case === "arrayValue" || copy?.value.case === "kvlistValue" ? givenOf(copy) : undefined;
}

/**
 * Of these copies, those the older export's indexed messages (traceloop.ts) say all of, as
 * restatedCopies reads a copy against a payload: where there is no payload, the input or output
 * shown is the indexed messages, and a copy of them would show the conversation twice.
 */
export function restatedByIndexed(attributes: KeyValue[], keys: readonly string[], indexed: IndexedMessages): string[] {
  if (!attributes.some((a) => keys.includes(a.key))) return [];
  return restatedCopies(attributes, keys, utf8Of(JSON.stringify(indexed.messages)));
}

/**
 * Whether the older export's indexed messages (traceloop.ts), sent beside the payload they were
 * read from, are all the payload says again, as restatedCopies reads a copy: every text in them a
 * string value of the payload. A message holding anything but text, lists and objects (a number)
 * is not compared, and stays.
 */
export function restatesIndexed(indexed: IndexedMessages, payload: Uint8Array | undefined): boolean {
  const values = new Set<string>();
  const add = (value: unknown, key?: string): boolean => {
    if (value === null) return true;
    if (typeof value === "string") {
      if (key === undefined || !VOCABULARY_KEYS.has(key)) values.add(`s${value}`);
      return true;
    }
    if (Array.isArray(value)) return value.every((item) => add(item));
    return isJsonObject(value) && Object.entries(value).every(([field, child]) => add(child, field));
  };
  if (!indexed.messages.every((message) => add(message))) return false;
  return unsaidBy(payload, [values])?.size === 0;
}

/** Of the copies' values, those the payload does not say; undefined when there is no payload, or it is not JSON. */
function unsaidBy(payload: Uint8Array | undefined, copies: ReadonlyArray<Set<string>>): Set<string> | undefined {
  if (payload === undefined) return undefined;
  const unsaid = new Set(copies.flatMap((values) => [...values]));
  const copiesJson = [...unsaid].some((token) => JSON_TEXT.test(token));
  const said = (token: string) => {
    unsaid.delete(token);
    // An image is a data URL in the payload, its base64 alone in the copy.
    const base64 = token.startsWith("sdata:") ? token.indexOf(";base64,") : -1;
    if (base64 > 0) unsaid.delete(`s${token.slice(base64 + ";base64,".length)}`);
    // Tool-call arguments or a tool's result, JSON text in the payload as the model wrote it (spaces
    // and all), an object in the copy: the same JSON, whatever its spacing.
    const json = copiesJson && JSON_TEXT.test(token) ? parseJson(token.slice(1)) : undefined;
    if (json !== undefined) unsaid.delete(`s${JSON.stringify(json)}`);
  };
  if (!forEachScalar(payload, said)) return undefined;
  if (copiesJson && payload.byteLength <= MAX_COPY_CHARS && [...unsaid].some((token) => JSON_TEXT.test(token))) saidAsJson(payload, unsaid);
  return unsaid;
}

/**
 * Deletes from `unsaid` the JSON tokens of the payload's own objects and lists: a tool call's
 * arguments, or a tool's result, that the payload holds as JSON, not as JSON text (Anthropic's
 * `tool_use` input, its `tool_result` content). Parsed whole, so only for a copy that has such
 * values the payload's strings did not say, and no longer than a copy read (a copy said by a longer
 * one stays).
 */
function saidAsJson(payload: Uint8Array, unsaid: Set<string>): void {
  // A value is written out only when it is as long as a token: its length is summed from its parts'.
  // Written out at every level, a value nested hundreds deep was the payload's length times its depth.
  const lengths = new Set([...unsaid].filter((token) => JSON_TEXT.test(token)).map((token) => token.length - 1));
  let left = SAID_AS_JSON_WRITTEN * payload.byteLength;
  /** The length of the value as JSON.stringify writes it; a container as long as a token is written out. */
  const visit = (value: unknown): number => {
    let length = 1;
    if (Array.isArray(value)) for (const item of value) length += visit(item) + 1;
    else if (isJsonObject(value))
      for (const [key, member] of Object.entries(value)) length += JSON.stringify(key).length + visit(member) + 2;
    else return JSON.stringify(value).length;
    length = Math.max(length, 2);
    if (lengths.has(length) && length <= left) {
      left -= length;
      unsaid.delete(`s${JSON.stringify(value)}`);
    }
    return length;
  };
  // Valid JSON already: forEachScalar read it.
  const text = textOf(payload);
  if (withinParseBudget(text)) visit(parseKeepingIntegers(text));
}

/**
 * How many times its own length the payload's values as long as a token may be written out: each
 * level of one nesting holds a longer value, so only values side by side share a length, and those
 * add up to the payload's length at most, per length; a copy of values of many lengths beside a
 * payload whose values have each of them would cost that many times over.
 */
const SAID_AS_JSON_WRITTEN = 4;

/** A string token whose text may be a JSON object or list. */
const JSON_TEXT = /^s\s*[[{]/;

/**
 * The longest copy read: parsed, its objects take several times its text. A longer one stays, shown
 * beside the payload.
 */
const MAX_COPY_CHARS = 1024 * 1024;

/**
 * A copy's values as forEachScalar tokens: the conventions' messages (or a system instruction's
 * parts), each an object of text, its `parts` objects of the same kind. A tool call's arguments or a
 * tool's response, an object there and a JSON string in OpenAI's payload, is one token, its JSON:
 * it matches only the same JSON. The conventions' own words (VOCABULARY_KEYS) are not compared;
 * anything else (a number, a flag, another shape) is not compared either, and keeps the copy:
 * undefined.
 */
function valuesOf(copy: unknown): Set<string> | undefined {
  const tokens = new Set<string>();
  const entries = (list: unknown): boolean =>
    Array.isArray(list) && list.every((entry) => isJsonObject(entry) && Object.entries(entry).every(([key, value]) => member(key, value)));
  const member = (key: string, value: unknown): boolean => {
    if (value === null) return true;
    if (typeof value === "string") {
      if (!VOCABULARY_KEYS.has(key)) tokens.add(`s${value}`);
      return true;
    }
    if (key === "parts") return entries(value);
    if (isJsonObject(value) || Array.isArray(value)) {
      tokens.add(`s${JSON.stringify(value)}`);
      return true;
    }
    return false;
  };
  return entries(copy) ? tokens : undefined;
}
