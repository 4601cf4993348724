import type { DeadLetterList, ReplayAnswer } from "../admin/dead-letters-routes.js";
import type { StatsList, TenantStats, WaitingTraces } from "../admin/stats-routes.js";
import type { TenantList } from "../admin/tenant-list.js";
import type { IssuedToken } from "../admin/tokens-routes.js";
import type { tenantView } from "../admin/views.js";

/** What the admin API answers, as its routes declare it: the console reads nothing else. */
export type { DeadLetterList, IssuedToken, ReplayAnswer, StatsList, TenantList, TenantStats, WaitingTraces };
export type TenantView = ReturnType<typeof tenantView>;
