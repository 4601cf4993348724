import { concat, textOf, utf8Of } from "../encoding/bytes.js";
import {
  firstListItem,
  isJson,
  isJsonObject,
  type JsonObject,
  jsonObject,
  numberListLength,
  objectMembers,
  sameJson,
} from "../encoding/json.js";
import { CLOSE_LIST, NULL_START, OPEN_LIST, OPEN_OBJECT, QUOTE } from "../encoding/json-characters.js";
import { afterSpace, OVER_BUDGET } from "../encoding/json-reader.js";
import { REDACTED } from "../tenants/processing-schema.js";
import { CREDENTIAL_ENDINGS, credentialShown, isCredentialKey, namesCredential, withCredentialsMasked } from "./mask-credentials.js";
import { parseBudgetTaken, parseKeepingIntegers, RawJson, withinParseBudget } from "./raw-json.js";

/**
 * The parts of a request body that are the model's input, by request kind: chat messages, a
 * completion prompt, embedding input, a rerank query and its documents, a Gemini request's contents
 * (the gateway takes Google's Gen AI SDK as it is).
 */
const INPUT_FIELDS = ["messages", "prompt", "input", "query", "documents", "contents"];

/**
 * The part of a response body that is the model's output, first found first: chat or completion
 * choices, embeddings, rerank results, an Anthropic message's content blocks, a Responses API output,
 * a Gemini answer's candidates.
 */
const OUTPUT_FIELDS = ["choices", "data", "results", "content", "output", "candidates"];

/** The members of a response naming the model that answered, the first found: most APIs' `model`, a Gemini answer's `modelVersion`. */
export const ANSWER_MODEL_MEMBERS = ["model", "modelVersion"];

/** A request body (`tfy.input`) split the way Braintrust's OpenAI wrappers log one. */
export interface RequestPayload {
  /** The input fields (one field's value alone), else the whole JSON, else the text; undefined for a body a rule took them out of. */
  input: unknown;
  /** The rest of the body (temperature, max_tokens, tools, …), model included, for metadata. */
  settings: JsonObject;
  /** The body's `model`, wherever it went. */
  model: unknown;
  /** A system prompt shown in the input as its first message (`system`, `instructions`), by its member's name, as JSON. */
  systemPrompt?: { key: string; json: Uint8Array };
  /**
   * The members, as JSON, of a body that is an answer, shown whole: a guardrail over the model's output
   * checks one. Any span whose input is an answer gets it: what its own answer repeats of it, `model`
   * too, is not shown again.
   */
  checkedAnswer?: Map<string, Uint8Array>;
}

/** A response body (`tfy.output`) split the same way. */
export interface ResponsePayload {
  /** The output list, else the whole JSON, else the text; undefined for an answer a rule took it out of. */
  output: unknown;
  /** The rest of the body (id, model, usage, …), for metadata. */
  rest: JsonObject;
  /** The body's `model` (a Gemini answer's `modelVersion`), wherever it went. */
  model: unknown;
}

interface Payloads {
  request: RequestPayload | undefined;
  response: ResponsePayload | undefined;
}

/**
 * A model call's request and response bodies (`tfy.input`, `tfy.output`, as UTF-8), split as
 * Braintrust's wrappers log them. `redacted`: which of them a redaction rule reached into, on a model
 * call's or a request's span: such a body without its messages (or its choices) had them taken out,
 * and is its settings (or the rest of the answer) alone, where a body of a shape the relay does not
 * know shows whole. `passesOnRequest`: whether the span's output may be the request it let through
 * (a guardrail's); any other span's answer shaped as a request (an agent's `{"messages": [...]}`)
 * says nothing of the request's settings, and shows whole.
 */
export function callPayloads(
  input: Uint8Array | undefined,
  output: Uint8Array | undefined,
  redacted: RedactedPayloads,
  passesOnRequest: boolean,
): Payloads {
  const request = requestPayload(input, redacted.input);
  return { request, response: responsePayload(output, request, redacted.output, passesOnRequest) };
}

interface RedactedPayloads {
  input: boolean;
  output: boolean;
}

