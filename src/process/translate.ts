import type { AnyValue, KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { type Span, Status_StatusCode } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { textOf, utf8Of } from "../encoding/bytes.js";
import { sameJson } from "../encoding/json.js";
import type { SpanFields } from "../otlp/incoming.js";
import { errorStatus, FEW_KEYS, type NewAttribute } from "../otlp/span-edit.js";
import { countOf, findAttribute, hasAttribute, keyValue, stringArrayValue, stringAttribute, stringKeyValue } from "./attributes.js";
import { REQUEST_SPAN_TYPES } from "./caller-parent.js";
import { asItCame, derivedAsMasked, readIfAny, type SourceReading } from "./derived-text.js";
import {
  answerError,
  errorTypeFailure,
  exceptionFailure,
  httpFailure,
  namesOnlyStatus,
  toolFailure,
  withoutShownError,
} from "./failure.js";
import {
  GENAI_INPUT_COPIES,
  GENAI_OUTPUT_COPIES,
  GENAI_TOOL_INPUT_COPIES,
  GENAI_TOOL_OUTPUT_COPIES,
  restatedByIndexed,
  restatedCopies,
  restatesIndexed,
  sameCopies,
} from "./genai-copies.js";
import { answerMessages, eventsProvider, hasMessageEvents, payloadMessages, restatedMessageEvents } from "./genai-message-events.js";
import { genAiRestated } from "./genai-settings.js";
import { metricsOf, usageOf } from "./metrics.js";
import { providerModelName } from "./model-name.js";
import { callPayloads, type ResponsePayload, toolPayloads } from "./payloads.js";
import { promptVariablesShown } from "./prompt-variables.js";
import { jsonUtf8, newParseBudget } from "./raw-json.js";
import { isRedactedWithin } from "./redact-keys.js";
import { requestMetadata } from "./request-metadata.js";
import { RESOLVED_INPUT, renderedInto, renderedRequest } from "./resolved-input.js";
import { callerMetadataShown, metadataOf, responseRestShown, settingsOnlyMetadataShows, withCallerMetadata } from "./span-metadata.js";
import { traceloopMessages } from "./traceloop.js";

/**
 * TrueFoundry's tfy.* attributes (and the older gateway's Traceloop-style gen_ai.* ones), restated
 * as the braintrust.* attributes Braintrust reads, so a gateway span shows in Braintrust with its
 * type, input, output, metrics, model and tags. What was restated is then removed, unless the
 * tenant keeps source attributes: Braintrust shows every attribute it does not consume in the
 * span's metadata, so a prompt kept as `tfy.input` would be shown, stored and billed twice.
 * A braintrust.* attribute the span already has is left as it is, and its source then stays.
 * Both vocabularies, and how Braintrust shows the result: docs/truefoundry-spans.md and
 * docs/braintrust-otlp.md.
 */

export interface TranslationOptions {
  /** Keep the attributes translation restated (payloads, Traceloop messages, metrics) beside their braintrust.* form. */
  keepSourceAttributes: boolean;
  /** Text as the tenant's value rules mask it, which text derived from the span's must meet as its sources did (derived-text.ts); none without value rules. */
  masked?: SourceReading;
}

export interface SpanTranslation {
  /** braintrust.* attributes to append to the span's attributes. */
  added: NewAttribute[];
  /** Keys of source attributes removed from span.attributes (every attribute with such a key was removed). */
  removedKeys: ReadonlySet<string>;
  /** The places, among span.events, of message events that restate what the input and output show, removed. */
  removedEvents?: ReadonlySet<number>;
  /**
   * The gateway's error message for a span that failed by its attributes but not by its status:
   * its status becomes ERROR with this message, which Braintrust shows as the span's error.
   */
  error?: string;
  /** For the span of a model call: the model Braintrust prices by and what the call used, for the tenant's statistics. */
  usage?: LlmUsage;
}

/** One model call's usage, as the gateway reported it; absent numbers are 0. */
export interface LlmUsage {
  model: string;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

/**
 * The gateway's request-level spans are tasks (a trace's root shows as one in Braintrust anyway);
 * only the `Model` span is the model call, so a request shows one LLM span, not two.
 */
const SPAN_TYPES: Record<string, string> = {
  Model: "llm",
  ChatCompletion: "task",
  Completion: "task",
  Embedding: "task",
  Rerank: "task",
  AgentResponse: "task",
  MCP: "tool",
  Guardrail: "function",
};

const UNTRANSLATED: SpanTranslation = { added: [], removedKeys: new Set() };

/**
 * The braintrust.* attributes for one span, and the sources they restate, to be removed. Reads
 * nothing but the span, so spans can be translated one at a time; changes nothing (see
 * applyTranslation).
 */
export function translateSpan(span: SpanFields, options: TranslationOptions): SpanTranslation {
  newParseBudget();
  const attributes = span.attributes;
  const traceloop = traceloopMessages(attributes);
  // The older gateway's model call may carry its messages as events only, which Braintrust reads itself.
  // A model call of the GenAI conventions names the model it asked for.
  const genAiCall = traceloop !== undefined || hasAttribute(attributes, "gen_ai.request.model");
  if (!genAiCall && !attributes.some((a) => a.key.startsWith("tfy."))) return failedOnly(span, options.masked) ?? UNTRANSLATED;

  const tfyType = stringAttribute(attributes, "tfy.span_type");
  const type = spanTypeOf(tfyType, genAiCall);
  // A request's own span: its model calls are the spans under it.
  const requestSpan = tfyType !== undefined && REQUEST_SPAN_TYPES.has(tfyType);
  const sentValue = findAttribute(attributes, "tfy.input");
  const sentUtf8 = payloadUtf8(span, sentValue);
  // A prompt's request shows as it was rendered, the messages the model was asked; a tool's arguments are its own.
  const resolvedValue = type === "tool" ? undefined : findAttribute(attributes, RESOLVED_INPUT);
  const renderedUtf8 = renderedRequest(payloadUtf8(span, resolvedValue));
  const inputValue = renderedUtf8 ? resolvedValue : sentValue;
  const inputUtf8 = renderedUtf8 ?? sentUtf8;
  const outputValue = findAttribute(attributes, "tfy.output");
  const outputUtf8 = payloadUtf8(span, outputValue);
  const modelCall = type === "llm" || requestSpan;
  const { request, response: answer } =
    type === "tool"
      ? toolPayloads(inputUtf8, outputUtf8)
      : callPayloads(
          inputUtf8,
          outputUtf8,
          { input: modelCall && isRedactedWithin(inputValue), output: modelCall && isRedactedWithin(outputValue) },
          // A guardrail's output is the request it let through; no other span's answer is a request.
          tfyType === "Guardrail",
        );
  const errorMessage = stringAttribute(attributes, "tfy.error_message") || undefined;
  // An answer's error body is an API's: a model call's, or a request's (an agent's too: a response's `error`, as the
  // Responses API's, is an object only when it failed). A guardrail's output or a tool's result is its own JSON.
  const answerFailure = type === "llm" || type === "task" ? answerError(answer) : undefined;
  const error = spanError(span, type, answer, errorMessage, answerFailure, asItCame);
  // An error body whose message the span's error shows is no output, as Braintrust's SDKs log a failed
  // call: its message is not stored twice, the rest of it (a type, a code) shows as the answer's rest.
  const shownError = error ?? (statusShowsError(span) ? span.status!.message : undefined);
  const response =
    answer && answerFailure !== undefined && shownError?.includes(answerFailure) ? withoutShownError(answer, answerFailure) : answer;
  const metrics = metricsOf(attributes, type === "llm" && response ? usageOf(response.rest) : undefined, requestSpan);
  // Written only when the span has no metrics of its own, as every braintrust.* attribute.
  const metricsShown = Object.keys(metrics.values).length > 0 && !hasAttribute(attributes, "braintrust.metrics");
  const caller = requestMetadata(attributes);
  const tags = caller.tags;
  const tagsWritten = tags.length > 0 && !hasAttribute(attributes, "braintrust.tags");
  // Shown as metadata in their attributes' place (kept, they show it already): what a request's span
  // says its call used, and a prompt's variables, unfolded.
  const movedToMetadata = options.keepSourceAttributes ? {} : { ...metrics.usedElsewhere, ...promptVariablesShown(attributes) };
  const modelNamed = { requestModel: request?.model, responseModel: response?.model };
  const model =
    type === "llm" || type === "task"
      ? derivedAsMasked(
          providerModelName(attributes, modelNamed),
          (read) => providerModelName(attributes, modelNamed, read),
          options.masked,
        )
      : undefined;
  // What the rest of a response leaves out must show elsewhere: its model as metadata's, written unless the span has its own.
  const modelShown = hasAttribute(attributes, "braintrust.metadata") ? undefined : model;
  const responseRest = response && responseRestShown(response.rest, modelShown, metricsShown ? metrics.values : undefined);
  const derived = { ...metadataOf(attributes, request, responseRest, model), ...movedToMetadata };
  // A request setting the relay's own keys overwrite (a body field named `response`) shows only in
  // the request's attribute, which then stays.
  const settings = request?.settings ?? {};
  const settingHidden = Object.keys(settings).some(
    (key) => key !== "model" && derived[key] !== settings[key] && !sameJson(settings[key], derived[key]),
  );
  const callerMetadata = callerMetadataShown(caller, tagsWritten);
  const callerKeys = Object.keys(callerMetadata);
  const { metadata, allShown: callerShown } =
    callerKeys.length === 0
      ? { metadata: derived, allShown: true }
      : withCallerMetadata(derived, callerMetadata, callerKeys, options.keepSourceAttributes);

  const added: NewAttribute[] = [];

  // Each payload with the attributes it came from: the gateway's when there is one, else Traceloop's.
  // The gateway's short copy of the prompt goes with it: the whole prompt is the input; so do the
  // older export's indexed messages, sent beside it, when they say it again.
  const indexedInput = request && traceloop?.input && restatesIndexed(traceloop.input, inputUtf8) ? traceloop.input : undefined;
  const indexedOutput = response && traceloop?.output && restatesIndexed(traceloop.output, outputUtf8) ? traceloop.output : undefined;
  const input = request
    ? {
        value: request.input,
        sources: [
          ...requestSources(attributes, sentUtf8, renderedUtf8),
          "tfy.input_short_hand",
          ...restatedCopies(attributes, GENAI_INPUT_COPIES, inputUtf8),
          ...(type === "tool" ? sameCopies(attributes, GENAI_TOOL_INPUT_COPIES, inputUtf8) : []),
          ...(indexedInput?.keys ?? []),
        ],
        rest: settingsOnlyMetadataShows(request.settings, attributes),
      }
    : traceloop?.input && {
        value: traceloop.input.messages,
        sources: [...traceloop.input.keys, ...restatedByIndexed(attributes, GENAI_INPUT_COPIES, traceloop.input)],
        rest: {},
      };
  const output = response
    ? {
        value: response.output,
        sources: [
          "tfy.output",
          ...restatedCopies(attributes, GENAI_OUTPUT_COPIES, outputUtf8),
          ...(type === "tool" ? sameCopies(attributes, GENAI_TOOL_OUTPUT_COPIES, outputUtf8) : []),
          ...(indexedOutput?.keys ?? []),
        ],
        rest: responseRest ?? {},
      }
    : traceloop?.output && {
        value: traceloop.output.messages,
        sources: [...traceloop.output.keys, ...restatedByIndexed(attributes, GENAI_OUTPUT_COPIES, traceloop.output)],
        rest: {},
      };

  appendJson(added, attributes, "braintrust.span_attributes", { type, name: span.name });
  const inputWritten = appendJson(added, attributes, "braintrust.input_json", input?.value);
  const outputWritten = appendJson(added, attributes, "braintrust.output_json", output?.value);
  const metricsWritten = appendJson(added, attributes, "braintrust.metrics", metricsShown ? metrics.values : undefined);
  const metadataWritten = appendJson(added, attributes, "braintrust.metadata", Object.keys(metadata).length > 0 ? metadata : undefined);
  if (tagsWritten) added.push({ key: "braintrust.tags", strings: tags });

  // A source goes only when all of it is in what was written: the rest of a payload in metadata too.
  const removedKeys = new Set<string>();
  if (!options.keepSourceAttributes) {
    if (metricsWritten) removeSentOnce(removedKeys, attributes, metrics.sources);
    if (metadataWritten) removeSentOnce(removedKeys, attributes, Object.keys(movedToMetadata));
    // A payload with nothing to show as input or output (its messages redacted) is all in metadata.
    if (input && (inputWritten || input.value === undefined) && !settingHidden && (metadataWritten || Object.keys(input.rest).length === 0))
      removeSentOnce(removedKeys, attributes, input.sources);
    if (output && (outputWritten || output.value === undefined) && (metadataWritten || Object.keys(output.rest).length === 0))
      removeSentOnce(removedKeys, attributes, output.sources);
    // The span's error says it: set from it, or the status's own message says it already.
    if (errorMessage !== undefined && (error !== undefined || span.status?.message.includes(errorMessage)))
      removeSentOnce(removedKeys, attributes, ["tfy.error_message"]);
    if (metadataWritten) {
      // Without a payload, the output shown is the older export's indexed completions.
      const shownAnswer = response === undefined && outputWritten ? traceloop?.output?.messages : undefined;
      removeSentOnce(removedKeys, attributes, genAiRestated(attributes, request, response, metadata, shownAnswer));
    }
    // The model called, when it is the model metadata shows (the name Braintrust prices by): one name, shown once.
    if (metadataWritten && model === stringAttribute(attributes, "tfy.model.name"))
      removeSentOnce(removedKeys, attributes, ["tfy.model.name"]);
    // Without keys for metadata, the caller's metadata is its tags, written, or nothing (`{}`): shown, or nothing to show.
    if (caller.sources.length > 0 && callerShown && (metadataWritten || callerKeys.length === 0))
      removeSentOnce(removedKeys, attributes, caller.sources);
  }
  // The older gateway's message events restate its indexed messages, which Braintrust would show
  // beside the input and output written from them, or from the payload they say again.
  // A side without indexed messages: the payload's own messages, which its events may restate as well
  // (a gateway writing its payload and the conventions' events). Nothing of this is read, nor a
  // payload parsed, for a span without such events, or a tenant keeping sources.
  const messageEvents = !options.keepSourceAttributes && hasMessageEvents(span) ? span.events : undefined;
  const written = messageEvents && {
    input:
      (inputWritten &&
        (request
          ? (indexedInput?.messages ?? (traceloop?.input ? undefined : payloadMessages(request.input)))
          : traceloop?.input?.messages)) ||
      [],
    output:
      (outputWritten &&
        (response
          ? (indexedOutput?.messages ?? (traceloop?.output ? undefined : answerMessages(response.output)))
          : traceloop?.output?.messages)) ||
      [],
  };
  // A span that names no provider has it from its events, which name it each; the attribute then says it once they go.
  const spanProvider = messageEvents && stringAttribute(attributes, "gen_ai.system");
  const provider = messageEvents && (spanProvider ?? eventsProvider(messageEvents));
  const removedEvents =
    messageEvents && written && written.input.length + written.output.length > 0
      ? restatedMessageEvents(messageEvents, written, provider)
      : undefined;
  if (removedEvents?.size && spanProvider === undefined && provider !== undefined && !hasAttribute(attributes, "gen_ai.system"))
    added.push({ key: "gen_ai.system", utf8: utf8Of(provider) });
  // Only the model call's span, which alone is `llm`, so a call is counted once however many spans
  // restate it; by the model the relay found, never a caller's metadata key of that name.
  const edits = {
    added,
    removedKeys,
    ...(removedEvents?.size ? { removedEvents } : {}),
    ...(error === undefined
      ? {}
      : { error: derivedAsMasked(error, (read) => spanError(span, type, answer, errorMessage, answerFailure, read), options.masked) }),
  };
  if (type !== "llm" || typeof model !== "string") return edits;
  const { prompt_tokens = 0, completion_tokens = 0, estimated_cost = 0 } = metrics.values;
  return {
    ...edits,
    usage: { model, promptTokens: prompt_tokens, completionTokens: completion_tokens, costUsd: estimated_cost },
  };
}

/**
 * The attributes the request shown restates: the caller's (`tfy.input`), or the rendered one with the caller's
 * when the span shows all of it otherwise (sentUtf8, renderedUtf8: their text as UTF-8; the caller's, not text, is not compared).
 */
function requestSources(attributes: KeyValue[], sentUtf8: Uint8Array | undefined, renderedUtf8: Uint8Array | undefined): string[] {
  if (!renderedUtf8) return ["tfy.input"];
  return sentUtf8 !== undefined && renderedInto(attributes, sentUtf8, renderedUtf8) ? [RESOLVED_INPUT, "tfy.input"] : [RESOLVED_INPUT];
}

/** The span's type in Braintrust: the gateway's span type's, else a GenAI model call's, else a task. */
function spanTypeOf(tfyType: string | undefined, genAiCall: boolean): string {
  // Own keys only: "" or "constructor" is an unknown type, not a falsy or inherited one.
  const knownType = tfyType !== undefined && Object.hasOwn(SPAN_TYPES, tfyType) ? SPAN_TYPES[tfyType] : undefined;
  return knownType ?? (genAiCall ? "llm" : "task");
}

/**
 * The error the span shows, when it failed: the gateway's message (`tfy.error_message`), with its
 * answer's error body's (`answerFailure`) after it when it names only a status; else what that error
 * body, a tool's result, an exception event, an HTTP status or `error.type` says. Undefined for a span
 * that did not fail, or whose status says it already.
 */
function spanError(
  span: SpanFields,
  type: string,
  response: ResponsePayload | undefined,
  errorMessage: string | undefined,
  answerFailure: string | undefined,
  read: SourceReading,
): string | undefined {
  // A status's own message, often a bare code (`429`), gets the reason beside it: the gateway's, else the
  // answer's error body's; so does a gateway message naming only a status (`400 Bad Request`), which says
  // that the call failed, not why.
  const statusMessage = statusShowsError(span) ? read(span.status!.message) : undefined;
  const bodyShown = errorMessage === undefined || namesOnlyStatus(errorMessage) ? answerFailure : undefined;
  const said = [statusMessage, readIfAny(errorMessage, read), readIfAny(bodyShown, read)].reduce(beside);
  if (statusMessage !== undefined) return said === statusMessage ? undefined : said;
  return (
    said ??
    (type === "tool" ? toolFailure(span.attributes, response?.output, read) : undefined) ??
    exceptionFailure(span, read) ??
    httpFailure(span) ??
    errorTypeFailure(span, read)
  );
}

/** A status of ERROR with a message of its own is shown as it came, or with the gateway's beside it; one without gets the gateway's. */
function statusShowsError(span: SpanFields): boolean {
  return span.status?.code === Status_StatusCode.ERROR && span.status.message !== "";
}

/**
 * What an error says with a reason more (`400` and "This model's maximum context length is 128000
 * tokens"): both, what it said first, so Braintrust's error shows why the call failed, not a bare code
 * with the reason among the metadata. As it was when it says the reason already; the reason alone when
 * that holds what it said.
 */
function beside(said: string | undefined, reason: string | undefined): string | undefined {
  if (said === undefined || reason === undefined) return said ?? reason;
  if (said.includes(reason)) return said;
  if (holdsAsWords(reason, said)) return reason;
  // A bare code and its reason phrase read as one status line: `400 Bad Request`.
  return /^\d{3}$/.test(said) && namesOnlyStatus(reason) ? `${said} ${reason}` : `${said}: ${reason}`;
}

/**
 * Whether `text` holds `part` where it first occurs as words of its own: "400" is not in "4000
 * tokens", which would lose the code. A later occurrence is not looked for: both are shown then.
 */
function holdsAsWords(text: string, part: string): boolean {
  const at = text.indexOf(part);
  const joined = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && /\w/.test(a) && /\w/.test(b);
  return at >= 0 && !joined(text[at - 1], part[0]) && !joined(part.at(-1), text[at + part.length]);
}

/**
 * A span the relay has nothing to restate from, such as the gateway's call to a provider, which
 * still failed when it was answered with an HTTP error or says an `error.type`: it is shown failed,
 * as its parents are; or one failed without a message whose exception event says why.
 */
function failedOnly(span: SpanFields, masked: SourceReading | undefined): SpanTranslation | undefined {
  const failure = (read: SourceReading) => exceptionFailure(span, read) ?? httpFailure(span) ?? errorTypeFailure(span, read);
  const error = failure(asItCame);
  return error === undefined || statusShowsError(span) ? undefined : { ...UNTRANSLATED, error: derivedAsMasked(error, failure, masked) };
}

/**
 * Adds the restated keys to those removed, but a key sent twice (OTLP forbids it, but it happens),
 * which had only one of its values restated: it stays. A few keys are counted in place; many (a
 * span of thousands of Traceloop messages) all at once, or the span would cost their product.
 */
function removeSentOnce(removedKeys: Set<string>, attributes: KeyValue[], restated: string[]): void {
  if (restated.length <= FEW_KEYS) {
    for (const key of restated) if (countOf(attributes, key) === 1) removedKeys.add(key);
    return;
  }
  const counts = new Map<string, number>();
  for (const { key } of attributes) counts.set(key, (counts.get(key) ?? 0) + 1);
  for (const key of restated) if (counts.get(key) === 1) removedKeys.add(key);
}

/** Appends the attribute unless the span has its own; says whether it did. */
function appendJson(added: NewAttribute[], attributes: KeyValue[], key: string, value: unknown): boolean {
  if (value === undefined || hasAttribute(attributes, key)) return false;
  added.push({ key, utf8: jsonUtf8(value) });
  return true;
}

/** A decoded span with the translation applied: the restated sources (attributes and events) removed, the braintrust.* attributes appended, its error set. */
export function applyTranslation(span: Span, { added, removedKeys, removedEvents, error }: SpanTranslation): void {
  span.attributes = [...span.attributes.filter((a) => !removedKeys.has(a.key)), ...added.map(addedKeyValue)];
  if (removedEvents) span.events = span.events.filter((_, at) => !removedEvents.has(at));
  if (error !== undefined) span.status = errorStatus(error);
}

/** An added attribute as protobuf-es holds one. */
export function addedKeyValue(attribute: NewAttribute): KeyValue {
  return "utf8" in attribute
    ? stringKeyValue(attribute.key, textOf(attribute.utf8))
    : keyValue(attribute.key, stringArrayValue(attribute.strings));
}

/** A payload attribute's text as UTF-8 (`value`: the attribute's value): the request's own bytes when the span was read from them. */
function payloadUtf8(span: SpanFields, value: AnyValue | undefined): Uint8Array | undefined {
  if (value?.value.case !== "stringValue") return undefined;
  return span.stringBytes?.get(value) ?? utf8Of(value.value.value);
}
