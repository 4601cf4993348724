import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { isJsonObject } from "../encoding/json.js";
import { givenOf, parseJson } from "./attributes.js";

/** A chat message as Braintrust's LLM view shows it. */
type Message = Record<string, unknown>;

/** One side of the conversation, and the attribute keys it was read from. */
export interface IndexedMessages {
  messages: Message[];
  keys: string[];
}

/**
 * One side's messages by index as they are read, and their keys. By the index as written: `0` and
 * `00`, or two indices past 2^53 that round to one number, are two messages, each shown, rather
 * than one where a field of the one overwrites the other's.
 */
interface Side {
  messages: Map<string, Message>;
  keys: string[];
}

const INDEXED = /^gen_ai\.(prompt|completion)\.(\d+)\.(.+)$/;

/**
 * Older gateway versions emitted Traceloop-style indexed attributes, `gen_ai.prompt.0.role`,
 * `gen_ai.prompt.0.content`, `gen_ai.completion.0.content`…; these become the input and output
 * message lists. Undefined when the span has none.
 */
export function traceloopMessages(attributes: KeyValue[]): { input?: IndexedMessages; output?: IndexedMessages } | undefined {
  // Made for the first Traceloop key: most spans have none.
  let sides: Record<"prompt" | "completion", Side> | undefined;
  for (const attribute of attributes) {
    // Most keys are not Traceloop's: a prefix check first spares them the pattern.
    if (!attribute.key.startsWith("gen_ai.")) continue;
    const match = INDEXED.exec(attribute.key);
    if (!match) continue;
    const [, side, index, field] = match as unknown as [string, "prompt" | "completion", string, string];
    if (field.length > MAX_FIELD_CHARS) continue;
    sides ??= { prompt: { messages: new Map(), keys: [] }, completion: { messages: new Map(), keys: [] } };
    const { messages, keys } = sides[side];
    const message = messages.get(index) ?? {};
    // Text stays text (a content of "42" is not the number 42), in a list or key-value list too; other values become JSON.
    const value =
      attribute.value?.value.case === "stringValue" ? textOrParts(field, attribute.value.value.value) : givenOf(attribute.value);
    place(message, field.split("."), value);
    messages.set(index, message);
    keys.push(attribute.key);
  }
  if (!sides) return undefined;
  const ordered = ({ messages, keys }: Side): IndexedMessages => ({
    messages: inIndexOrder(messages).map((message) => withOpenAiToolCalls(finished(message) as Message)),
    keys,
  });
  return {
    ...(sides.prompt.keys.length > 0 ? { input: ordered(sides.prompt) } : {}),
    ...(sides.completion.keys.length > 0 ? { output: ordered(sides.completion) } : {}),
  };
}

/**
 * The values of entries keyed by all-digit indices, in order of the numbers the keys write, exactly
 * (past 2^53 too); one number's spellings (`0`, `00`) by their text.
 */
function inIndexOrder<T>(entries: Iterable<readonly [string, T]>): T[] {
  const keyed = [...entries].map(([index, value]) => ({ number: index.replace(LEADING_ZEROS, ""), index, value }));
  keyed.sort((a, b) => a.number.length - b.number.length || compareText(a.number, b.number) || compareText(a.index, b.index));
  return keyed.map(({ value }) => value);
}

const LEADING_ZEROS = /^0+(?=\d)/;

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A message's text; but a content that is a JSON list of content parts (each an object with its
 * `type`: text, image_url…) is OpenLLMetry's list of parts written as JSON, which Braintrust's LLM
 * view shows as parts, not as one string. Other text that reads as JSON (`[1, 2]`, a JSON-mode
 * answer) stays text.
 */
function textOrParts(field: string, text: string): unknown {
  if (field !== "content" || !text.startsWith("[")) return text;
  const parts = parseJson(text);
  const isParts = Array.isArray(parts) && parts.length > 0 && parts.every((part) => isJsonObject(part) && typeof part.type === "string");
  return isParts ? parts : text;
}

/**
 * Traceloop writes a tool call's fields flat (`tool_calls.0.name`, `.arguments`, `.id`); a chat
 * message as Braintrust's LLM view reads it holds OpenAI's shape, `{id, type: "function", function:
 * {name, arguments}}`, its arguments as text. A call already in that shape, of another type than
 * `function`, or not naming a function, stays as it is.
 */
