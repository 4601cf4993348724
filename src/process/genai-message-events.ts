import type { Span_Event } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { textOf } from "../encoding/bytes.js";
import { isJsonObject, sameJson } from "../encoding/json.js";
import type { SpanFields } from "../otlp/incoming.js";
import { givenOf, parseJson } from "./attributes.js";
import { RawJson, withinParseBudget } from "./raw-json.js";

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
/**
 * The older gateway's event for a message of a role the conventions do not name (OpenAI's
 * `developer`), which restates a message of such a role only.
 */
const UNKNOWN_ROLE_EVENT = "gen_ai.unknown.message";
const NAMED_ROLES = new Set(Object.values(EVENT_ROLES));

/** Whether a span event is one of those message events, by its name. */
function isMessageEventName(name: string): boolean {
  return Object.hasOwn(EVENT_ROLES, name) || name === CHOICE_EVENT || name === UNKNOWN_ROLE_EVENT;
}

/** Whether any of the span's events is a message event: by their names, which a span read from its bytes has without decoding its events. */
export function hasMessageEvents(span: Pick<SpanFields, "events" | "eventNames">): boolean {
  return span.eventNames ? span.eventNames.some(isMessageEventName) : (span.events?.some(({ name }) => isMessageEventName(name)) ?? false);
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
    const role = Object.hasOwn(EVENT_ROLES, event.name) ? EVENT_ROLES[event.name] : event.name === UNKNOWN_ROLE_EVENT ? null : undefined;
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
    if (!isMessageEventName(event.name)) continue;
    for (const { key, value } of event.attributes) if (key === "gen_ai.system") named.add(givenOf(value));
  }
  const [provider] = named;
  return named.size === 1 && typeof provider === "string" ? provider : undefined;
}

/**
 * Whether every field an event says is the message's, the message being of the event's role (`null`:
 * a role the conventions do not name).
 */
function restates(said: Record<string, unknown>, message: Message, role: string | null): boolean {
  if (role === null ? typeof message.role !== "string" || NAMED_ROLES.has(message.role) : message.role !== role) return false;
  return Object.entries(said).every(([key, value]) => {
    // A tool message's event names the call it answers by `id`, OpenAI's message by `tool_call_id`.
    const field = key === "id" && role === "tool" ? "tool_call_id" : key;
    const own = Object.hasOwn(message, field) ? message[field] : undefined;
    if (typeof value !== "string") return sameJson(value, own);
    // Content parts the indexed attribute held as JSON text are the message's as parts (traceloop.ts); its event holds that text.
    return value === own || (Array.isArray(own) && sameJson(parseJson(value), own));
  });
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