/** Undefined for an absent payload, JSON null or blank text, which have nothing to show. `utf8`: the payload's text, as UTF-8. */
function requestPayload(utf8: Uint8Array | undefined, redacted: boolean): RequestPayload | undefined {
  if (utf8 === undefined) return undefined;
  const fields = fieldsOf(utf8);
  if (!fields) return otherPayload(utf8, (json) => ({ input: json, settings: {}, model: undefined }));
  const request = asRequest(fields);
  if (request) return { ...request, model: request.settings.model };
  const model = parsedField(fields, "model");
  if (redacted) return { input: undefined, settings: parsedMembers(fields, () => false), model };
  return { input: new RawJson(utf8), settings: {}, model, ...(outputField(fields) === undefined ? {} : { checkedAnswer: fields }) };
}

/**
 * `request`: the span's request, when it has one. A response that is a request, on a span that
 * passes one on (a guardrail's output: the request it let through, changed or not), is split as
 * one, and only the settings it changed are its rest, those it took out named in
 * `removed_settings`: the request's metadata shows the others already.
 */
function responsePayload(
  utf8: Uint8Array | undefined,
  request: RequestPayload | undefined,
  redacted: boolean,
  passesOnRequest: boolean,
): ResponsePayload | undefined {
  if (utf8 === undefined) return undefined;
  const fields = fieldsOf(utf8);
  if (!fields) return otherPayload(utf8, (json) => ({ output: json, rest: {}, model: undefined }));
  const field = outputField(fields);
  if (field === undefined) {
    const passedOn = passesOnRequest ? asRequest(fields) : undefined;
    if (!passedOn) {
      if (!redacted) return { output: new RawJson(utf8), rest: {}, model: answeredModel((member) => parsedField(fields, member)) };
      const rest = withoutEchoes(
        parsedMembers(fields, () => false),
        request,
      );
      return { output: undefined, rest, model: answeredModel((member) => rest[member]) };
    }
    const changed = Object.entries(passedOn.settings).filter(([key, value]) => !sameJson(value, request?.settings[key]));
    // A setting it took out is a change too, which the request's metadata would not show.
    const removed = Object.keys(request?.settings ?? {}).filter((key) => !Object.hasOwn(passedOn.settings, key));
    const rest = Object.fromEntries(removed.length > 0 ? [...changed, ["removed_settings", removed]] : changed);
    return { output: passedOn.input, rest, model: undefined };
  }
  const list = fields.get(field)!;
  const rest = withoutOutputText(
    withoutEchoes(
      parsedMembers(fields, (key) => key === field),
      request,
    ),
    field,
    list,
  );
  // The model is among the rest, parsed once.
  return {
    output: embeddingsShown(fields, field, list) ?? new RawJson(list),
    rest,
    model: answeredModel((member) => rest[member]),
  };
}

/** The first of ANSWER_MODEL_MEMBERS that names a model: a `model` that is null or no text leaves `modelVersion` to say it. */
function answeredModel(member: (key: string) => unknown): string | undefined {
  for (const key of ANSWER_MODEL_MEMBERS) {
    const value = member(key);
    if (typeof value === "string") return value;
  }
  return undefined;
}

/**
 * The rest of a response but the request's settings it repeats as they were asked for (a Responses
 * API response echoes `instructions`, `tools`, `temperature`, …): the request's metadata and input
 * show them already. Its `model` stays, the model that answered. When the request is an answer, as a
 * guardrail over the model's output checks the whole completion (shown whole as its input), what
 * the answer it let through holds as it was checked (`id`, `model`, `usage`, …) goes too: only what
 * the guardrail changed shows again.
 */
function withoutEchoes(rest: JsonObject, request: RequestPayload | undefined): JsonObject {
  if (!request) return rest;
  const { settings, systemPrompt, checkedAnswer } = request;
  const echoed = (key: string, value: unknown) =>
    (checkedAnswer !== undefined && sameJson(value, checkedMember(checkedAnswer, key))) ||
    (key !== "model" &&
      ((Object.hasOwn(settings, key) && echoes(value, settings[key])) ||
        (systemPrompt?.key === key && sameJson(value, parsed(systemPrompt.json)))));
  return Object.fromEntries(Object.entries(rest).filter(([key, value]) => !echoed(key, value)));
}

/**
 * The rest of a Responses API response but its `output_text` when that is its output's text parts
 * joined, as OpenAI's SDKs add it to the response they return: the output shows it already. The
 * output list is parsed only for a response that has one, which an API's own answer does not.
 */
