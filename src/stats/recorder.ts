import { scrubCredentials } from "../log/events.js";
import {
  addDelta,
  addModelUsage,
  type Counts,
  emptyCounts,
  MINUTE_MS,
  type ModelUsageCounts,
  minuteOf,
  type SpanCounter,
  type StatsDelta,
  type UpstreamError,
} from "./counts.js";
import { latencyBucket } from "./latency.js";

/**
 * Counts gathered in this isolate since its last flush, by tenant. Counting is a few map updates
 * and never awaits, so it costs a request nothing it would notice; flush.ts takes them to each
 * tenant's Durable Object later, off the request path.
 */
const pending = new Map<string, StatsDelta>();

/** An upstream's error body can be long; the start says what went wrong. */
const MAX_REASON = 500;

/**
 * A flush that keeps failing gives back what it took, for an hour of minutes: each minute's counts
 * are bounded (counts.ts), so an outage of the tenant's object keeps at most an hour of them in the
 * isolate, which other tenants share, whatever the traffic; older minutes are dropped.
 */
const KEPT_FOR_MS = 60 * MINUTE_MS;

function countsNow(tenant: string): Counts {
  let delta = pending.get(tenant);
  if (!delta) {
    delta = { minutes: {} };
    pending.set(tenant, delta);
  }
  const minute = String(minuteOf(Date.now()));
  let counts = delta.minutes[minute];
  if (!counts) {
    counts = emptyCounts();
    delta.minutes[minute] = counts;
  }
  return counts;
}

export function countSpans(tenant: string, counter: SpanCounter, spans: number): void {
  if (spans <= 0) return;
  const counts = countsNow(tenant);
  counts.spans[counter] = (counts.spans[counter] ?? 0) + spans;
}

/** Model calls a request's spans record, by model. */
export function countUsage(tenant: string, usage: Record<string, ModelUsageCounts>): void {
  const models = Object.entries(usage);
  if (models.length === 0) return;
  const counts = countsNow(tenant);
  counts.usage ??= {};
  for (const [model, calls] of models) addModelUsage(counts.usage, model, calls);
}

export function countRequest(tenant: string, status: number): void {
  const counts = countsNow(tenant);
  counts.requests[status] = (counts.requests[status] ?? 0) + 1;
}

/** One attempt to deliver to Braintrust; `error` when it was not a 2xx. */
export function countUpstreamAttempt(tenant: string, latencyMs: number, error?: Omit<UpstreamError, "at">): void {
  const counts = countsNow(tenant);
  counts.upstreamAttempts += 1;
  const bucket = latencyBucket(latencyMs);
  counts.latency[bucket] = (counts.latency[bucket] ?? 0) + 1;
  if (error) {
    counts.upstreamErrors += 1;
    pending.get(tenant)!.lastError = { status: error.status, reason: scrubCredentials(error.reason.slice(0, MAX_REASON)), at: Date.now() };
  }
}

export function hasPendingCounts(): boolean {
  return pending.size > 0;
}

/** Everything counted so far, handed over and forgotten here. */
export function takePendingCounts(): Map<string, StatsDelta> {
  const taken = new Map(pending);
  pending.clear();
  return taken;
}

/** A tenant's counts a flush could not deliver, back for the next one. */
export function restorePendingCounts(tenant: string, delta: StatsDelta): void {
  const oldest = minuteOf(Date.now()) - KEPT_FOR_MS;
  const kept: StatsDelta = { minutes: Object.fromEntries(Object.entries(delta.minutes).filter(([minute]) => Number(minute) > oldest)) };
  if (delta.lastError) kept.lastError = delta.lastError;
  const current = pending.get(tenant);
  pending.set(tenant, current ? addDelta(kept, current) : kept);
}
