/** What the stand-in's control API takes and returns (scripts/lib/braintrust-standin.ts). */

/** Braintrust's hosted OTLP endpoint takes at most 10 MB per request. */
export const BRAINTRUST_MAX_REQUEST_BYTES = 10_000_000;

/** One scripted answer, used once, for the next request carrying the key. */
export interface FaultStep {
  /** Only for a request to this parent (its x-bt-parent), as Braintrust refuses a project a key may not write to; others pass it by. */
  parent?: string;
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /**
   * Answer the scripted status before the key, the parent and the body are checked, as an upstream
   * that does not look at them first; by default a scripted status answers only a request that
   * passed every check.
   */
  beforeChecks?: boolean;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Destroy the connection without answering. */
  reset?: boolean;
  /**
   * Take the spans, as Braintrust stores them, then destroy the connection without answering: the
   * failure a client cannot tell from one where nothing arrived (a load balancer's idle timeout, a
   * deploy cutting connections after the write).
   */
  dropAnswer?: boolean;
  /** Answer 200 with this partial success. */
  partialSuccess?: { rejectedSpans: number; errorMessage: string };
  /**
   * Answer (the scripted status, or the success once the spans are accepted) with a body of this many
   * bytes instead, streamed only as fast as the client reads it, so that a huge one costs no memory.
   */
  bodyBytes?: number;
}

/** A request that passed every check and was accepted. */
export interface ReceivedRequest {
  path: string;
  parent: string;
  contentType: string;
  contentEncoding: string;
  userAgent: string;
  /** The ExportTraceServiceRequest bytes after decompression, base64. */
  body: string;
  receivedAt: number;
}

/** Every request seen for a key, answered or not, for retry assertions. */
export interface Attempt {
  status: number;
  /** When its body had arrived, before any scripted wait: with `receivedAt`, when it was under way. */
  arrivedAt: number;
  /** When it was answered. */
  receivedAt: number;
  /** The body's size as it came over the wire, and its `content-encoding` ("" for none). */
  bytes: number;
  contentEncoding: string;
  /** For a `bodyBytes` answer, how much of it was written so far: what the client read, give or take the socket's buffers. */
  answeredBytes?: number;
}

/**
 * What a Braintrust user sees of the spans that arrived for a key (scripts/lib/braintrust-view.ts):
 * the traces the Logs table lists, each span as Braintrust's span panel shows it.
 */
export interface BraintrustView {
  traces: TraceView[];
  /** Spans stored but in no listed trace: their trace has no root, or they never reach it. */
  unlisted: number;
}

export interface TraceView {
  /** The root's name, as the Logs table lists the trace. */
  root: string;
  /** Tags gathered over the whole trace, as Braintrust shows them on its row. */
  tags: string[];
  tree: SpanView;
}

export interface SpanView {
  name: string;
  /** `llm`, `task`, `tool`, `function`, …; null when the span does not say. */
  type: string | null;
  input?: unknown;
  output?: unknown;
  metadata: Record<string, unknown>;
  metrics: Record<string, number>;
  tags: string[];
  error: string | null;
  /** An explicit `estimated_cost` in dollars; else whether Braintrust can price the span by `metadata.model`. */
  cost: number | "priced by model name" | null;
  /** Metadata keys filled from two places (two attributes, or an attribute and `braintrust.metadata`): one hides the other. */
  shownTwice?: string[];
  /**
   * The GenAI conventions' message events (`gen_ai.user.message`, …), each its name and attributes:
   * Braintrust reads them as messages itself, so beside an input or output they show the conversation again.
   */
  messageEvents?: Array<{ name: string; attributes: Record<string, unknown> }>;
  children: SpanView[];
}