function withoutOutputText(rest: JsonObject, field: string, list: Uint8Array): JsonObject {
  if (field !== "output" || typeof rest.output_text !== "string" || rest.output_text !== outputText(parsed(list))) return rest;
  const { output_text: _restated, ...others } = rest;
  return others;
}

/** The text parts of a Responses API output's messages, joined as OpenAI's SDKs join them for `output_text`. */
function outputText(output: unknown): string | undefined {
  if (!Array.isArray(output)) return undefined;
  let text = "";
  for (const item of output) {
    if (!isJsonObject(item) || item.type !== "message" || !Array.isArray(item.content)) continue;
    for (const part of item.content)
      if (isJsonObject(part) && part.type === "output_text" && typeof part.text === "string") text += part.text;
  }
  return text;
}

/**
 * Whether a response's value repeats what the request asked, as an API echoes a setting: all of
 * it, with no more beside it than the API fills in for what was left out (OpenAI's Responses API
 * answers a tool with `strict` and `description: null`, a text format with its `verbosity`), and
 * null for what it withholds (an MCP tool's `headers`). A value it changed, a list of other items,
 * or a member that says something the request did not (a stored prompt's `version`, the `effort`
 * chosen for `reasoning: {}`) is the response's own.
 */
function echoes(answered: unknown, asked: unknown): boolean {
  if (Array.isArray(asked))
    return Array.isArray(answered) && answered.length === asked.length && asked.every((item, i) => echoes(answered[i], item));
  if (!isJsonObject(asked)) return sameJson(answered, asked);
  if (!isJsonObject(answered)) return false;
  for (const key of Object.keys(answered)) {
    const value = answered[key];
    const repeated = Object.hasOwn(asked, key)
      ? echoes(value, asked[key]) || (value === null && WITHHELD.has(key))
      : value === null || FILLED_IN.has(key);
    if (!repeated) return false;
  }
  return Object.keys(asked).every((key) => Object.hasOwn(answered, key));
}

/** Members OpenAI's Responses API adds, set to their defaults, to the settings it echoes. */
const FILLED_IN = new Set(["strict", "verbosity"]);

/** Members holding credentials that OpenAI's Responses API echoes as null rather than repeat (an MCP tool's). */
const WITHHELD = new Set(["headers", "authorization"]);

/**
 * An embedding response's vectors as Braintrust's OpenAI wrapper logs them: their length, not the
 * numbers (a vector of 1536 is some 30 KB of JSON, stored and billed for each input, and read by
 * no one). Only a response in OpenAI's shape, which the gateway answers in, is one: a list whose
 * items are `"object": "embedding"`, the first item's vector a list of numbers or base64. Only that
 * item is kept, and the numbers are counted, not kept: a list may be megabytes. Undefined for
 * anything else, shown as it is.
 */
function embeddingsShown(fields: Map<string, Uint8Array>, field: string, list: Uint8Array): { embedding_length: number } | undefined {
  if (field !== "data" || parsedField(fields, "object") !== "list") return undefined;
  const first = firstListItem(list);
  const members = first?.[afterSpace(first, 0)] === OPEN_OBJECT ? objectMembers(first, { left: MAX_ITEM_MEMBERS }) : undefined;
  if (members === undefined || members === OVER_BUDGET) return undefined;
  const member = (key: string) => members.findLast(([name]) => name === key)?.[1];
  const object = member("object");
  const embedding = member("embedding");
  if (object === undefined || embedding === undefined || parsed(object) !== "embedding") return undefined;
  if (embedding[0] === OPEN_LIST) {
    const length = numberListLength(embedding);
    return length === undefined ? undefined : { embedding_length: length };
  }
  // encoding_format "base64": the vector's float32s, four bytes each, three bytes to four characters.
  const base64 = embedding[0] === QUOTE ? parsed(embedding) : undefined;
  if (typeof base64 !== "string" || !BASE64.test(base64)) return undefined;
  const padding = base64.endsWith("==") ? 2 : base64.endsWith("=") ? 1 : 0;
  return { embedding_length: Math.floor(((base64.length / 4) * 3 - padding) / 4) };
}

/**
 * An embedding item has three members (object, index, embedding), a Converse answer's `output` one
 * (message): an object of more than this is neither, and is not read member by member.
 */
const MAX_ITEM_MEMBERS = 16;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The first of OUTPUT_FIELDS that is a list, else an `output` holding one `message`, as Bedrock's
 * Converse API answers (boto3 through the gateway).
 */