function withOpenAiToolCalls(message: Message): Message {
  const calls = message.tool_calls;
  if (!Array.isArray(calls)) return message;
  const openAi = calls.map((call: unknown) => {
    if (!isJsonObject(call) || typeof call.name !== "string" || call.function !== undefined) return call;
    if (call.type !== undefined && call.type !== "function") return call;
    const { name, arguments: args, type: _function, ...rest } = call;
    const text = args === undefined || typeof args === "string" ? args : JSON.stringify(args);
    return { ...rest, type: "function", function: { name, ...(text === undefined ? {} : { arguments: text }) } };
  });
  setAt(message, "tool_calls", openAi);
  return message;
}

/**
 * A list being built from numbered steps: positions as given (`tool_calls.7`), made a list in their
 * order once every field is in. Setting position 4294967294 of an array would make a list of that
 * length, written as that many nulls.
 */
class Positions extends Map<string, unknown> {}

/** How deep a dotted field nests; the rest of a longer path is one key (a path of thousands of steps would nest past any stack). */
const MAX_FIELD_PATH_STEPS = 8;

/**
 * The longest field path read, and the longest a field put flat is named by: a key that long names
 * no message field, and the fields below it would each be named by it again, a copy of it apiece
 * (members times its length). A longer Traceloop key stays an attribute; an object below a longer
 * flat name goes in whole.
 */
const MAX_FIELD_CHARS = 512;

/**
 * Sets a dotted field inside a message, numeric steps as list positions: `tool_calls.0.name`
 * becomes `tool_calls: [{ name }]`, as a chat message holds it. A step that already holds a value
 * other than an object keeps it, and the field goes in flat; a field whose step already holds an
 * object (`content.note` came before `content`) puts that object's fields flat, so either order
 * shows both. Own properties only, so no key reaches a prototype.
 */
function place(message: Message, path: string[], value: unknown): void {
  const steps =
    path.length > MAX_FIELD_PATH_STEPS
      ? [...path.slice(0, MAX_FIELD_PATH_STEPS - 1), path.slice(MAX_FIELD_PATH_STEPS - 1).join(".")]
      : path;
  let node: Message | Positions = message;
  for (const [i, step] of steps.slice(0, -1).entries()) {
    const existing = valueAt(node, step);
    if (existing !== undefined && !(existing instanceof Positions || isJsonObject(existing))) {
      setAt(node, steps.slice(i).join("."), value);
      return;
    }
    const child: Message | Positions = existing ?? (/^\d+$/.test(steps[i + 1]!) ? new Positions() : {});
    setAt(node, step, child);
    node = child;
  }
  const last = steps.at(-1)!;
  const existing = valueAt(node, last);
  if (existing instanceof Positions || isJsonObject(existing)) putFlat(node, last, existing);
  setAt(node, last, value);
}

/** The fields of `value`, at any depth, set on `node` under their dotted paths from `prefix`. */
function putFlat(node: Message | Positions, prefix: string, value: Message | Positions): void {
  const entries = value instanceof Positions ? [...value] : Object.entries(value);
  for (const [key, child] of entries) {
    const flat = `${prefix}.${key}`;
    if ((child instanceof Positions || isJsonObject(child)) && flat.length <= MAX_FIELD_CHARS) putFlat(node, flat, child);
    else setAt(node, flat, child);
  }
}

function valueAt(node: Message | Positions, key: string): unknown {
  if (node instanceof Positions) return node.get(key);
  return Object.hasOwn(node, key) ? node[key] : undefined;
}

function setAt(node: Message | Positions, key: string, value: unknown): void {
  if (node instanceof Positions) node.set(key, value);
  else Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The message with its positions made lists, in order (an object, when a field went in flat among them). */
function finished(value: unknown): unknown {
  if (value instanceof Positions) {
    const entries = [...value].map(([key, child]) => [key, finished(child)] as const);
    if (entries.every(([key]) => /^\d+$/.test(key))) return inIndexOrder(entries);
    return Object.fromEntries(entries);
  }
  if (!isJsonObject(value)) return value;
  for (const [key, child] of Object.entries(value))
    if (child instanceof Positions || isJsonObject(child)) setAt(value, key, finished(child));
  return value;
}
