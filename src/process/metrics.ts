import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { isJsonObject } from "../encoding/json.js";
import { countOf, findAttribute, givenOf, numberAttribute } from "./attributes.js";

/**
 * Braintrust's metric, where it comes from (first attribute present wins), what to divide by for
 * Braintrust's unit, whether a 0 means the gateway does not know it, and whether it is what a
 * model call used (tokens, cost), which Braintrust sums over a trace.
 */
const METRIC_SOURCES: Array<{ metric: string; keys: string[]; divisor?: number; zeroIsUnknown?: boolean; used?: boolean }> = [
  {
    metric: "prompt_tokens",
    keys: ["tfy.model.metric.input_tokens", "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"],
    used: true,
  },
  {
    metric: "completion_tokens",
    keys: ["tfy.model.metric.output_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"],
    used: true,
  },
  // Beside TrueFoundry's, the GenAI conventions' names (`cache_read.input_tokens`) and Traceloop's
  // older ones (`cache_read_input_tokens`), which a gateway writing the conventions may send instead.
  {
    metric: "prompt_cached_tokens",
    keys: ["tfy.model.metric.cache_read_input_tokens", "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens"],
    used: true,
  },
  {
    metric: "prompt_cache_creation_tokens",
    keys: [
      "tfy.model.metric.cache_write_input_tokens",
      "tfy.model.metric.cache_creation_input_tokens",
      "gen_ai.usage.cache_creation.input_tokens",
      "gen_ai.usage.cache_creation_input_tokens",
    ],
    used: true,
  },
  {
    metric: "completion_reasoning_tokens",
    keys: ["tfy.model.metric.reasoning_tokens", "gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens"],
    used: true,
  },
  // TrueFoundry reports a cost of 0 for a model it has no price for; written, it would stop Braintrust
  // pricing the call by its model name, so it is left as an attribute instead.
  { metric: "estimated_cost", keys: ["tfy.model.metric.cost_in_usd"], zeroIsUnknown: true, used: true },
  // Braintrust's timings are in seconds; TrueFoundry's in milliseconds. No first token comes in no
  // time: 0 is a timing the gateway did not take (a call that was not streamed), not one to show.
  { metric: "time_to_first_token", keys: ["tfy.model.metric.time_to_first_token_in_ms"], divisor: 1000, zeroIsUnknown: true },
  { metric: "inter_token_latency", keys: ["tfy.model.metric.inter_token_latency_in_ms"], divisor: 1000, zeroIsUnknown: true },
];

interface Metrics {
  values: Record<string, number>;
  /** The attributes the values were read from, and aliases saying the same: restated, so removable. */
  sources: string[];
  /**
   * On a request's span, what a model call used (tokens, cost) by the attribute that says it, as it
   * says it: for metadata, not metrics (see metricsOf).
   */
  usedElsewhere: Record<string, unknown>;
}

/**
 * Braintrust's metrics from the span's attributes, and, for the span of a model call, from the
 * provider's `usage` in its response (which also has the cached and reasoning token counts).
 * `ofRequestSpan`: the span is a request's, whose model calls are spans of their own: what they used is
 * not its metrics, so Braintrust does not count a call's tokens, or price it, twice. An attribute
 * saying so (the GenAI conventions' `gen_ai.usage.*`, which Braintrust reads itself) goes to
 * metadata instead, where nothing sums it.
 */
