import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import type { Span_Event } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { forEachScalar, isJsonObject } from "../encoding/json.js";
import { countOf, givenOf, parseJson, stringAttribute } from "./attributes.js";

/**
 * The GenAI conventions' copies of a request's input and a response's output, which a gateway may
 * write beside tfy.input and tfy.output (TrueFoundry's GenAI span attributes).
 */
export const GENAI_INPUT_COPIES = ["gen_ai.input.messages", "gen_ai.system_instructions"];
export const GENAI_OUTPUT_COPIES = ["gen_ai.output.messages"];

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
 * never parsed whole, and only for a span that has a copy: its cost is its length, whatever it holds.
 */
export function restatedCopies(attributes: KeyValue[], keys: readonly string[], payload: Uint8Array | undefined): string[] {
  const copies = new Map<string, Set<string>>();
  for (const key of keys) {
    const text = countOf(attributes, key) === 1 ? stringAttribute(attributes, key) : undefined;
    const copy = text !== undefined && text.length <= MAX_COPY_CHARS ? parseJson(text) : undefined;
    const values = copy === undefined ? undefined : valuesOf(copy);
    if (values) copies.set(key, values);
  }
  if (copies.size === 0 || payload === undefined) return [];
  const unsaid = new Set([...copies.values()].flatMap((values) => [...values]));
  const said = (token: string) => {
    unsaid.delete(token);
    // An image is a data URL in the payload, its base64 alone in the copy.
    const base64 = token.startsWith("sdata:") ? token.indexOf(";base64,") : -1;
    if (base64 > 0) unsaid.delete(`s${token.slice(base64 + ";base64,".length)}`);
  };
  if (!forEachScalar(payload, said)) return [];
  return [...copies].filter(([, values]) => [...values].every((value) => !unsaid.has(value))).map(([key]) => key);
}

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

/**
 * The GenAI conventions' message events, in the form the older gateway sent them beside its indexed
 * messages: span events holding a message's fields as attributes. Braintrust reads them as messages
 * itself (docs/braintrust-otlp.md).
 */
const MESSAGE_EVENTS = new Set([
  "gen_ai.system.message",
  "gen_ai.user.message",
  "gen_ai.assistant.message",
  "gen_ai.tool.message",
  "gen_ai.choice",
]);

/** An event's own words, not the conversation's: its vocabulary, and a choice's place in the list. */
const EVENT_VOCABULARY = new Set([...VOCABULARY_KEYS, "index"]);

/**
 * The places, among the span's events, of the message events that say nothing but what `said`
 * holds (the messages the relay wrote as input or output, the span's own attributes): every text in
 * such an event is a text there. Sent beside the relay's input and output, Braintrust would show,
 * store and bill the conversation twice; an event saying anything more (a message the indexed
 * attributes lack, a number) stays.
 */
export function restatedMessageEvents(events: readonly Span_Event[], said: unknown): Set<number> {
  const restated = new Set<number>();
  if (!events.some((event) => MESSAGE_EVENTS.has(event.name))) return restated;
  const texts = new Set<string>();
  const collect = (value: unknown): void => {
    if (typeof value === "string") texts.add(value);
    else if (Array.isArray(value)) value.forEach(collect);
    else if (isJsonObject(value)) Object.values(value).forEach(collect);
  };
  collect(said);
  const isSaid = (key: string, value: unknown): boolean => {
    if (EVENT_VOCABULARY.has(key) || value === null) return true;
    if (typeof value === "string") return texts.has(value);
    if (Array.isArray(value)) return value.every((item) => isSaid("", item));
    if (isJsonObject(value)) return Object.entries(value).every(([member, item]) => isSaid(member, item));
    return false;
  };
  events.forEach((event, at) => {
    if (MESSAGE_EVENTS.has(event.name) && event.attributes.every((a) => isSaid(a.key, givenOf(a.value)))) restated.add(at);
  });
  return restated;
}
