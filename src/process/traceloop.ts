import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { jsonOf } from "./attributes.js";

/** A chat message as Braintrust's LLM view shows it. */
type Message = Record<string, unknown>;

const INDEXED = /^gen_ai\.(prompt|completion)\.(\d+)\.(.+)$/;

/**
 * Older gateway versions emitted Traceloop-style indexed attributes, `gen_ai.prompt.0.role`,
 * `gen_ai.prompt.0.content`, `gen_ai.completion.0.content`…; these become the input and output
 * message lists. Undefined when the span has none.
 */
export function traceloopMessages(attributes: KeyValue[]): { input?: Message[]; output?: Message[] } | undefined {
  const lists = { prompt: new Map<number, Message>(), completion: new Map<number, Message>() };
  for (const attribute of attributes) {
    const match = INDEXED.exec(attribute.key);
    if (!match) continue;
    const [, side, index, field] = match as unknown as [string, "prompt" | "completion", string, string];
    const messages = lists[side];
    const message = messages.get(Number(index)) ?? {};
    // Text stays text (a content of "42" is not the number 42); other values become JSON.
    message[field] = attribute.value?.value.case === "stringValue" ? attribute.value.value.value : jsonOf(attribute.value);
    messages.set(Number(index), message);
  }
  if (lists.prompt.size === 0 && lists.completion.size === 0) return undefined;
  const ordered = (m: Map<number, Message>) => [...m.entries()].sort(([a], [b]) => a - b).map(([, message]) => message);
  return {
    ...(lists.prompt.size > 0 ? { input: ordered(lists.prompt) } : {}),
    ...(lists.completion.size > 0 ? { output: ordered(lists.completion) } : {}),
  };
}