export function metricsOf(attributes: KeyValue[], usage: unknown, ofRequestSpan: boolean): Metrics {
  const values: Record<string, number> = {};
  const sources: string[] = [];
  const usedElsewhere: Record<string, unknown> = {};
  for (const { metric, keys, divisor, zeroIsUnknown, used } of METRIC_SOURCES) {
    let read: number | undefined;
    for (const key of keys) {
      const value = numberAttribute(attributes, key);
      // No count, cost or timing is below 0: such a number is no metric, and stays as it came.
      if (value === undefined || value < 0 || (zeroIsUnknown && value === 0)) continue;
      if (ofRequestSpan && used) {
        // A key sent twice stays, both of its values: moving one would show the key twice.
        if (countOf(attributes, key) === 1) usedElsewhere[key] = givenOf(findAttribute(attributes, key));
      } else if (read === undefined) {
        read = value;
        values[metric] = divisor === undefined ? value : value / divisor;
        sources.push(key);
      } else if (value === read) sources.push(key);
    }
  }
  // The gateway's input tokens may be Anthropic's own, which leave its cache out, or count part of
  // it: when they are the usage's, with or without the reads or the writes, they are counted as
  // Braintrust counts them. Usage that is no object holds no counts, and most spans have none: its
  // paths (arrays, some made at each look-up) are then not looked up at all.
  const usageObject = isJsonObject(usage) ? usage : undefined;
  const anthropic = usageObject && anthropicPromptTokens(usageObject);
  if (anthropic !== undefined && (values.prompt_tokens === undefined || anthropic.partial.includes(values.prompt_tokens)))
    values.prompt_tokens = anthropic.all;
  if (usageObject)
    for (const [metric, path] of USAGE_PATHS) {
      const value = values[metric] === undefined ? numberAt(usageObject, path) : undefined;
      if (value !== undefined) values[metric] = value;
    }
  if (values.prompt_tokens !== undefined)
    values.prompt_tokens = withCache(values.prompt_tokens, values, usageObject && promptHoldingReads(usageObject));
  if (values.prompt_tokens !== undefined || values.completion_tokens !== undefined)
    values.tokens = (values.prompt_tokens ?? 0) + (values.completion_tokens ?? 0);
  // Some providers' completion tokens leave their thinking out, and their total holds it (Gemini's,
  // in its own names or OpenAI's; xAI's reasoning models'): Braintrust's wrappers show the total
  // as `tokens`, OpenAI's as Google's, so a larger total is the call's tokens.
  if (values.tokens !== undefined) {
    const conventionsTotal = numberAttribute(attributes, TOTAL_TOKENS);
    const totals = [conventionsTotal, ...TOTALS_IN_USAGE.map(([, path]) => usageObject && numberAt(usageObject, path))];
    for (const total of totals) if (total !== undefined && total > values.tokens) values.tokens = total;
    if (!ofRequestSpan && conventionsTotal === values.tokens) sources.push(TOTAL_TOKENS);
  }
  if (ofRequestSpan) moveUsage(attributes, usedElsewhere);
  return { values, sources, usedElsewhere };
}

/** The GenAI conventions' count of a call's tokens in all, which Braintrust's `tokens` metric restates. */
const TOTAL_TOKENS = "gen_ai.usage.total_tokens";

/**
 * Every other `gen_ai.usage.*` a request's span says (its total, its cache counts), as it says it:
 * Braintrust reads them itself, and would count the call's tokens on the request's span beside its
 * `Model` span. A key sent twice stays, as in metricsOf. Counted in one pass: a span may hold
 * thousands of such keys, and counting each on its own would cost their product.
 */
function moveUsage(attributes: KeyValue[], usedElsewhere: Record<string, unknown>): void {
  const usage = new Map<string, { value: KeyValue["value"]; count: number }>();
  for (const { key, value } of attributes) {
    if (!key.startsWith("gen_ai.usage.")) continue;
    const seen = usage.get(key);
    if (seen) seen.count++;
    else usage.set(key, { value, count: 1 });
  }
  for (const [key, { value, count }] of usage) {
    if (count === 1 && !Object.hasOwn(usedElsewhere, key)) usedElsewhere[key] = givenOf(value);
  }
}

/**
 * Anthropic's prompt tokens as Braintrust counts prompt tokens (OpenAI's, cached ones included):
 * its `input_tokens` leave out the cache reads and writes, which Braintrust's Anthropic wrapper adds
 * back (`all`); `partial`, the counts that leave out the cache or part of it. Bedrock's Converse API
 * counts Anthropic's way under names of its own (`inputTokens`, `cacheReadInputTokens`,
 * `cacheWriteInputTokens`). Undefined for usage without such cache counts, or with OpenAI's own
 * prompt tokens.
 */
function anthropicPromptTokens(usage: unknown): { all: number; partial: number[] } | undefined {
  const input = numberAt(usage, ["input_tokens"]) ?? numberAt(usage, ["inputTokens"]);
  const read = numberAt(usage, ["cache_read_input_tokens"]) ?? numberAt(usage, ["cacheReadInputTokens"]) ?? 0;
  const written = numberAt(usage, ["cache_creation_input_tokens"]) ?? numberAt(usage, ["cacheWriteInputTokens"]) ?? 0;
  if (input === undefined || (read === 0 && written === 0) || numberAt(usage, ["prompt_tokens"]) !== undefined) return undefined;
  return { all: input + read + written, partial: [input, input + read, input + written] };
}

/**
 * A usage's own count of prompt tokens that holds the cache reads: OpenAI's chat `prompt_tokens`,
 * Gemini's `promptTokenCount`, or the Responses API's `input_tokens` beside its `input_tokens_details`
 * (Anthropic's `input_tokens` leave the cache out).
 */
function promptHoldingReads(usage: unknown): number | undefined {
  return (
    numberAt(usage, ["prompt_tokens"]) ??
    numberAt(usage, ["promptTokenCount"]) ??
    (numberAt(usage, ["input_tokens_details", "cached_tokens"]) === undefined ? undefined : numberAt(usage, ["input_tokens"]))
  );
}

/**
 * The prompt tokens with the cache a count of fewer than the cached ones leaves out: priced by
 * model, Braintrust would charge a negative count of uncached tokens. Fewer than the reads leave out
 * the whole cache, as Anthropic counts. A usage's own count that holds the reads (promptHoldingReads)
 * can miss only cache writes beside it.
 */
