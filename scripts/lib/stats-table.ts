import { table } from "./table.js";

/** The part of a tenant's statistics the tables show (src/stats/summary.ts has all of it). */
interface StatsSummary {
  requests: Record<string, number>;
  spans: {
    received: number;
    accepted: number;
    rejected: { invalid: number; refused_upstream: number };
    delivered: number;
    retried: number;
    dead_lettered: number;
  };
  upstream: { attempts: number; errors: number; latency_ms: { p50: number | null; p99: number | null } };
  llm_usage: Record<string, { calls: number; prompt_tokens: number; completion_tokens: number; cost_usd: number }>;
}
export const STATS_WINDOWS = { "5m": "last_5m", "1h": "last_1h", "24h": "last_24h", total: "total" } as const;
export type StatsWindow = keyof typeof STATS_WINDOWS;
export type TenantStats = {
  tenant: string;
  waiting_in_queue: number;
  last_upstream_error: { at: string; status: number | null; reason: string } | null;
} & Record<(typeof STATS_WINDOWS)[StatsWindow], StatsSummary>;

export const STATS_COLUMNS = ["REQUESTS", "RECEIVED", "ACCEPTED", "REJECTED", "DELIVERED", "RETRIED", "DEAD-LETTERED", "P50 MS", "P99 MS"];

export function statsColumns(summary: StatsSummary): Array<string | number> {
  const { spans, upstream } = summary;
  return [
    Object.values(summary.requests).reduce((sum, n) => sum + n, 0),
    spans.received,
    spans.accepted,
    spans.rejected.invalid + spans.rejected.refused_upstream,
    spans.delivered,
    spans.retried,
    spans.dead_lettered,
    upstream.latency_ms.p50 ?? "-",
    upstream.latency_ms.p99 ?? "-",
  ];
}

export function lastErrorText(error: TenantStats["last_upstream_error"]): string {
  return error ? `${error.at} ${error.status ?? "no answer"}: ${error.reason.slice(0, 80)}` : "none";
}

/** One tenant's statistics for people: a row per window, then what a row cannot show. */
export function tenantStatsOutput(stats: TenantStats): string {
  const windows = Object.entries(STATS_WINDOWS).map(([name, field]) => [name, ...statsColumns(stats[field])]);
  const byStatus = Object.entries(stats.total.requests).map(([status, n]) => `${status}: ${n}`);
  const usage = Object.entries(stats.last_24h.llm_usage).map(([model, u]) => [
    model,
    u.calls,
    u.prompt_tokens,
    u.completion_tokens,
    u.cost_usd.toFixed(6),
  ]);
  return [
    table(["WINDOW", ...STATS_COLUMNS], windows),
    "",
    `requests by status (total)  ${byStatus.join(", ") || "none"}`,
    `spans waiting in the queue  ${stats.waiting_in_queue}`,
    `last upstream error         ${lastErrorText(stats.last_upstream_error)}`,
    "",
    usage.length > 0
      ? table(["MODEL (24H)", "CALLS", "PROMPT TOKENS", "COMPLETION TOKENS", "COST USD"], usage)
      : "LLM usage (24h)             none counted (only translated spans are read for it)",
  ].join("\n");
}
