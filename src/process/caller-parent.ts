import { Span_SpanKind } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import type { SpanFields } from "../otlp/incoming.js";
import { isRoot } from "../otlp/root.js";
import { hasAttribute, stringAttribute } from "./attributes.js";
import type { SpanIdSet } from "./span-ids.js";

/**
 * The gateway's request spans, each the top of its gateway request (docs/truefoundry-spans.md). MCP
 * is not among them: an agent's tool calls are MCP spans under its AgentResponse, exported before
 * it, when they end (a direct call is told apart by its kind, see isRequestSpan).
 */
export const REQUEST_SPAN_TYPES: ReadonlySet<string> = new Set(["ChatCompletion", "Completion", "Embedding", "Rerank", "AgentResponse"]);

/** The older gateway's one span per request, in the GenAI conventions, has this name and no `tfy.span_type`. */
const GENAI_REQUEST_SPAN_NAME = "chatCompletions";

/**
 * Whether the span is the top of its gateway request: a request span of either shape the gateway
 * exports, or an MCP call the gateway served as a request of its own, a span of kind SERVER (what
 * OpenTelemetry calls a request a service receives; an agent's tool call is not one).
 */
export function isRequestSpan(span: SpanFields): boolean {
  const type = stringAttribute(span.attributes, "tfy.span_type");
  if (type !== undefined) return REQUEST_SPAN_TYPES.has(type) || (type === "MCP" && span.kind === Span_SpanKind.SERVER);
  return span.name === GENAI_REQUEST_SPAN_NAME && hasAttribute(span.attributes, "gen_ai.request.model");
}

/**
 * The gateway may continue a caller's W3C `traceparent`: its request span then has the caller's span
 * as its parent, which the gateway never exports, and Braintrust hides a trace without a root from its
 * Logs. A request span whose parent is not among the request's spans is therefore made its trace's
 * root (README, "keep_caller_parent"). Decided once every span of the request is seen.
 */
export class CallerParents {
  private readonly candidates: Array<{ at: number; parent: Uint8Array }> = [];

  /** `ids`: the request's span ids, every one added before `orphans` is asked. */
  constructor(private readonly ids: SpanIdSet) {}

  /** A span of the request's parent, when it is a request span with one, which may then become a root. */
  parentOf(span: SpanFields): Uint8Array | undefined {
    if (isRoot(span) || !isRequestSpan(span)) return undefined;
    return span.parentSpanId;
  }

  /** A span `parentOf` named, sent: `at` its place among the spans sent. */
  mayBecomeRoot(at: number, parent: Uint8Array): void {
    this.candidates.push({ at, parent });
  }

  /** The places of the spans to make roots, once every span was observed: those whose parent never came. */
  orphans(): number[] {
    return this.candidates.filter((candidate) => !this.ids.has(candidate.parent)).map((candidate) => candidate.at);
  }
}
