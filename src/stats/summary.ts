import type { Counts, ModelUsageCounts } from "./counts.js";
import { latencyQuantile } from "./latency.js";

/** A minute's counts as `per_minute` lists them: the traffic, without usage by model. */
export interface TrafficSummary {
  requests: Record<string, number>;
  /** Requests refused before their spans were read, by why (from their status). */
  rejected_requests: {
    invalid: number;
    over_limit: number;
    unauthorised: number;
    rate_limited: number;
    unavailable: number;
    misconfigured: number;
    failed: number;
  };
  spans: {
    received: number;
    accepted: number;
    rejected: { invalid: number; refused_upstream: number; by_braintrust: number };
    delivered: number;
    retried: number;
    dead_lettered: number;
    queued: number;
    left_queue: number;
  };
  upstream: { attempts: number; errors: number; latency_ms: { p50: number | null; p99: number | null } };
}

/** Counts over a window as the admin API shows them. */
export interface StatsSummary extends TrafficSummary {
  /** Model calls in the spans the relay translated, by the model Braintrust prices by: the gateway's own token counts and cost. */
  llm_usage: Record<string, ModelUsageCounts>;
}

/** Which statuses count as which refusal: see the README's table of ingest answers. */
const REJECTION_OF_STATUS: Record<string, keyof StatsSummary["rejected_requests"]> = {
  "400": "invalid",
  "415": "invalid",
  "413": "over_limit",
  "401": "unauthorised",
  "403": "unauthorised",
  "429": "rate_limited",
  "503": "unavailable",
  "500": "failed",
};

/** Requests refused before their spans were read, whatever the status: the console's health and errors chart alike. */
export function requestsRefused({ rejected_requests }: Pick<TrafficSummary, "rejected_requests">): number {
  return Object.values(rejected_requests).reduce((sum, n) => sum + n, 0);
}

/** Spans refused every way (invalid, by Braintrust for good, or in its 2xx's partial success): the REJECTED column and the errors chart alike. */
export function spansRejected({ rejected }: Pick<TrafficSummary["spans"], "rejected">): number {
  return rejected.invalid + rejected.refused_upstream + rejected.by_braintrust;
}

export function summarise(counts: Counts): StatsSummary {
  return { ...summariseTraffic(counts), llm_usage: counts.usage ?? {} };
}

/** The traffic of `counts`, leaving out any usage by model. */
export function summariseTraffic(counts: Counts): TrafficSummary {
  const rejected: StatsSummary["rejected_requests"] = {
    invalid: 0,
    over_limit: 0,
    unauthorised: 0,
    rate_limited: 0,
    unavailable: 0,
    misconfigured: 0,
    failed: 0,
  };
  for (const [status, n] of Object.entries(counts.requests)) {
    const reason = REJECTION_OF_STATUS[status];
    if (reason) rejected[reason] += n;
  }
  // Counted among the 503s too: a misconfiguration is the operator's to fix, an outage is not.
  rejected.misconfigured = counts.misconfigured ?? 0;
  rejected.unavailable -= rejected.misconfigured;
  const spans = (counter: keyof Counts["spans"]) => counts.spans[counter] ?? 0;
  return {
    requests: counts.requests,
    rejected_requests: rejected,
    spans: {
      received: spans("received"),
      accepted: spans("accepted"),
      rejected: {
        invalid: spans("rejected_invalid"),
        refused_upstream: spans("refused_upstream"),
        by_braintrust: spans("rejected_by_braintrust"),
      },
      delivered: spans("delivered"),
      retried: spans("retried"),
      dead_lettered: spans("dead_lettered"),
      queued: spans("queued"),
      left_queue: spans("left_queue"),
    },
    upstream: {
      attempts: counts.upstreamAttempts,
      errors: counts.upstreamErrors,
      latency_ms: { p50: latencyQuantile(counts.latency, 0.5), p99: latencyQuantile(counts.latency, 0.99) },
    },
  };
}
