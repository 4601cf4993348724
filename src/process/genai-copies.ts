import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import type { Span_Event } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { textOf, utf8Of } from "../encoding/bytes.js";
import { forEachScalar, isJsonObject, sameJson } from "../encoding/json.js";
import { countOf, givenOf, parseJson, stringAttribute } from "./attributes.js";
import type { RequestPayload, ResponsePayload } from "./payloads.js";
import { parseKeepingIntegers, RawJson, withinParseBudget } from "./raw-json.js";
import type { IndexedMessages } from "./traceloop.js";

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
 * never parsed whole (only its strings that may be JSON, when a copy holds objects), and only for a
 * span that has a copy: its cost is its length, whatever it holds.
 */
export function restatedCopies(attributes: KeyValue[], keys: readonly string[], payload: Uint8Array | undefined): string[] {
  const copies = new Map<string, Set<string>>();
  for (const key of keys) {
    const text = countOf(attributes, key) === 1 ? stringAttribute(attributes, key) : undefined;
    const copy = text !== undefined && text.length <= MAX_COPY_CHARS ? parseJson(text) : undefined;
    const values = copy === undefined ? undefined : valuesOf(copy);
    if (values) copies.set(key, values);
  }
  const unsaid = copies.size === 0 ? undefined : unsaidBy(payload, [...copies.values()]);
  if (unsaid === undefined) return [];
  return [...copies].filter(([, values]) => [...values].every((value) => !unsaid.has(value))).map(([key]) => key);
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
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (isJsonObject(value)) Object.values(value).forEach(visit);
    else return;
    unsaid.delete(`s${JSON.stringify(value)}`);
  };
  // Valid JSON already: forEachScalar read it.
  const text = textOf(payload);
  if (withinParseBudget(text)) visit(parseKeepingIntegers(text));
}

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

/**
 * The GenAI conventions' message events, in the form the older gateway sent them beside its indexed
 * messages: span events holding one message's fields as attributes, the role in the event's name, an
 * answer as a `gen_ai.choice` with its index, finish reason and message. Braintrust reads them as
 * messages itself (docs/braintrust-otlp.md).
 */
const EVENT_ROLES: Record<string, string> = {
  "gen_ai.system.message": "system",
  "gen_ai.user.message": "user",
  "gen_ai.assistant.message": "assistant",
  "gen_ai.tool.message": "tool",
};
const CHOICE_EVENT = "gen_ai.choice";

/** Whether a span event is one of those message events. */
export function isMessageEvent({ name }: Span_Event): boolean {
  return Object.hasOwn(EVENT_ROLES, name) || name === CHOICE_EVENT;
}

/** A message as the relay writes it into input or output. */
type Message = Record<string, unknown>;

/** How many messages past the last one matched an event may skip to find its own (one without an event: a system prompt). */
const MESSAGES_SKIPPED = 8;

/**
 * The places, among the span's events, of the message events that restate a message the relay wrote
 * as input or output: each event is matched, in order, with one message of its role, every field it
 * holds that message's (a tool message's `id` its `tool_call_id`, `gen_ai.system` `system`, the
 * span's provider); a `gen_ai.choice` with the answer at its index, its message's fields, finish
 * reason and any other field that answer's. A span that records its answers as choices has only its input's
 * turns as role events; one without, its answer as an assistant's message too. Sent beside that input
 * and output, Braintrust would show, store and bill the message twice. An event that matches no
 * message (one the indexed attributes lack, a second answer, a finish reason the output does not say,
 * a field given twice or both in and beside a choice's message) stays.
 */
