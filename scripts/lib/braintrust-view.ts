import type { ExportTraceServiceRequest } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { AnyValue, KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { type Span, Status_StatusCode } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { hex } from "../../src/encoding/bytes.js";
import type { BraintrustView, SpanView, TraceView } from "./braintrust-standin-contract.js";

/**
 * Spans rendered the way Braintrust presents them, from its documented rules (docs/braintrust-otlp.md,
 * "How Braintrust shows spans"), written apart from the relay's translation so that tests check one
 * against the other:
 * - the Logs table lists only traces with a root span (no parent); spans that never reach it are unlisted;
 * - a root span shows as a `task`, whatever its `braintrust.span_attributes` say;
 * - every `braintrust.*` attribute is consumed; `braintrust.input_json` / `output_json` only when they
 *   are strings holding JSON, else they stay in metadata;
 * - metadata is `braintrust.metadata` merged with every attribute Braintrust does not consume;
 * - cost is an explicit `estimated_cost`, else "priced by model name" when `metadata.model` is a name
 *   from Braintrust's price list (a provider's model name) and the span has token counts to price,
 *   else none;
 * - the error is the span status's, when its code is ERROR.
 * Braintrust's own reading of `gen_ai.*` is not modelled: such attributes show in metadata here.
 */
export function braintrustView(requests: ExportTraceServiceRequest[]): BraintrustView {
  const spans = requests.flatMap((r) => r.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)));
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
 * Braintrust's price list, as far as the stand-in plays it: provider model names of the families
 * it prices. A TrueFoundry name (`openai-main/gpt-4o`) or a display name is in none of them.
 */
const PRICED_MODEL = /^(gpt-|chatgpt-|o\d|text-embedding-|claude-|gemini-|command|rerank-|mistral-|llama)[a-z0-9.:-]*$/;

function spanView(span: Span): Omit<SpanView, "children"> {
  const consumed = span.attributes.filter((a) => a.key.startsWith("braintrust."));
  const kept = new Map<string, unknown>();
  const shownTwice = new Set<string>();
  const show = (key: string, value: unknown) => {
    if (kept.has(key)) shownTwice.add(key);
    kept.set(key, value);
  };
  for (const a of span.attributes.filter((a) => !a.key.startsWith("braintrust."))) show(a.key, plain(a.value));

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
  const tagsValue = plain(consumed.find((a) => a.key === "braintrust.tags")?.value);
  const tags = Array.isArray(tagsValue) ? tagsValue.filter((t): t is string => typeof t === "string") : [];
  const model = kept.get("model");

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
        : typeof model === "string" && PRICED_MODEL.test(model) && hasTokens(metrics)
          ? "priced by model name"
          : null,
    ...(shownTwice.size > 0 ? { shownTwice: [...shownTwice].sort() } : {}),
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
      return btoa(String.fromCharCode(...value.value.value));
    case undefined:
      return null;
    default:
      return value.value.value;
  }
}
