import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import type { Span } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import {
  findAttribute,
  jsonOf,
  numberAttribute,
  parseJson,
  scalarOf,
  stringArrayKeyValue,
  stringAttribute,
  stringKeyValue,
} from "./attributes.js";
import { traceloopMessages } from "./traceloop.js";

/**
 * TrueFoundry's tfy.* attributes, restated as the braintrust.* attributes Braintrust reads, so
 * gateway spans show as LLM spans with input, output, tokens and cost. Original attributes stay;
 * a braintrust.* attribute the span already has is left as it is.
 * Both vocabularies, and how Braintrust shows the result: docs/truefoundry-spans.md and
 * docs/braintrust-otlp.md.
 */
const SPAN_TYPES: Record<string, string> = {
  Model: "llm",
  Completion: "llm",
  Embedding: "llm",
  ChatCompletion: "task",
  AgentResponse: "task",
  MCP: "tool",
  Guardrail: "function",
  Rerank: "function",
};

/** What translation did to a span: attributes it appended, and the keys of attributes it took out. */
export interface SpanTranslation {
  added: KeyValue[];
  removedKeys: ReadonlySet<string>;
}

const NONE: ReadonlySet<string> = new Set();

/** Translates one span in place. */
export function translateSpan(span: Span): SpanTranslation {
  return { added: appendBraintrustAttributes(span), removedKeys: NONE };
}

/** Appends the braintrust.* attributes to the span and returns them (empty when none apply). */
function appendBraintrustAttributes(span: Span): KeyValue[] {
  const attributes = span.attributes;
  const fromTrueFoundry = attributes.some((a) => a.key.startsWith("tfy."));
  const traceloop = traceloopMessages(attributes);
  if (!fromTrueFoundry && !traceloop) return [];

  const added: KeyValue[] = [];
  const add = (key: string, value: unknown) => {
    if (value !== undefined && !findAttribute(attributes, key)) added.push(stringKeyValue(key, JSON.stringify(value)));
  };
  const tfyType = stringAttribute(attributes, "tfy.span_type");
  // Own keys only: "" or "constructor" is an unknown type, not a falsy or inherited one.
  const knownType = tfyType !== undefined && Object.hasOwn(SPAN_TYPES, tfyType) ? SPAN_TYPES[tfyType] : undefined;
  add("braintrust.span_attributes", { type: knownType ?? (traceloop ? "llm" : "task"), name: span.name });
  add("braintrust.input_json", payloadOf(stringAttribute(attributes, "tfy.input"), "messages") ?? traceloop?.input);
  add("braintrust.output_json", payloadOf(stringAttribute(attributes, "tfy.output"), "choices") ?? traceloop?.output);
  const requestMetadata = jsonOf(findAttribute(attributes, "tfy.request.metadata"));
  add("braintrust.metrics", nonEmpty(metricsOf(attributes)));
  add("braintrust.metadata", nonEmpty(metadataOf(attributes, requestMetadata)));
  const tags = tagsOf(requestMetadata);
  if (tags.length > 0 && !findAttribute(attributes, "braintrust.tags")) added.push(stringArrayKeyValue("braintrust.tags", tags));
  attributes.push(...added);
  return added;
}

/**
 * A request or response payload as Braintrust renders it: the message list (or choices) of a chat
 * payload, else the whole JSON, else the text itself, which JSON.stringify keeps as a JSON string.
 */
function payloadOf(text: string | undefined, listField: string): unknown {
  if (text === undefined) return undefined;
  const json = parseJson(text);
  if (json === undefined) return text;
  if (typeof json === "object" && json !== null && Array.isArray((json as Record<string, unknown>)[listField]))
    return (json as Record<string, unknown>)[listField];
  return json;
}

function metricsOf(attributes: KeyValue[]): Record<string, number | undefined> {
  const prompt = numberAttribute(attributes, "tfy.model.metric.input_tokens") ?? numberAttribute(attributes, "gen_ai.usage.prompt_tokens");
  const completion =
    numberAttribute(attributes, "tfy.model.metric.output_tokens") ?? numberAttribute(attributes, "gen_ai.usage.completion_tokens");
  const firstTokenMs = numberAttribute(attributes, "tfy.model.metric.time_to_first_token_in_ms");
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    tokens: prompt === undefined && completion === undefined ? undefined : (prompt ?? 0) + (completion ?? 0),
    estimated_cost: numberAttribute(attributes, "tfy.model.metric.cost_in_usd"),
    time_to_first_token: firstTokenMs === undefined ? undefined : firstTokenMs / 1000,
  };
}

function metadataOf(attributes: KeyValue[], requestMetadata: unknown): Record<string, unknown> {
  const requestModel = stringAttribute(attributes, "tfy.request.model_name");
  return {
    model: stringAttribute(attributes, "tfy.model.name") ?? requestModel ?? stringAttribute(attributes, "gen_ai.request.model"),
    model_fqn: stringAttribute(attributes, "tfy.model.fqn"),
    provider: stringAttribute(attributes, "gen_ai.system") ?? (requestModel?.includes("/") ? requestModel.split("/")[0] : undefined),
    stream: scalarOf(findAttribute(attributes, "tfy.model.streaming")),
    request_metadata: requestMetadata,
    subject: stringAttribute(attributes, "tfy.request.created_by_subject"),
    conversation_id: stringAttribute(attributes, "tfy.request.conversation_id"),
    prompt_version: stringAttribute(attributes, "tfy.prompt_version_fqn"),
    error: stringAttribute(attributes, "tfy.error_message"),
  };
}

/** Tags from the request metadata: a list of strings, or one comma-separated string. */
function tagsOf(metadata: unknown): string[] {
  const tags = typeof metadata === "object" && metadata !== null ? (metadata as Record<string, unknown>).tags : undefined;
  if (Array.isArray(tags)) return tags.filter((t): t is string => typeof t === "string");
  if (typeof tags === "string")
    return tags
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean);
  return [];
}

function nonEmpty<T extends Record<string, unknown>>(record: T): Partial<T> | undefined {
  const defined = Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as Partial<T>;
  return Object.keys(defined).length > 0 ? defined : undefined;
}