export function restatedMessageEvents(
  events: readonly Span_Event[],
  written: { input: readonly Message[]; output: readonly Message[] },
  system: string | undefined,
): Set<number> {
  const restated = new Set<number>();
  const answersAsChoices = events.some((event) => event.name === CHOICE_EVENT);
  const turns = answersAsChoices ? written.input : [...written.input, ...written.output];
  const matchedTurns = new Set<number>();
  const matchedAnswers = new Set<number>();
  let next = 0;
  let choices = 0;
  events.forEach((event, at) => {
    const role = Object.hasOwn(EVENT_ROLES, event.name) ? EVENT_ROLES[event.name] : undefined;
    if (role === undefined && event.name !== CHOICE_EVENT) return;
    const keys = event.attributes.map((a) => a.key);
    if (new Set(keys).size !== keys.length) return;
    // Own properties, whatever the keys (`__proto__` included).
    const fields: Record<string, unknown> = Object.fromEntries(event.attributes.map((a) => [a.key, givenOf(a.value)]));
    const { "gen_ai.system": provider, ...said } = fields;
    if (provider !== undefined && provider !== system) return;
    if (role === undefined) {
      const { index = choices, ...answered } = said;
      choices++;
      const answer = typeof index === "number" && Number.isInteger(index) && index >= 0 ? written.output[index] : undefined;
      const choice = choiceOf(answered);
      // A field both in the message and beside it says two things: which one the answer holds is not for the relay to pick.
      if (
        !choice ||
        !answer ||
        matchedAnswers.has(index as number) ||
        Object.keys(choice.rest).some((key) => Object.hasOwn(choice.message, key))
      )
        return;
      if (restates({ ...choice.message, ...choice.rest }, answer, "assistant")) {
        matchedAnswers.add(index as number);
        restated.add(at);
      }
      return;
    }
    for (let place = next, skipped = 0; place < turns.length && skipped <= MESSAGES_SKIPPED; place++) {
      if (matchedTurns.has(place)) continue;
      if (restates(said, turns[place]!, role)) {
        matchedTurns.add(place);
        restated.add(at);
        while (matchedTurns.has(next)) next++;
        return;
      }
      skipped++;
    }
  });
  return restated;
}

/** The flattened form of a choice's message fields (`message.content`). */
const MESSAGE_FIELD = "message.";

/**
 * A `gen_ai.choice` event's message and the fields beside it. The message comes as a key-value list,
 * as JSON text, or flattened into `message.<field>` attributes: OpenTelemetry's SDKs hold only
 * scalars and lists of them in an event's attributes, so theirs write one of the last two. Undefined
 * for a message given both whole and flattened, which says two things.
 */
function choiceOf(fields: Record<string, unknown>): { message: Message; rest: Message } | undefined {
  const { message, ...beside } = fields;
  const flattened = Object.keys(beside).filter((key) => key.startsWith(MESSAGE_FIELD));
  if (flattened.length > 0) {
    if (message !== undefined) return undefined;
    const rest = Object.fromEntries(Object.entries(beside).filter(([key]) => !key.startsWith(MESSAGE_FIELD)));
    return { message: Object.fromEntries(flattened.map((key) => [key.slice(MESSAGE_FIELD.length), beside[key]])), rest };
  }
  const whole = typeof message === "string" ? (parseJson(message) ?? message) : (message ?? {});
  return { message: isJsonObject(whole) ? whole : { message }, rest: beside };
}

/**
 * The provider the span's message events name (`gen_ai.system`, which the conventions put on each
 * of them), when they all name the same one; undefined when none names one or they differ.
 */
export function eventsProvider(events: readonly Span_Event[]): string | undefined {
  const named = new Set<unknown>();
  for (const event of events) {
    if (!isMessageEvent(event)) continue;
    for (const { key, value } of event.attributes) if (key === "gen_ai.system") named.add(givenOf(value));
  }
  const [provider] = named;
  return named.size === 1 && typeof provider === "string" ? provider : undefined;
}

/** Whether every field an event says is the message's, the message being of the event's role. */
function restates(said: Record<string, unknown>, message: Message, role: string): boolean {
  if (message.role !== role) return false;
  return Object.entries(said).every(([key, value]) => {
    // A tool message's event names the call it answers by `id`, OpenAI's message by `tool_call_id`.
    const field = key === "id" && role === "tool" ? "tool_call_id" : key;
    const own = Object.hasOwn(message, field) ? message[field] : undefined;
    if (typeof value !== "string") return sameJson(value, own);
    // Content parts the indexed attribute held as JSON text are the message's as parts (traceloop.ts); its event holds that text.
    return value === own || (Array.isArray(own) && sameJson(parseJson(value), own));
  });
}

/**
 * The GenAI conventions' request attributes a gateway writes beside its payload that say again what
 * the span's metadata shows from it: a `gen_ai.request.<setting>` with the request's own value of
 * that setting, under the body's name for it (SETTING_NAMES), `gen_ai.request.model` naming the model the request body named, shown as `model` or
 * `gateway_model` or by `tfy.request.model_name`, `gen_ai.response.model` naming the response's
 * model, shown as `model` or in `response`, `gen_ai.response.id` the response's id shown in
 * `response`, `gen_ai.response.finish_reasons` its choices' finish reasons, shown in the output (or
 * an Anthropic message's `stop_reason`, in `response`),
 * and `gen_ai.conversation.id` the `tfy.request.conversation_id` beside it. Kept, each would show a
 * second time.
 */
