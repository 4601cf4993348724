import { parseJson } from "./attributes.js";

type JsonObject = Record<string, unknown>;

/**
 * The parts of a request body that are the model's input, by request kind: chat messages, a
 * completion prompt, embedding input, a rerank query and its documents.
 */
const INPUT_FIELDS = ["messages", "prompt", "input", "query", "documents"];

/** The part of a response body that is the model's output, first found first: chat or completion choices, embeddings, rerank results. */
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
  const body = parsed(text);
  if (!body) return undefined;
  const taken: JsonObject = {};
  const settings: JsonObject = {};
  for (const [key, value] of Object.entries(body.object ?? {})) (INPUT_FIELDS.includes(key) ? taken : settings)[key] = value;
  const names = Object.keys(taken);
  if (names.length === 0) return { input: body.json, settings: {}, model: body.object?.model };
  return { input: names.length === 1 ? taken[names[0]!] : taken, settings, model: body.object?.model };
}

export function responsePayload(text: string | undefined): ResponsePayload | undefined {
  const body = parsed(text);
  if (!body) return undefined;
  const { object } = body;
  const field = OUTPUT_FIELDS.find((name) => Array.isArray(object?.[name]));
  if (!object || field === undefined) return { output: body.json, rest: {}, model: object?.model };
  const { [field]: output, ...rest } = object;
  return { output, rest, model: object.model };
}

/** The payload as JSON (text that is not JSON stays text), and as an object when it is one. */
function parsed(text: string | undefined): { json: unknown; object: JsonObject | undefined } | undefined {
  if (text === undefined) return undefined;
  const json = parseJson(text);
  if (json === undefined) return { json: text, object: undefined };
  if (json === null) return undefined;
  return { json, object: typeof json === "object" && !Array.isArray(json) ? (json as JsonObject) : undefined };
}
