import {
  costText,
  isUnpriced,
  STATS_COLUMNS,
  STATS_WINDOWS,
  type StatsWindow,
  type SummaryColumnsInput,
  statsColumns,
  UNPRICED,
  unpricedCalls,
  upstreamErrorPassed,
} from "../../src/stats/columns.js";
import type { StatsSummary } from "../../src/stats/summary.js";
import { oneLine, shownText, table } from "./table.js";

export type TenantStats = {
  tenant: string;
  as_of: string;
  waiting_in_queue: number;
  last_delivered_at?: string | null;
  last_upstream_error: { at: string; status: number | null; reason: string; spans_delivered_since?: number } | null;
} & Record<
  (typeof STATS_WINDOWS)[StatsWindow],
  SummaryColumnsInput & Pick<StatsSummary, "llm_usage"> & { upstream: Partial<Pick<StatsSummary["upstream"], "errors">> }
>;

export { STATS_COLUMNS, STATS_WINDOWS, type StatsWindow, statsColumns };

export function lastErrorText(stats: TenantStats): string {
  const error = stats.last_upstream_error;
  if (!error) return "none";
  // One the tenant's deliveries got past says so, as the console shows it muted: not failing still.
  const passed = upstreamErrorPassed(stats);
  return `${error.at} ${passed ? `(${passed}) ` : ""}${error.status ?? "no answer"}: ${oneLine(error.reason)}`;
}

/** One tenant's statistics for people: a row per window (or only `window`'s), then what a row cannot show. */
export function tenantStatsOutput(stats: TenantStats, window?: StatsWindow): string {
  const windows = Object.entries(STATS_WINDOWS)
    .filter(([name]) => window === undefined || name === window)
    .map(([name, field]) => [name, ...statsColumns(stats[field])]);
  // The window named, else all the tenant's requests so far.
  const statusWindow = window ?? "total";
  const byStatus = Object.entries(stats[STATS_WINDOWS[statusWindow]].requests).map(([status, n]) => `${status}: ${n}`);
  const usage = Object.entries(stats.last_24h.llm_usage).map(([model, u]) => [
    shownText(model),
    u.calls,
    u.prompt_tokens,
    u.completion_tokens,
    isUnpriced(u) ? UNPRICED : unpricedCalls(u) > 0 ? `${costText(u.cost_usd)} + ${unpricedCalls(u)} ${UNPRICED}` : costText(u.cost_usd),
  ]);
  return [
    table(["WINDOW", ...STATS_COLUMNS], windows),
    "",
    labelled(`requests by status (${statusWindow})`, byStatus.join(", ") || "none"),
    labelled("spans waiting in the queue", String(stats.waiting_in_queue)),
    // Told by a relay from before it was kept, which says nothing of it.
    ...(stats.last_delivered_at === undefined ? [] : [labelled("last delivery", stats.last_delivered_at ?? "none")]),
    labelled("last upstream error", lastErrorText(stats)),
    "",
    usage.length > 0
      ? table(["MODEL (24H)", "CALLS", "PROMPT TOKENS", "COMPLETION TOKENS", "COST USD"], usage)
      : labelled("LLM usage (24h)", "none: no model call's span arrived (only a translating tenant's are counted)"),
  ].join("\n");
}

/** A line of a tenant's statistics below its table: the label, then the value, values aligned. */
function labelled(label: string, value: string): string {
  return `${label.padEnd(28)}${value}`;
}
