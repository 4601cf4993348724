import { addModelUsage, type ModelUsageCounts, OTHER_MODELS } from "../stats/counts.js";
import type { TenantStatsReport } from "../stats/store.js";
import type { StatsSummary } from "../stats/summary.js";
import type { Redact } from "../tenants/processing-schema.js";
import { maskedText } from "./mask-values.js";
import { type CompiledRedaction, compileRedaction } from "./redact.js";

/**
 * The report with its usage by model named as the tenant's value rules mask a name now. Calls are
 * counted under the masked name already (process-spans.ts), but those counted before a rule was added
 * keep the name they were counted under, in the day's rows and in the totals; here they join the
 * masked name's sums. Every name is masked again, as kept spans are (mask-again.ts), so a replacement
 * its own pattern matches shows masked twice.
 */
export function reportMaskedBy(report: TenantStatsReport, redact: Redact): TenantStatsReport {
  const rules = compileRedaction(redact);
  if (!rules || rules.values.length === 0) return report;
  const masked = (summary: StatsSummary): StatsSummary => ({ ...summary, llm_usage: usageMaskedBy(summary.llm_usage, rules) });
  return {
    ...report,
    total: masked(report.total),
    last_5m: masked(report.last_5m),
    last_1h: masked(report.last_1h),
    last_24h: masked(report.last_24h),
  };
}

function usageMaskedBy(usage: Record<string, ModelUsageCounts>, rules: CompiledRedaction): Record<string, ModelUsageCounts> {
  const masked: Record<string, ModelUsageCounts> = {};
  for (const [model, counts] of Object.entries(usage)) {
    addModelUsage(masked, model === OTHER_MODELS ? model : maskedText(model, rules), counts);
  }
  return masked;
}