export function genAiRestated(
  attributes: KeyValue[],
  request: RequestPayload,
  response: ResponsePayload | undefined,
  metadata: Record<string, unknown>,
): string[] {
  const restated: string[] = [];
  const shownModels = [metadata.model, metadata.gateway_model, stringAttribute(attributes, "tfy.request.model_name")];
  const shownResponse = metadata.response as Record<string, unknown> | undefined;
  for (const { key, value } of attributes) {
    if (!key.startsWith("gen_ai.re") && key !== "gen_ai.conversation.id") continue;
    const given = givenOf(value);
    if (key === "gen_ai.conversation.id") {
      if (typeof given === "string" && given === stringAttribute(attributes, "tfy.request.conversation_id")) restated.push(key);
    } else if (key === "gen_ai.response.id") {
      if (typeof given === "string" && given === shownResponse?.id) restated.push(key);
    } else if (key === "gen_ai.response.finish_reasons") {
      if (Array.isArray(given) && response && finishReasonsShown(given, response, shownResponse)) restated.push(key);
    } else if (key === "gen_ai.request.model") {
      if (typeof given === "string" && given === request.model && shownModels.includes(given)) restated.push(key);
    } else if (key === "gen_ai.response.model") {
      const answered = response?.model;
      if (typeof given === "string" && given === answered && (metadata.model === given || shownResponse?.model === given))
        restated.push(key);
    } else if (key.startsWith("gen_ai.request.")) {
      const setting = key.slice("gen_ai.request.".length);
      const names = Object.hasOwn(SETTING_NAMES, setting) ? SETTING_NAMES[setting]! : [setting];
      const shown = (name: string) =>
        Object.hasOwn(request.settings, name) && sameSetting(given, request.settings[name]) && sameSetting(given, metadata[name]);
      if (names.some(shown)) restated.push(key);
    }
  }
  return restated;
}

/**
 * Whether finish reasons say again what the span shows: its choices' own, in the output, or an
 * Anthropic message's one `stop_reason`, in `response`.
 */
function finishReasonsShown(given: unknown[], response: ResponsePayload, shownResponse: Record<string, unknown> | undefined): boolean {
  if (given.length === 1 && typeof given[0] === "string" && given[0] === shownResponse?.stop_reason) return true;
  const answer = answerMessages(response.output);
  return (
    answer !== undefined &&
    sameJson(
      given,
      answer.map((message) => message.finish_reason),
    )
  );
}

/**
 * The request body's names for the conventions' settings that name them otherwise: OpenAI's
 * (`max_completion_tokens`, `stop`, `n`), Anthropic's and the Responses API's.
 */
const SETTING_NAMES: Record<string, string[]> = {
  max_tokens: ["max_tokens", "max_completion_tokens", "max_output_tokens"],
  stop_sequences: ["stop_sequences", "stop"],
  "choice.count": ["n"],
  encoding_formats: ["encoding_format"],
};

/** Whether a convention's setting says the body's: the same JSON, or a list of one where the body gave the one (`stop: "\n"`). */
function sameSetting(given: unknown, value: unknown): boolean {
  return sameJson(given, value) || (Array.isArray(given) && given.length === 1 && typeof value === "string" && given[0] === value);
}

/** A payload's list of chat messages (objects with a role), parsed; undefined for anything else. */
export function payloadMessages(value: unknown): Array<Record<string, unknown>> | undefined {
  const list = matchable(value);
  if (!Array.isArray(list) || !list.every((m) => isJsonObject(m) && typeof m.role === "string")) return undefined;
  return list as Array<Record<string, unknown>>;
}

/**
 * A payload's part parsed, to be matched with message events; undefined past MAX_MATCHED_BYTES or the
 * span's parse budget. The part is passed on as bytes otherwise: parsed, a list of a million tiny
 * objects would take more heap than an isolate has, and a prompt that long keeps its events.
 */
function matchable(value: unknown): unknown {
  if (!(value instanceof RawJson)) return value;
  if (value.utf8.byteLength > MAX_MATCHED_BYTES) return undefined;
  // Valid JSON already: payloads.ts checked it.
  const text = textOf(value.utf8);
  return withinParseBudget(text) ? JSON.parse(text) : undefined;
}

const MAX_MATCHED_BYTES = 1024 * 1024;

/** A chat answer's choices as the messages a `gen_ai.choice` event restates: each choice's message with its finish reason. */
export function answerMessages(value: unknown): Array<Record<string, unknown>> | undefined {
  const list = matchable(value);
  if (!Array.isArray(list) || !list.every((c) => isJsonObject(c) && isJsonObject(c.message))) return undefined;
  return list.map((choice) => {
    const { message, finish_reason } = choice as { message: Record<string, unknown>; finish_reason?: unknown };
    return finish_reason === undefined || finish_reason === null ? message : { ...message, finish_reason };
  });
}
