import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { textOf } from "../encoding/bytes.js";
import { isJsonObject } from "../encoding/json.js";
import { countOf, parseJson, stringAttribute } from "./attributes.js";

/**
 * The GenAI conventions' copies of a request's input and a response's output, which a gateway may
 * write beside tfy.input and tfy.output (TrueFoundry's GenAI span attributes).
 */
export const GENAI_INPUT_COPIES = ["gen_ai.input.messages", "gen_ai.system_instructions"];
export const GENAI_OUTPUT_COPIES = ["gen_ai.output.messages"];

/**
 * Keys whose values are the conventions' own vocabulary (a role, a part's type), not the payload's
 * words: a chat message's text part is `{type: "text", content}` there and a string in the payload.
 */
const VOCABULARY_KEYS = new Set(["role", "type"]);

/**
 * Of these copies, those the payload (`tfy.input` or `tfy.output` as UTF-8) says all of: every text
 * in the copy is a string of the payload too, so the copy is the same messages again, and goes with
 * the payload. A copy saying anything more (system instructions the gateway added, the part of a
 * stream that broke before its answer was recorded) stays, so it still shows; so does one the relay
 * does not read (below). Only a span that has a copy pays for reading its payload.
 */
export function restatedCopies(attributes: KeyValue[], keys: readonly string[], payload: Uint8Array | undefined): string[] {
  const copies = keys.filter((key) => countOf(attributes, key) === 1 && stringAttribute(attributes, key) !== undefined);
  if (copies.length === 0 || payload === undefined) return [];
  // Each text is looked for as the JSON string it is, quotes and all: the payload is never parsed,
  // so a payload of a million tiny objects costs no more than its text.
  const said = textOf(payload);
  let searchLeft = MAX_SEARCHED_CHARS;
  return copies.filter((key) => {
    const text = stringAttribute(attributes, key)!;
    const copy = text.length <= MAX_COPY_CHARS ? parseJson(text) : undefined;
    if (copy === undefined) return false;
    const texts = new Set<string>();
    textsOf(copy, texts);
    searchLeft -= texts.size * said.length;
    return searchLeft >= 0 && [...texts].every((t) => said.includes(JSON.stringify(t)));
  });
}

/**
 * The longest copy read: parsed, its objects take several times its text. A longer one stays, shown
 * beside the payload.
 */
const MAX_COPY_CHARS = 1024 * 1024;

/** How much payload text the search for a span's copies may go through: a copy of many texts beside a large payload stays. */
const MAX_SEARCHED_CHARS = 256 * 1024 * 1024;

/** Every string in a JSON value, but a vocabulary key's, added to `into`. */
function textsOf(value: unknown, into: Set<string>): void {
  if (typeof value === "string") into.add(value);
  else if (Array.isArray(value)) for (const item of value) textsOf(item, into);
  else if (isJsonObject(value))
    for (const [key, member] of Object.entries(value)) if (!(VOCABULARY_KEYS.has(key) && typeof member === "string")) textsOf(member, into);
}