function withCache(prompt: number, values: Record<string, number>, holdingReads: number | undefined): number {
  const read = values.prompt_cached_tokens ?? 0;
  const written = values.prompt_cache_creation_tokens ?? 0;
  if (prompt >= read + written) return prompt;
  return prompt >= read && prompt === holdingReads ? prompt + written : prompt + read + written;
}

/**
 * Where a response's usage object has each metric, first found first: OpenAI's chat completions, then
 * Anthropic's messages and OpenAI's Responses API, then Gemini's `usageMetadata` (read as Braintrust's
 * Google Gen AI wrapper reads it) and Bedrock Converse's `usage`, which the gateway passes on as they are.
 */
const USAGE_PATHS: Array<[metric: string, path: string[]]> = [
  ["prompt_tokens", ["prompt_tokens"]],
  ["prompt_tokens", ["input_tokens"]],
  ["prompt_tokens", ["promptTokenCount"]],
  ["prompt_tokens", ["inputTokens"]],
  ["completion_tokens", ["completion_tokens"]],
  ["completion_tokens", ["output_tokens"]],
  ["completion_tokens", ["candidatesTokenCount"]],
  ["completion_tokens", ["outputTokens"]],
  ["prompt_cached_tokens", ["prompt_tokens_details", "cached_tokens"]],
  ["prompt_cached_tokens", ["cache_read_input_tokens"]],
  ["prompt_cached_tokens", ["input_tokens_details", "cached_tokens"]],
  ["prompt_cached_tokens", ["cachedContentTokenCount"]],
  ["prompt_cached_tokens", ["cacheReadInputTokens"]],
  ["prompt_cache_creation_tokens", ["cache_creation_input_tokens"]],
  ["prompt_cache_creation_tokens", ["cacheWriteInputTokens"]],
  ["completion_reasoning_tokens", ["completion_tokens_details", "reasoning_tokens"]],
  ["completion_reasoning_tokens", ["output_tokens_details", "reasoning_tokens"]],
  ["completion_reasoning_tokens", ["thoughtsTokenCount"]],
];

/**
 * The members of a response that hold its usage: OpenAI's, Anthropic's and Converse's `usage`, Gemini's
 * `usageMetadata`.
 */
export const USAGE_MEMBERS: ReadonlySet<string> = new Set(["usage", "usageMetadata"]);

/** A response's usage (the rest of it, its output taken out), whichever member holds it. */
export function usageOf(rest: Record<string, unknown>): unknown {
  return rest.usage ?? rest.usageMetadata;
}

/**
 * A response's usage without the counts the span's metrics show as they are (OpenAI's
 * `prompt_tokens` or `total_tokens`, a detail's cached or reasoning tokens), so metadata does not
 * show a count a second time; a count the metrics show otherwise stays (Anthropic's `input_tokens`
 * beside a `prompt_tokens` that adds its cache). Undefined when nothing is left.
 */
export function usageBesideMetrics(usage: unknown, values: Record<string, number>): unknown {
  if (!isJsonObject(usage)) return usage;
  const shown = [...USAGE_PATHS, ...TOTALS_IN_USAGE]
    .filter(([metric, path]) => values[metric] !== undefined && numberAt(usage, path) === values[metric])
    .map(([, path]) => path);
  return shown.length === 0 ? usage : withoutPaths(usage, shown);
}

/** The usage's count of a call's tokens in all, which the `tokens` metric says: OpenAI's, Converse's, Gemini's. */
const TOTALS_IN_USAGE: Array<[metric: string, path: string[]]> = [
  ["tokens", ["total_tokens"]],
  ["tokens", ["totalTokens"]],
  ["tokens", ["totalTokenCount"]],
];

/** The object without the members at these paths (each to a number), nor an object they leave empty; undefined when empty. */
function withoutPaths(json: Record<string, unknown>, paths: string[][]): Record<string, unknown> | undefined {
  const left = Object.entries(json).flatMap(([key, value]): Array<[string, unknown]> => {
    const below = paths.filter((path) => path[0] === key);
    if (below.length === 0) return [[key, value]];
    // A path's end is a number: a member that is no object is one the metrics show.
    if (!isJsonObject(value)) return [];
    const inner = withoutPaths(
      value,
      below.map((path) => path.slice(1)),
    );
    return inner === undefined ? [] : [[key, inner]];
  });
  // Not assigned one by one: a member may be "__proto__".
  return left.length > 0 ? Object.fromEntries(left) : undefined;
}

function numberAt(json: unknown, path: string[]): number | undefined {
  let node = json;
  for (const step of path) node = typeof node === "object" && node !== null ? (node as Record<string, unknown>)[step] : undefined;
  return typeof node === "number" && Number.isFinite(node) && node >= 0 ? node : undefined;
}
