import { parseJson } from "./attributes.js";
import { objectMembers, RawJson } from "./raw-json.js";

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
  if (text === undefined) return undefined;
  const fields = fieldsOf(text);
  if (!fields) return otherPayload(text, (json) => ({ input: json, settings: {}, model: undefined }));
  const taken = [...fields].filter(([key]) => INPUT_FIELDS.includes(key));
  const settings = Object.fromEntries(
    [...fields].filter(([key]) => !INPUT_FIELDS.includes(key)).map(([key, raw]) => [key, JSON.parse(raw)]),
  );
  if (taken.length === 0) return { input: new RawJson(text), settings: {}, model: settings.model };
  const input = taken.length === 1 ? taken[0]![1] : `{${taken.map(([key, raw]) => `${JSON.stringify(key)}:${raw}`).join(",")}}`;
  return { input: new RawJson(input), settings, model: settings.model };
}

export function responsePayload(text: string | undefined): ResponsePayload | undefined {
  if (text === undefined) return undefined;
  const fields = fieldsOf(text);
  if (!fields) return otherPayload(text, (json) => ({ output: json, rest: {}, model: undefined }));
  const model = fields.has("model") ? JSON.parse(fields.get("model")!) : undefined;
  const field = OUTPUT_FIELDS.find((name) => fields.get(name)?.startsWith("["));
  if (field === undefined) return { output: new RawJson(text), rest: {}, model };
  const rest = Object.fromEntries([...fields].filter(([key]) => key !== field).map(([key, raw]) => [key, JSON.parse(raw)]));
  return { output: new RawJson(fields.get(field)!), rest, model };
}

/**
 * A JSON object's fields as their own text, the last of a repeated key winning in the first one's
 * place, as JSON.parse has it; undefined for anything else. The payload's big fields (messages,
 * choices) are passed on as text; only the small ones are parsed.
 */
function fieldsOf(text: string): Map<string, string> | undefined {
  const members = objectMembers(text);
  return members && new Map(members);
}

/** A payload that is not a JSON object: other JSON as it is, text that is not JSON as text; JSON null has nothing to show. */
function otherPayload<T>(text: string, payload: (json: unknown) => T): T | undefined {
  const json = parseJson(text);
  if (json === null) return undefined;
  return payload(json === undefined ? text : json);
}
