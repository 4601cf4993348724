import type { ExportTraceServiceRequest } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { AnyValue, KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { type Span, Status_StatusCode } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { base64Encode, hex } from "../../src/encoding/bytes.js";
import type { BraintrustView, SpanView, TraceView } from "./braintrust-standin-contract.js";
import { spansOf } from "./traces.js";

/**
 * Spans rendered the way Braintrust presents them, from its documented rules (docs/braintrust-otlp.md,
 * "How Braintrust shows spans"), written apart from the relay's translation so that tests check one
 * against the other:
 * - the Logs table lists only traces with a root span (no parent); spans that never reach it are unlisted;
 * - a root span shows as a `task`, whatever its `braintrust.span_attributes` say;
 * - the `braintrust.*` attributes Braintrust maps are consumed; `braintrust.input_json` / `output_json`
 *   only when they are strings holding JSON, `braintrust.tags` only when a list, else they stay in
 *   metadata; `braintrust.metadata.<key>` is `metadata.<key>`; any other `braintrust.*` key (one
 *   misspelt) stays in metadata as it came;
 * - metadata is `braintrust.metadata` merged with every attribute Braintrust does not consume;
 * - cost is an explicit `estimated_cost`, else "priced by model name" when `metadata.model` is a name
 *   from Braintrust's price list (a provider's model name) and the span has token counts to price,
 *   else none;
 * - the error is the span status's, when its code is ERROR;
 * - GenAI message events are listed as such: Braintrust reads them as messages of their own.
 * Braintrust's own reading of `gen_ai.*` attributes is not modelled: they show in metadata here.
 */
export function braintrustView(requests: ExportTraceServiceRequest[]): BraintrustView {
  const spans = requests.flatMap(spansOf);
  const children = Map.groupBy(spans, (s) => `${hex(s.traceId)}/${hex(s.parentSpanId)}`);
  const traces: TraceView[] = [];
  let listed = 0;
  const render = (span: Span): SpanView => {
    listed++;
    const below = (children.get(`${hex(span.traceId)}/${hex(span.spanId)}`) ?? []).sort(byStart);
    return { ...spanView(span), children: below.map(render) };
  };
  for (const root of spans.filter((s) => s.parentSpanId.length === 0).sort(byStart)) {
    // Braintrust's Logs show a trace's root as a task, whatever type it was given.
    const tree = { ...render(root), type: "task" };
    traces.push({ root: tree.name, tags: [...new Set(allTags(tree))], tree });
  }
  return { traces, unlisted: spans.length - listed };
}

function byStart(a: Span, b: Span): number {
  return a.startTimeUnixNano === b.startTimeUnixNano ? a.name.localeCompare(b.name) : a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1;
}

function allTags(span: SpanView): string[] {
  return [...span.tags, ...span.children.flatMap(allTags)];
}

/**
 * Braintrust's price list, as far as the stand-in plays it: exact provider model names, as Braintrust
 * looks a model up by its exact name. A TrueFoundry name (`openai-main/gpt-4o`), a display or
 * deployment name (`gpt-4o-prod`), a name with something left over, all price as nothing. A subset:
 * a name missing here shows no cost where Braintrust may show one, the strict direction. A model's
 * dated snapshots are here as Braintrust's model list has them, each priced as its model
 * (braintrustdata/braintrust-proxy, packages/proxy/schema/model_list.json): a provider answers with
 * one (`claude-sonnet-4-5-20250929` asked `claude-sonnet-4-5`), and the relay shows the answer's.
 */
const PRICED_MODELS = new Set([
  "gpt-4o",
  "gpt-4o-2024-05-13",
  "gpt-4o-2024-08-06",
  "gpt-4o-2024-11-20",
  "gpt-4o-mini",
  "gpt-4o-mini-2024-07-18",
  "gpt-4.1",
  "gpt-4.1-2025-04-14",
  "gpt-4.1-mini",
  "gpt-4.1-mini-2025-04-14",
  "gpt-4.1-nano",
  "gpt-4.1-nano-2025-04-14",
  "gpt-4-turbo",
  "gpt-4-turbo-2024-04-09",
  "gpt-3.5-turbo",
  "gpt-3.5-turbo-0125",
  "gpt-3.5-turbo-instruct",
  "o1",
  "o1-2024-12-17",
  "o1-mini",
  "o3",
  "o3-2025-04-16",
  "o3-mini",
  "o3-mini-2025-01-31",
  "o4-mini",
  "o4-mini-2025-04-16",
  "text-embedding-3-small",
  "text-embedding-3-large",
  "text-embedding-ada-002",
  "claude-3-haiku-20240307",
  "claude-3-opus-20240229",
  "claude-3-5-sonnet-20240620",
  "claude-3-5-sonnet-20241022",
  "claude-3-5-haiku-20241022",
  "claude-3-7-sonnet-20250219",
  "claude-sonnet-4-20250514",
  "claude-opus-4-20250514",
  "claude-sonnet-4-5",
  "claude-sonnet-4-5-20250929",
  "gemini-1.5-pro",
  "gemini-1.5-flash",
  "gemini-2.0-flash",
  "gemini-2.5-pro",
  "gemini-2.5-flash",
]);

/** The `braintrust.*` attributes Braintrust maps onto a span's fields (docs/braintrust-otlp.md); any other stays in metadata. */
const MAPPED = new Set(
  [
    "span_attributes",
    "input",
    "input_json",
    "output",
    "output_json",
    "expected",
    "expected_json",
    "scores",
    "context_json",
    "origin",
    "metadata",
    "metrics",
    "tags",
    "parent",
  ].map((name) => `braintrust.${name}`),
);
const METADATA_KEY = "braintrust.metadata.";
/** The GenAI conventions' message events, in their older span-event form (`gen_ai.choice` for an answer). */
const MESSAGE_EVENTS = /^gen_ai\.((system|user|assistant|tool)\.message|choice)$/;

function spanView(span: Span): Omit<SpanView, "children"> {
  const consumed = span.attributes.filter((a) => MAPPED.has(a.key));
  const kept = new Map<string, unknown>();
  const shownTwice = new Set<string>();
  const show = (key: string, value: unknown) => {
    if (kept.has(key)) shownTwice.add(key);
    kept.set(key, value);
  };
  for (const a of span.attributes.filter((a) => !MAPPED.has(a.key))) {
    show(a.key.startsWith(METADATA_KEY) ? a.key.slice(METADATA_KEY.length) : a.key, plain(a.value));
  }

  const jsonText = (key: string): { value: unknown } | undefined => {
    const attribute = consumed.find((a) => a.key === key);
    if (!attribute) return undefined;
    const parsed = attribute.value?.value.case === "stringValue" ? parseJson(attribute.value.value.value) : undefined;
    if (parsed) return parsed;
    // Not a string holding JSON: Braintrust keeps it as metadata.
    show(key, plain(attribute.value));
    return undefined;
  };
  const spanAttributes = objectOf(jsonText("braintrust.span_attributes"));
  const input = jsonText("braintrust.input_json") ?? jsonText("braintrust.input");
  const output = jsonText("braintrust.output_json") ?? jsonText("braintrust.output");
  const metadata = objectOf(jsonText("braintrust.metadata"));
  for (const [key, value] of Object.entries(metadata)) show(key, value);
  const metrics = Object.fromEntries(
    Object.entries(objectOf(jsonText("braintrust.metrics"))).filter((e): e is [string, number] => typeof e[1] === "number"),
  );
  const tagsAttribute = consumed.find((a) => a.key === "braintrust.tags");
  const tagsValue = plain(tagsAttribute?.value);
  const tags = Array.isArray(tagsValue) ? tagsValue.filter((t): t is string => typeof t === "string") : [];
  // Not a list: Braintrust keeps it as metadata.
  if (tagsAttribute && !Array.isArray(tagsValue)) show(tagsAttribute.key, tagsValue);
  const model = kept.get("model");
  const messageEvents = span.events
    .filter((event) => MESSAGE_EVENTS.test(event.name))
    .map((event) => ({ name: event.name, attributes: Object.fromEntries(event.attributes.map((a) => [a.key, plain(a.value)])) }));

  return {
    name: typeof spanAttributes.name === "string" ? spanAttributes.name : span.name,
    type: typeof spanAttributes.type === "string" ? spanAttributes.type : null,
    ...(input ? { input: input.value } : {}),
    ...(output ? { output: output.value } : {}),
    metadata: Object.fromEntries([...kept].sort(([a], [b]) => a.localeCompare(b))),
    metrics,
    tags,
    error: span.status?.code === Status_StatusCode.ERROR ? span.status.message || "ERROR" : null,
    cost:
      typeof metrics.estimated_cost === "number"
        ? metrics.estimated_cost
        : typeof model === "string" && PRICED_MODELS.has(model) && hasTokens(metrics)
          ? "priced by model name"
          : null,
    ...(shownTwice.size > 0 ? { shownTwice: [...shownTwice].sort() } : {}),
    ...(messageEvents.length > 0 ? { messageEvents } : {}),
  };
}

/** Braintrust prices a call by its tokens: a span without token counts costs nothing, whatever its model. */
function hasTokens(metrics: Record<string, unknown>): boolean {
  return typeof metrics.prompt_tokens === "number" || typeof metrics.completion_tokens === "number";
}

function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

function objectOf(json: { value: unknown } | undefined): Record<string, unknown> {
  const value = json?.value;
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** An attribute's value as a metadata panel shows it: text as text, numbers, lists and maps as JSON. */
function plain(value: AnyValue | undefined): unknown {
  if (!value) return null;
  switch (value.value.case) {
    case "intValue":
      return Number(value.value.value);
    case "arrayValue":
      return value.value.value.values.map(plain);
    case "kvlistValue":
      return Object.fromEntries(value.value.value.values.map((kv: KeyValue) => [kv.key, plain(kv.value)]));
    case "bytesValue":
      return base64Encode(value.value.value);
    case undefined:
      return null;
    default:
      return value.value.value;
  }
}
