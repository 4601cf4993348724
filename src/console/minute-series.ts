import { requestsRefused, spansRejected, type TrafficSummary } from "../stats/summary.js";
import type { TenantStatsReport } from "./answers.js";

const MINUTE_MS = 60_000;
/** The charts show the last hour, a bar a minute, the current minute last. */
export const CHART_MINUTES = 60;

/** One number per minute of the last hour, oldest first; 0 for a minute that counted nothing (the report leaves those out). */
export function lastHour(report: TenantStatsReport, value: (summary: TrafficSummary) => number): number[] {
  const now = Date.parse(report.as_of);
  const current = now - (now % MINUTE_MS);
  const byMinute = new Map((report.per_minute ?? []).map((m) => [Date.parse(m.minute), value(m)]));
  return Array.from({ length: CHART_MINUTES }, (_, i) => byMinute.get(current - (CHART_MINUTES - 1 - i) * MINUTE_MS) ?? 0);
}

export const spansReceived = (s: TrafficSummary) => s.spans.received;
export const spansDelivered = (s: TrafficSummary) => s.spans.delivered;

/** What went wrong in a minute: requests refused before their spans were read, spans refused one by one, and failed attempts upstream. */
export function errors(s: TrafficSummary): number {
  return requestsRefused(s) + spansRejected(s.spans) + s.upstream.errors;
}