function outputField(fields: Map<string, Uint8Array>): string | undefined {
  for (const name of OUTPUT_FIELDS) if (fields.get(name)?.[0] === OPEN_LIST) return name;
  const output = fields.get("output");
  const members = output?.[0] === OPEN_OBJECT ? objectMembers(output, { left: MAX_ITEM_MEMBERS }) : undefined;
  return members !== undefined && members !== OVER_BUDGET && members.some(([name]) => name === "message") ? "output" : undefined;
}

/**
 * A tool call's arguments and result (an MCP span's `tfy.input` and `tfy.output`) shown whole: a
 * tool's `query` or `input` argument is not a model's input, and its other arguments are not
 * settings. JSON as it is, other text as text; JSON null has nothing to show.
 */
export function toolPayloads(input: Uint8Array | undefined, output: Uint8Array | undefined): Payloads {
  const args = input && whole(input);
  const result = output && whole(output);
  return {
    request: args === undefined ? undefined : { input: args, settings: {}, model: undefined },
    response: result === undefined ? undefined : { output: result, rest: {}, model: undefined },
  };
}

/**
 * A request body's input fields (one field's value alone) and the rest, parsed; undefined when it
 * has no input field. A system prompt beside the input is the conversation's first message, as a
 * chat shows it: an Anthropic request's `system` beside its messages, a Responses API request's
 * `instructions` beside its input (a user's message when it is text), as Braintrust's wrapper of
 * `responses.create` logs them, a Gemini request's system instruction beside its `contents`: one
 * list of messages, whatever the provider.
 */
function asRequest(fields: Map<string, Uint8Array>): Omit<RequestPayload, "model"> | undefined {
  const taken: Array<[string, Uint8Array]> = [];
  for (const member of fields) if (isInputField(fields, member[0], member[1])) taken.push(member);
  if (taken.length === 0) return undefined;
  const [firstKey, first] = taken[0]!;
  const system = taken.length === 1 ? systemPromptOf(fields, firstKey, first) : undefined;
  const settings = parsedMembers(fields, (key, raw) => isInputField(fields, key, raw) || key === system?.key);
  if (!system) return { input: new RawJson(taken.length === 1 ? first : jsonObject(taken)), settings };
  const messages = first[0] === QUOTE ? concat([utf8Of('[{"role":"user","content":'), first, utf8Of("}]")]) : first;
  return { input: new RawJson(withSystemMessage(systemContent(system), messages)), settings, systemPrompt: system };
}

/** A system prompt as its message's content: a Gemini instruction's `parts` (blocks of text, as Bedrock's `system` is), any other as it came. */
function systemContent({ key, json }: { key: string; json: Uint8Array }): Uint8Array {
  if (!GEMINI_SYSTEM_INSTRUCTION.includes(key) || json[0] !== OPEN_OBJECT) return json;
  return fieldsOf(json)?.get("parts") ?? json;
}

/** A Gemini request's system prompt, in the REST API's spelling and the proto field's, which its JSON parsers take too. */
const GEMINI_SYSTEM_INSTRUCTION = ["systemInstruction", "system_instruction"];

/** The member holding the system prompt of a request whose one input field is `inputKey`, when it has one. */
function systemPromptOf(fields: Map<string, Uint8Array>, inputKey: string, input: Uint8Array): RequestPayload["systemPrompt"] {
  const system = fields.get("system");
  if (inputKey === "messages" && input[0] === OPEN_LIST && system !== undefined) return { key: "system", json: system };
  if (inputKey === "contents" && input[0] === OPEN_LIST) {
    const key = GEMINI_SYSTEM_INSTRUCTION.find((name) => fields.has(name));
    if (key !== undefined) return { key, json: fields.get(key)! };
  }
  const instructions = fields.get("instructions");
  const inputShown = input[0] === OPEN_LIST || input[0] === QUOTE;
  if (inputKey === "input" && inputShown && instructions?.[0] === QUOTE) return { key: "instructions", json: instructions };
  return undefined;
}

/**
 * Whether a request body's member is input. A Responses API request's `prompt` object names a
 * stored prompt template: a setting, not input. A `query` is a rerank's only beside its
 * `documents`: alone it is a tool's argument (a guardrail over an MCP call sees the call's
 * arguments), shown whole with the rest.
 */
