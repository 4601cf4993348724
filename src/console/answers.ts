import type { DeadLetterList, ReplayAnswer } from "../admin/dead-letters-routes.js";
import type { StatsList, TenantStats, WaitingTraces } from "../admin/stats-routes.js";
import type { TenantList } from "../admin/tenant-list.js";
import type { IssuedToken } from "../admin/tokens-routes.js";
import type { tenantView } from "../admin/views.js";
import type { DeadLetter } from "../deliver/dead-letters.js";
import type { TenantStatsReport } from "../stats/store.js";
import type { StatsSummary } from "../stats/summary.js";
import type { TenantSummary } from "../tenants/store.js";

/** What the admin API answers, as its routes declare it, and the parts of it a page takes: the console reads nothing else. */
export type {
  DeadLetter,
  DeadLetterList,
  IssuedToken,
  ReplayAnswer,
  StatsList,
  StatsSummary,
  TenantList,
  TenantStats,
  TenantStatsReport,
  TenantSummary,
  WaitingTraces,
};
export type TenantView = ReturnType<typeof tenantView>;
