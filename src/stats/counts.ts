/**
 * A tenant's counts over some time, kept as sums only, so that counts from many isolates and many
 * minutes add up in any order.
 */
export const SPAN_COUNTERS = [
  /** In requests the relay read (decoded or checked on the wire): accepted plus rejected as invalid. */
  "received",
  /** Passed validation and were handed to delivery. */
  "accepted",
  /** Rejected one by one as invalid (bad ids), reported in `partial_success`. */
  "rejected_invalid",
  /** Braintrust refused them with the client's own key, or refused them for a key it had not accepted yet: not kept. */
  "refused_upstream",
  /** Braintrust answered 2xx for them. */
  "delivered",
  /** Scheduled for another attempt (a span retried three times counts three times). */
  "retried",
  /** Kept in R2 as a dead letter. */
  "dead_lettered",
  /** Put on the delivery queue: from an ingest request, or replayed from a dead letter. */
  "queued",
  /** Taken off the delivery queue for good: delivered, dead-lettered, refused or discarded with their tenant. */
  "left_queue",
] as const;
export type SpanCounter = (typeof SPAN_COUNTERS)[number];

export interface Counts {
  spans: Partial<Record<SpanCounter, number>>;
  /** Ingest requests answered, by HTTP status. */
  requests: Record<string, number>;
  /** Attempts to deliver to Braintrust, and those that were not a 2xx. */
  upstreamAttempts: number;
  upstreamErrors: number;
  /** Upstream latency histogram: bucket (see latency.ts) → attempts. */
  latency: Record<string, number>;
  /** Model calls among the spans translation read, by the model Braintrust prices by; absent in counts made before it was kept. */
  usage?: Record<string, ModelUsageCounts>;
}

export interface ModelUsageCounts {
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}

export interface UpstreamError {
  /** When, ms since the epoch. */
  at: number;
  /** Braintrust's status, or null when there was no answer (timeout, connection error). */
  status: number | null;
  reason: string;
}

/** What an isolate hands a tenant's Durable Object at a flush: its counts by minute since the last one. */
export interface StatsDelta {
  /** Minute (ms since the epoch, rounded down to the minute) → counts in it. */
  minutes: Record<string, Counts>;
  lastError?: UpstreamError;
}

export function emptyCounts(): Counts {
  return { spans: {}, requests: {}, upstreamAttempts: 0, upstreamErrors: 0, latency: {} };
}

function addInto(into: Record<string, number>, from: Record<string, number | undefined>): void {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + (n ?? 0);
}

/**
 * Adds one model's usage into usage by model, in place. A model name is the span's to choose, so it
 * is set as an own property whatever it is: `__proto__` is a model like any other.
 */
export function addModelUsage(into: Record<string, ModelUsageCounts>, model: string, usage: ModelUsageCounts): void {
  const sum = Object.hasOwn(into, model) ? into[model]! : { calls: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 };
  const value: ModelUsageCounts = {
    calls: sum.calls + usage.calls,
    prompt_tokens: sum.prompt_tokens + usage.prompt_tokens,
    completion_tokens: sum.completion_tokens + usage.completion_tokens,
    cost_usd: sum.cost_usd + usage.cost_usd,
  };
  Object.defineProperty(into, model, { value, enumerable: true, writable: true, configurable: true });
}

/** Adds `from` into `into`, in place. */
export function addCounts(into: Counts, from: Counts): Counts {
  addInto(into.spans, from.spans);
  addInto(into.requests, from.requests);
  addInto(into.latency, from.latency);
  into.upstreamAttempts += from.upstreamAttempts;
  into.upstreamErrors += from.upstreamErrors;
  const models = Object.entries(from.usage ?? {});
  if (models.length > 0) {
    into.usage ??= {};
    for (const [model, usage] of models) addModelUsage(into.usage, model, usage);
  }
  return into;
}

/** Adds one delta into another, in place; the later error wins. */
export function addDelta(into: StatsDelta, from: StatsDelta): StatsDelta {
  for (const [minute, counts] of Object.entries(from.minutes))
    into.minutes[minute] = addCounts(into.minutes[minute] ?? emptyCounts(), counts);
  if (from.lastError && (!into.lastError || from.lastError.at >= into.lastError.at)) into.lastError = from.lastError;
  return into;
}

export const MINUTE_MS = 60_000;

export function minuteOf(time: number): number {
  return time - (time % MINUTE_MS);
}
