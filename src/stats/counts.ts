import { textStart } from "../encoding/bytes.js";

/**
 * A tenant's counts over some time, kept as sums only, so that counts from many isolates and many
 * minutes add up in any order.
 */
const SPAN_COUNTERS = [
  /** In requests the relay read (decoded or checked on the wire): accepted plus rejected as invalid. */
  "received",
  /** Passed validation and were handed to delivery. */
  "accepted",
  /** Rejected one by one as invalid (bad ids, or past a span's limits), reported in `partial_success`. */
  "rejected_invalid",
  /** Braintrust refused them with the client's own key, or refused them for a key it had not accepted yet: not kept. */
  "refused_upstream",
  /** Braintrust answered 2xx for them, and did not reject them in that answer's partial success. */
  "delivered",
  /** Braintrust answered 2xx but rejected them in its partial success: not kept by Braintrust, and not retried. */
  "rejected_by_braintrust",
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
  /**
   * Of the requests answered 503, those the relay refused because it is misconfigured (an
   * `ENCRYPTION_KEY` that opens no stored key, the ceiling binding missing): absent when none, and in
   * counts made before they were counted, which show them as unavailable.
   */
  misconfigured?: number;
  /** Attempts to deliver to Braintrust, and those that were not a 2xx. */
  upstreamAttempts: number;
  upstreamErrors: number;
  /** Upstream latency histogram: bucket (see latency.ts) → attempts. */
  latency: Record<string, number>;
  /** Model calls among the spans translation read, by the model Braintrust prices by (see addModelUsage); absent in counts made before it was kept. */
  usage?: Record<string, ModelUsageCounts>;
}

export interface ModelUsageCounts {
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  /**
   * The calls with tokens the gateway gave no cost for (TrueFoundry's 0, for a model it has no price
   * for), which `cost_usd` leaves out; absent when none, and in counts made before they were counted.
   */
  unpriced_calls?: number;
}

export interface UpstreamError {
  /** When, ms since the epoch. */
  at: number;
  /** Braintrust's status, or null when there was no answer (timeout, connection error). */
  status: number | null;
  reason: string;
  /**
   * Spans the isolate that counted the error delivered after it in the error's own minute, which the
   * minutes after it do not show (a delivery sent again at once, with a key fixed since); absent when none.
   */
  deliveredInItsMinute?: number;
}

/** What an isolate hands a tenant's Durable Object at a flush: its counts by minute since the last one. */
export interface StatsDelta {
  /**
   * The incarnation of the tenant (tenants/schema.ts) they were counted for; none for a tenant
   * recorded before incarnations. The object drops counts for any other than the one it holds now.
   */
  incarnation?: string;
  /** Minute (ms since the epoch, rounded down to the minute) → counts in it. */
  minutes: Record<string, Counts>;
  lastError?: UpstreamError;
  /** When the isolate last counted spans delivered, ms since the epoch; absent when it counted none. */
  lastDeliveredAt?: number;
}

export function emptyCounts(): Counts {
  return { spans: {}, requests: {}, upstreamAttempts: 0, upstreamErrors: 0, latency: {} };
}

function addInto(into: Record<string, number>, from: Record<string, number | undefined>): void {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + (n ?? 0);
}

/**
 * A model name is the span's to choose, so usage is kept by at most this many characters of it: a
 * longer one is cut, ending in "…" so that it shows it was, and counts with every name it shares
 * that start with. Real names (`openai-main/gpt-4.1-mini`, a Bedrock profile's ARN) are shorter.
 */
export const MODEL_NAME_LIMIT = 128;
/**
 * How many models usage keeps by name in one map (a request's, a minute's, an hour's, the totals); the rest
 * count together under OTHER_MODELS. So a minute's row and the totals stay a few tens of KB, far from
 * SQLite's 2 MB a value, however many names a tenant's spans make up.
 */
export const MODELS_BY_NAME = 50;
export const OTHER_MODELS = "(other models)";

