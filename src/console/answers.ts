import type { tenantView } from "../admin/views.js";
import type { DeadLetter } from "../deliver/dead-letters.js";
import type { WaitingTotals } from "../deliver/trace-wait-store.js";
import type { TenantStatsReport } from "../stats/store.js";
import type { TenantSummary } from "../tenants/store.js";

/** What the admin API answers, as its routes build it: the console reads nothing else. */
export type TenantView = ReturnType<typeof tenantView>;
export type TenantStats = { tenant: string } & TenantStatsReport;
/** `GET /admin/tenants/:tenant/waiting-traces`. */
export type WaitingTraces = { tenant: string } & WaitingTotals;
export interface TenantList {
  tenants: TenantSummary[];
  cursor: string | null;
}
export interface DeadLetterList {
  dead_letters: DeadLetter[];
  cursor: string | null;
}
export interface ReplayAnswer {
  replayed: string[];
  orphaned: string[];
  replaying: string[];
  /** Of tenants whose Durable Object did not answer, left as they were. */
  unavailable: string[];
  cursor: string | null;
}
export interface IssuedToken {
  id: string;
  token: string;
  created_at: string;
}
