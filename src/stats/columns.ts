import { MAX_QUEUE_DELAY_SECONDS } from "../cloudflare/limits.js";
import type { ModelUsageCounts } from "./counts.js";
import { type StatsSummary, spansRejected } from "./summary.js";

/** The windows a report sums, by the names the CLI and the console give them. */
export const STATS_WINDOWS = { "5m": "last_5m", "1h": "last_1h", "24h": "last_24h", total: "total" } as const;
export type StatsWindow = keyof typeof STATS_WINDOWS;

/** The columns a summary shows as one row, in the CLI's tables and the console's alike. */
export const STATS_COLUMNS = ["REQUESTS", "RECEIVED", "ACCEPTED", "REJECTED", "DELIVERED", "RETRIED", "DEAD-LETTERED", "P50 MS", "P99 MS"];

/** The part of a summary the columns read. */
export type SummaryColumnsInput = Pick<StatsSummary, "requests"> & {
  spans: Pick<StatsSummary["spans"], "received" | "accepted" | "rejected" | "delivered" | "retried" | "dead_lettered">;
  upstream: Pick<StatsSummary["upstream"], "latency_ms">;
};

export function statsColumns(summary: SummaryColumnsInput): Array<string | number> {
  const { spans, upstream } = summary;
  return [
    Object.values(summary.requests).reduce((sum, n) => sum + n, 0),
    spans.received,
    spans.accepted,
    spansRejected(spans),
    spans.delivered,
    spans.retried,
    spans.dead_lettered,
    upstream.latency_ms.p50 ?? "-",
    upstream.latency_ms.p99 ?? "-",
  ];
}

/**
 * What `upstreamErrorPassed` and `failingStill` read of a tenant's report: the CLI's reading of an
 * answer may lack either count (a relay from before `spans_delivered_since`), and then says nothing of it.
 */
export interface LastUpstreamErrorInput {
  as_of: string;
  waiting_in_queue: number;
  last_upstream_error: { at: string; spans_delivered_since?: number } | null;
  last_delivered_at?: string | null;
  last_1h: { upstream: Partial<Pick<StatsSummary["upstream"], "errors">> };
}

/**
 * Why the tenant's last upstream error is behind it, when it is: none in the last hour (while no
 * retry of it still waits), or spans delivered since (spans_delivered_since, or a delivery after
 * it, which another isolate may have made in the error's own minute). Undefined while it may still
 * be going on. The console shows it muted then, and the CLI says why beside it.
 */
export function upstreamErrorPassed(stats: LastUpstreamErrorInput): string | undefined {
  if (!stats.last_upstream_error) return undefined;
  if (stats.last_1h.upstream.errors === 0 && !failingStill(stats)) return "none in the last hour";
  return deliveredSinceError(stats) ? "spans delivered since" : undefined;
}

/**
 * Whether the tenant's last upstream error may still be going on however long ago it was: spans
 * wait in the queue, none was delivered after it, and it is no older than a retry may wait (the
 * queue's longest delay, 12 h, which holds Braintrust's Retry-After and RETRY_MAX_DELAY_SECONDS):
 * backoff can put an outage's attempts hours apart.
 */
export function failingStill(stats: LastUpstreamErrorInput): boolean {
  const error = stats.last_upstream_error;
  if (!error || stats.waiting_in_queue === 0 || deliveredSinceError(stats)) return false;
  return Date.parse(stats.as_of) - Date.parse(error.at) <= MAX_QUEUE_DELAY_SECONDS * 1000;
}

/** Whether spans were delivered after the tenant's last upstream error: counted since it, or delivered after its time. */
export function deliveredSinceError({ last_upstream_error: error, last_delivered_at }: LastUpstreamErrorInput): boolean {
  if (!error) return false;
  const deliveredAfter = typeof last_delivered_at === "string" && Date.parse(last_delivered_at) > Date.parse(error.at);
  return (error.spans_delivered_since ?? 0) > 0 || deliveredAfter;
}

/**
 * A model's cost in dollars as the CLI's tables and the console show it below a dollar: six places,
 * where one call's cost lies, chosen once rounded, so a cost too small for them is still some.
 */
export function costText(usd: number): string {
  const places = usd.toFixed(6);
  return usd > 0 && Number(places) === 0 ? "<0.000001" : places;
}

/**
 * Whether the gateway gave none of a model's calls a cost though they had tokens to price: TrueFoundry's
 * 0 for a model it has no price for, which translation leaves for Braintrust to price by the model's
 * name. Shown as `UNPRICED`, not as calls that cost nothing, so a total without them does not read as
 * whole. Calls without tokens (a provider's refusal) cost nothing, there as here.
 */
export function isUnpriced({
  calls,
  cost_usd,
  prompt_tokens,
  completion_tokens,
}: Pick<ModelUsageCounts, "calls" | "cost_usd" | "prompt_tokens" | "completion_tokens">): boolean {
  return calls > 0 && cost_usd === 0 && prompt_tokens + completion_tokens > 0;
}

export const UNPRICED = "unpriced";

/**
 * How many of a model's calls the gateway gave no cost for: some only, when it priced the model under
 * one account and not another. Counts made before they were counted tell them only when none was priced.
 */
export function unpricedCalls(
  usage: Pick<ModelUsageCounts, "calls" | "cost_usd" | "prompt_tokens" | "completion_tokens" | "unpriced_calls">,
): number {
  // Counts made before calls without tokens stopped counting as unpriced may still hold them.
  if (usage.prompt_tokens + usage.completion_tokens === 0) return 0;
  return usage.unpriced_calls ?? (isUnpriced(usage) ? usage.calls : 0);
}