/** Adds into one model's sum, set as an own property whatever the name: `__proto__` is a model like any other. */
function addTo(into: Record<string, ModelUsageCounts>, model: string, usage: ModelUsageCounts): void {
  const sum = Object.hasOwn(into, model) ? into[model]! : { calls: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 };
  const value: ModelUsageCounts = {
    calls: sum.calls + usage.calls,
    prompt_tokens: saturatingSum(sum.prompt_tokens, usage.prompt_tokens),
    completion_tokens: saturatingSum(sum.completion_tokens, usage.completion_tokens),
    cost_usd: saturatingSum(sum.cost_usd, usage.cost_usd),
  };
  const unpriced = (sum.unpriced_calls ?? 0) + (usage.unpriced_calls ?? 0);
  if (unpriced > 0) value.unpriced_calls = unpriced;
  Object.defineProperty(into, model, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * A sum held at the largest number when it would pass it: a client's spans may say any cost, and
 * Infinity, which JSON writes as null, would read back from the stored row as 0.
 */
function saturatingSum(a: number, b: number): number {
  return Math.min(a + b, Number.MAX_VALUE);
}

function modelNameKept(model: string): string {
  if (model.length <= MODEL_NAME_LIMIT) return model;
  return `${textStart(model, MODEL_NAME_LIMIT - 1)}…`;
}

/**
 * Adds one model's usage into usage by model, in place, keeping at most MODELS_BY_NAME names. A
 * model new to a full map, when it brings at least as many calls as the named one with the fewest,
 * takes its place and that one joins OTHER_MODELS; else it joins OTHER_MODELS itself. So the models
 * a tenant uses most, and last, keep their names (in the totals too, long after a burst of made-up
 * names). What a model counted before it was named stays in OTHER_MODELS, and which models keep their
 * names depends on the order counts add up in: the sums over all models are exact, a model's own
 * share may be low.
 */
export function addModelUsage(into: Record<string, ModelUsageCounts>, model: string, usage: ModelUsageCounts): void {
  addTo(into, keptUnder(into, modelNameKept(model), usage), usage);
}

/** The name usage of `model` adds up under in `into`: its own, once room is made for it, or OTHER_MODELS. */
function keptUnder(into: Record<string, ModelUsageCounts>, model: string, usage: ModelUsageCounts): string {
  if (Object.hasOwn(into, model) || model === OTHER_MODELS) return model;
  const named = Object.keys(into).filter((m) => m !== OTHER_MODELS);
  if (named.length < MODELS_BY_NAME) return model;
  const fewest = named.reduce((least, m) => (into[m]!.calls < into[least]!.calls ? m : least));
  if (usage.calls < into[fewest]!.calls) return OTHER_MODELS;
  addTo(into, OTHER_MODELS, into[fewest]!);
  delete into[fewest];
  return model;
}

/** Adds `from` into `into`, in place. */
export function addCounts(into: Counts, from: Counts): Counts {
  addInto(into.spans, from.spans);
  addInto(into.requests, from.requests);
  addInto(into.latency, from.latency);
  into.upstreamAttempts += from.upstreamAttempts;
  into.upstreamErrors += from.upstreamErrors;
  if (from.misconfigured) into.misconfigured = (into.misconfigured ?? 0) + from.misconfigured;
  const models = Object.entries(from.usage ?? {});
  if (models.length > 0) {
    into.usage ??= {};
    for (const [model, usage] of models) addModelUsage(into.usage, model, usage);
  }
  return into;
}

/** Adds one delta into another, in place; the later error wins (laterError). */
export function addDelta(into: StatsDelta, from: StatsDelta): StatsDelta {
  for (const [minute, counts] of Object.entries(from.minutes))
    into.minutes[minute] = addCounts(into.minutes[minute] ?? emptyCounts(), counts);
  const lastError = laterError(into.lastError, from.lastError);
  if (lastError) into.lastError = lastError;
  if (from.lastDeliveredAt !== undefined) into.lastDeliveredAt = Math.max(into.lastDeliveredAt ?? 0, from.lastDeliveredAt);
  return into;
}

/**
 * The later of two upstream errors, `told` on a tie. The same error told again (by the isolate that
 * counted it, once a flush had taken it, for spans it delivered after it in its minute) holds the
 * spans both say were delivered in its minute.
 */
export function laterError(held: UpstreamError | undefined, told: UpstreamError | undefined): UpstreamError | undefined {
  if (!held || !told) return told ?? held;
  if (told.at !== held.at) return told.at > held.at ? told : held;
  const delivered = (held.deliveredInItsMinute ?? 0) + (told.deliveredInItsMinute ?? 0);
  return delivered > 0 ? { ...told, deliveredInItsMinute: delivered } : told;
}

export const MINUTE_MS = 60_000;

export function minuteOf(time: number): number {
  return time - (time % MINUTE_MS);
}
