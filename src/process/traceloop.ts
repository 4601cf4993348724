import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { jsonOf } from "./attributes.js";

/** A chat message as Braintrust's LLM view shows it. */
type Message = Record<string, unknown>;

/** One side of the conversation, and the attribute keys it was read from. */
export interface IndexedMessages {
  messages: Message[];
  keys: string[];
}

/** One side's messages by index as they are read, and their keys. */
interface Side {
  messages: Map<number, Message>;
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
    sides ??= { prompt: { messages: new Map(), keys: [] }, completion: { messages: new Map(), keys: [] } };
    const { messages, keys } = sides[side];
    const message = messages.get(Number(index)) ?? {};
    // Text stays text (a content of "42" is not the number 42); other values become JSON.
    place(message, field.split("."), attribute.value?.value.case === "stringValue" ? attribute.value.value.value : jsonOf(attribute.value));
    messages.set(Number(index), message);
    keys.push(attribute.key);
  }
  if (!sides) return undefined;
  const ordered = ({ messages, keys }: Side): IndexedMessages => ({
    messages: [...messages.entries()].sort(([a], [b]) => a - b).map(([, message]) => message),
    keys,
  });
  return {
    ...(sides.prompt.keys.length > 0 ? { input: ordered(sides.prompt) } : {}),
    ...(sides.completion.keys.length > 0 ? { output: ordered(sides.completion) } : {}),
  };
}

/**
 * Sets a dotted field inside a message, numeric steps as list positions: `tool_calls.0.name`
 * becomes `tool_calls: [{ name }]`, as a chat message holds it. A step that already holds a plain
 * value keeps it, and the field goes in flat. Own properties only, so no key reaches a prototype.
 */
function place(message: Message, path: string[], value: unknown): void {
  let node: Record<string, unknown> = message;
  for (const [i, step] of path.slice(0, -1).entries()) {
    const existing = Object.hasOwn(node, step) ? node[step] : undefined;
    if (existing !== undefined && (typeof existing !== "object" || existing === null)) {
      setOwn(node, path.slice(i).join("."), value);
      return;
    }
    const child = existing ?? (/^\d+$/.test(path[i + 1]!) ? [] : {});
    setOwn(node, step, child);
    node = child as Record<string, unknown>;
  }
  setOwn(node, path.at(-1)!, value);
}

function setOwn(node: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
}
