import { textStart } from "../encoding/bytes.js";
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
 * Whose counts: a tenant, and its incarnation (tenants/schema.ts) the counted requests and spans
 * were for, none for a tenant recorded before incarnations. A queue message or a waiting piece
 * names its own.
 */
interface TenantIncarnation {
  tenant: string;
  incarnation?: string | undefined;
}

/** One incarnation's counts waiting for a flush, and the tenant whose Durable Object takes them. */
interface PendingCounts {
  tenant: string;
  delta: StatsDelta;
}

/**
 * Counts gathered in this isolate since its last flush, by tenant and incarnation: a tenant deleted
 * and created again under its id before the flush is another incarnation, whose counts never add up
 * with its predecessor's. Counting is a few map updates and never awaits, so it costs a request
 * nothing it would notice; flush.ts takes them to each tenant's Durable Object later, off the
 * request path.
 */
const pending = new Map<string, PendingCounts>();

/** The key of one incarnation's counts; an array, so no id can pass for another's. */
function keyOf(tenant: string, incarnation: string | undefined): string {
  return JSON.stringify([tenant, incarnation ?? null]);
}

/** An upstream's error body can be long; the start says what went wrong. */
const MAX_REASON = 500;

/**
 * A flush that keeps failing gives back what it took, for an hour of minutes: each minute's counts
 * are bounded (counts.ts), so an outage of the tenant's object keeps at most an hour of them in the
 * isolate, which other tenants share, whatever the traffic; older minutes are dropped.
 */
const KEPT_FOR_MS = 60 * MINUTE_MS;

function deltaOf({ tenant, incarnation }: TenantIncarnation): StatsDelta {
  const key = keyOf(tenant, incarnation);
  let counted = pending.get(key);
  if (!counted) {
    counted = { tenant, delta: { incarnation, minutes: {} } };
    pending.set(key, counted);
  }
  return counted.delta;
}

/** The delta's counts of the current minute. */
function countsNow(delta: StatsDelta): Counts {
  const minute = String(minuteOf(Date.now()));
  let counts = delta.minutes[minute];
  if (!counts) {
    counts = emptyCounts();
    delta.minutes[minute] = counts;
  }
  return counts;
}

export function countSpans(of: TenantIncarnation, counter: SpanCounter, spans: number): void {
  if (spans <= 0) return;
  const delta = deltaOf(of);
  const counts = countsNow(delta);
  counts.spans[counter] = (counts.spans[counter] ?? 0) + spans;
  if (counter !== "delivered") return;
  const now = Date.now();
  delta.lastDeliveredAt = now;
  // An error a flush has taken is told again with what was delivered after it in its minute (laterError adds them up).
  const flushed = delta.lastError ? undefined : flushedErrors.get(keyOf(of.tenant, of.incarnation));
  if (flushed && minuteOf(flushed.at) === minuteOf(now)) delta.lastError = { ...flushed };
  const error = delta.lastError;
  if (error && minuteOf(error.at) === minuteOf(now)) error.deliveredInItsMinute = (error.deliveredInItsMinute ?? 0) + spans;
}

/** Model calls a request's spans record, by model. */
export function countUsage(of: TenantIncarnation, usage: Record<string, ModelUsageCounts>): void {
  const models = Object.entries(usage);
  if (models.length === 0) return;
  const counts = countsNow(deltaOf(of));
  counts.usage ??= {};
  for (const [model, calls] of models) addModelUsage(counts.usage, model, calls);
}

/** One ingest request answered with `status`; `misconfigured` when the relay refused it for its own configuration. */
export function countRequest(of: TenantIncarnation, status: number, misconfigured: boolean): void {
  const counts = countsNow(deltaOf(of));
  counts.requests[status] = (counts.requests[status] ?? 0) + 1;
  if (misconfigured) counts.misconfigured = (counts.misconfigured ?? 0) + 1;
}

/** One attempt to deliver to Braintrust; `error` when it was not a 2xx. */
export function countUpstreamAttempt(of: TenantIncarnation, latencyMs: number, error?: Omit<UpstreamError, "at">): void {
  const delta = deltaOf(of);
  const counts = countsNow(delta);
  counts.upstreamAttempts += 1;
  const bucket = latencyBucket(latencyMs);
  counts.latency[bucket] = (counts.latency[bucket] ?? 0) + 1;
  if (error) {
    counts.upstreamErrors += 1;
    delta.lastError = { status: error.status, reason: scrubCredentials(textStart(error.reason, MAX_REASON)), at: Date.now() };
  }
}

export function hasPendingCounts(): boolean {
  return pending.size > 0;
}

/**
 * The last upstream error of each incarnation a flush took, for the rest of its minute: the spans
 * delivered after it then go with it to the tenant's object all the same (spans_delivered_since).
 * Only errors of the current minute are kept, one an incarnation.
 */
const flushedErrors = new Map<string, UpstreamError>();

/** Everything counted so far, one entry per tenant and incarnation, handed over and forgotten here. */
export function takePendingCounts(): PendingCounts[] {
  const taken = [...pending.values()];
  pending.clear();
  const minute = minuteOf(Date.now());
  for (const [key, error] of flushedErrors) if (minuteOf(error.at) !== minute) flushedErrors.delete(key);
  for (const { tenant, delta } of taken) {
    const error = delta.lastError;
    if (error && minuteOf(error.at) === minute)
      flushedErrors.set(keyOf(tenant, delta.incarnation), { at: error.at, status: error.status, reason: error.reason });
  }
  return taken;
}

/** An incarnation's counts a flush could not deliver, back for the next one. */
export function restorePendingCounts({ tenant, delta }: PendingCounts): void {
  const oldest = minuteOf(Date.now()) - KEPT_FOR_MS;
  const kept: StatsDelta = {
    incarnation: delta.incarnation,
    minutes: Object.fromEntries(Object.entries(delta.minutes).filter(([minute]) => Number(minute) > oldest)),
  };
  if (delta.lastError) kept.lastError = delta.lastError;
  if (delta.lastDeliveredAt !== undefined) kept.lastDeliveredAt = delta.lastDeliveredAt;
  const key = keyOf(tenant, delta.incarnation);
  const current = pending.get(key);
  pending.set(key, { tenant, delta: current ? addDelta(kept, current.delta) : kept });
}