function isInputField(fields: Map<string, Uint8Array>, key: string, raw: Uint8Array): boolean {
  if (key === "query") return fields.has("documents");
  return INPUT_FIELDS.includes(key) && !(key === "prompt" && raw[0] === OPEN_OBJECT);
}

/** The members but those left out, each parsed, in order: settings and the rest, for metadata, their credentials masked. */
function parsedMembers(fields: Map<string, Uint8Array>, isLeftOut: (key: string, raw: Uint8Array) => boolean): JsonObject {
  const members: Array<[string, unknown]> = [];
  for (const [key, raw] of fields) if (!isLeftOut(key, raw)) members.push([key, parsedSetting(key, raw)]);
  // Not assigned one by one: a member may be "__proto__".
  return Object.fromEntries(members);
}

/** A JSON list of messages with a system message of this content first; both are valid JSON already. */
function withSystemMessage(system: Uint8Array, messages: Uint8Array): Uint8Array {
  const rest = messages[afterSpace(messages, 1)] === CLOSE_LIST ? [utf8Of("]")] : [utf8Of(","), messages.subarray(1)];
  return concat([utf8Of('[{"role":"system","content":'), system, utf8Of("}"), ...rest]);
}

/** A checked answer's member as its echo in the rest was made: parsed, its credentials masked, so the two compare. */
function checkedMember(answer: Map<string, Uint8Array>, key: string): unknown {
  const raw = answer.get(key);
  return raw === undefined ? undefined : parsedSetting(key, raw);
}

function parsedField(fields: Map<string, Uint8Array>, key: string): unknown {
  const raw = fields.get(key);
  return raw === undefined ? undefined : parsed(raw);
}

/**
 * A JSON object's fields as their own bytes, the last of a repeated key winning in the first one's
 * place, as JSON.parse has it; undefined for anything else. The payload's big fields (messages,
 * choices) are passed on as bytes; only the small ones are parsed.
 */
function fieldsOf(utf8: Uint8Array): Map<string, Uint8Array> | undefined {
  const members = objectMembers(utf8, { left: MAX_PAYLOAD_FIELDS });
  return members === undefined || members === OVER_BUDGET ? undefined : new Map(members);
}

/**
 * A request or response body has tens of fields; one of more is shown whole, as JSON that is no
 * object is: each field read is kept, and a body of a million tiny fields would take more heap
 * than an isolate has.
 */
const MAX_PAYLOAD_FIELDS = 10_000;

/**
 * A member's JSON as metadata shows it, a credential in it masked (mask-credentials.ts): the member
 * itself when its key names one, else those inside it. Only an object or list with a string that may
 * name one, as the parse budget's walk over its text finds, is searched. Past the budget, its text
 * shows as it came, or `[REDACTED]` whole when a string in it, a key or a value, names a credential:
 * text is not searched member by member.
 */
function parsedSetting(key: string, raw: Uint8Array): unknown {
  const text = textOf(raw);
  if (isCredentialKey(key)) return credentialShown(parsedText(text));
  const { within, found } = parseBudgetTaken(text, CREDENTIAL_ENDINGS);
  if (!within) return namesCredential(text) ? REDACTED : text;
  const value = parseKeepingIntegers(text);
  return found ? withCredentialsMasked(value) : value;
}

/**
 * A member's JSON, valid by the time it is asked for, its long integers digit for digit: settings and
 * the rest go to metadata. Past the span's budget, its text, shown as it came.
 */
function parsed(raw: Uint8Array): unknown {
  return parsedText(textOf(raw));
}

/** parsed, of text already decoded. */
function parsedText(text: string): unknown {
  return withinParseBudget(text) ? parseKeepingIntegers(text) : text;
}

/** A payload that is not a JSON object, shown whole. */
function otherPayload<T>(utf8: Uint8Array, payload: (json: unknown) => T): T | undefined {
  const shown = whole(utf8);
  return shown === undefined ? undefined : payload(shown);
}

/**
 * A payload shown whole: JSON as it is, byte for byte, text that is not JSON as text. JSON null and
 * blank text have nothing to show: an empty `tfy.output` would show as an output of `""`.
 */
function whole(utf8: Uint8Array): RawJson | string | undefined {
  if (!isJson(utf8)) {
    const text = textOf(utf8);
    return text.trim() === "" ? undefined : text;
  }
  return utf8[afterSpace(utf8, 0)] === NULL_START ? undefined : new RawJson(utf8);
}
