import { parseJson } from "./attributes.js";

type JsonObject = Record<string, unknown>;

/**
 * The parts of a request body that are the model's input, by request kind: chat messages, a
 * completion prompt, embedding input, a rerank query and its documents.
 */
const INPUT_FIELDS = ["messages", "prompt", "input", "query", "documents"];

/** The part of a response body that is the model's output: chat or completion choices, embeddings, rerank results. */
const OUTPUT_FIELDS = ["choices", "data", "results"];

/** A request body (`tfy.input`) split the way Braintrust's OpenAI wrappers log one. */
export interface RequestPayload {
  /** The input fields (one field's value alone), else the whole JSON, else the text. */
  input: unknown;
  /** The rest of the body (temperature, max_tokens, tools, …), model included, for metadata. */
  settings: JsonObject;
  /** The body's `model`, wherever it went. */
  model: unknown;
}

/** A response body (`tfy.output`) split the same way. */
export interface ResponsePayload {
  /** The output list, else the whole JSON, else the text. */
  output: unknown;
  /** The rest of the body (id, model, usage, …), for metadata. */
  rest: JsonObject;
  /** The body's `model`, wherever it went. */
  model: unknown;
}

/** Undefined for an absent payload or JSON null, which has nothing to show. */
export function requestPayload(text: string | undefined): RequestPayload | undefined {
  const [json, fields] = split(text, INPUT_FIELDS);
  if (json === undefined || json === null) return undefined;
  if (!fields) return { input: json, settings: {}, model: modelOf(json) };
  const { taken, rest } = fields;
  const names = Object.keys(taken);
  return { input: names.length === 1 ? taken[names[0]!] : taken, settings: rest, model: rest.model };
}

export function responsePayload(text: string | undefined): ResponsePayload | undefined {
  const [json, fields] = split(text, OUTPUT_FIELDS);
  if (json === undefined || json === null) return undefined;
  if (!fields) return { output: json, rest: {}, model: modelOf(json) };
  // One output list: the first of them the body has; any other stays with the rest.
  const [name] = Object.keys(fields.taken);
  const { [name!]: output, ...others } = fields.taken;
  return { output, rest: { ...fields.rest, ...others }, model: fields.rest.model };
}

function modelOf(json: unknown): unknown {
  return typeof json === "object" && json !== null && !Array.isArray(json) ? (json as JsonObject).model : undefined;
}

/**
 * The payload as JSON (text that is not JSON stays text), and, for a JSON object holding any of
 * `wanted` (lists only where the field is a list of outputs), those fields apart from the rest.
 */
function split(text: string | undefined, wanted: string[]): [unknown, { taken: JsonObject; rest: JsonObject } | undefined] {
  if (text === undefined) return [undefined, undefined];
  const parsed = parseJson(text);
  const json = parsed === undefined ? text : parsed;
  if (typeof json !== "object" || json === null || Array.isArray(json)) return [json, undefined];
  const taken: JsonObject = {};
  const rest: JsonObject = {};
  for (const [key, value] of Object.entries(json)) {
    const isWanted = wanted.includes(key) && (wanted === INPUT_FIELDS || Array.isArray(value));
    (isWanted ? taken : rest)[key] = value;
  }
  return Object.keys(taken).length > 0 ? [json, { taken, rest }] : [json, undefined];
}
