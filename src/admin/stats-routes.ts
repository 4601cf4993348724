import { Hono } from "hono";
import { z } from "zod";
import { waitingTraces } from "../deliver/trace-route-shards.js";
import type { WaitingTotals } from "../deliver/trace-wait-store.js";
import type { AppEnv } from "../http/app-env.js";
import { reportMaskedBy } from "../process/mask-usage.js";
import { KEPT_MINUTES, type TenantStatsReport } from "../stats/store.js";
import { tenantObject } from "../tenants/authoritative.js";
import type { Redact } from "../tenants/processing-schema.js";
import { routesTraces } from "../tenants/routing.js";
import { eachTenantOnItsOwn } from "./each-tenant.js";
import { otherMethods } from "./other-methods.js";
import { NO_QUERY, pageQuery, parseQuery, positiveQueryInteger } from "./query.js";
import { tenantPage } from "./tenant-list.js";
import { existingTenant, noSuchTenant, tenantIdParam } from "./tenant-path.js";

/** `/admin/tenants/:tenant/stats` and `/admin/stats`: how each tenant's traffic is doing, from its Durable Object. */
export const statsRoutes = new Hono<AppEnv>();

/** `GET /admin/tenants/:tenant/stats`, and each tenant of `GET /admin/stats`. */
export type TenantStats = { tenant: string } & TenantStatsReport;
/** `GET /admin/stats`: a page of tenants, those whose object did not answer named apart. */
export interface StatsList {
  tenants: TenantStats[];
  unavailable: string[];
  cursor: string | null;
}
/**
 * `GET /admin/tenants/:tenant/waiting-traces`; `routes_traces`: whether the tenant holds traces back at
 * all, which a count of 0 does not tell from one whose traces were all decided.
 */
export type WaitingTraces = { tenant: string } & WaitingTotals & { routes_traces: boolean };

/**
 * One Durable Object call per tenant listed, and one KV list: 49 tenants a page keeps a call within
 * the Workers Free plan's 50 subrequests (docs/cloudflare-limits.md).
 */
const MAX_TENANTS_PER_PAGE = 49;

const ListQuerySchema = pageQuery(MAX_TENANTS_PER_PAGE, MAX_TENANTS_PER_PAGE);

/** `per_minute`: how many of the last minutes to list a minute at a time; the console's charts want an hour, not a day. */
const TenantQuerySchema = z.object({
  per_minute: positiveQueryInteger(KEPT_MINUTES).default(KEPT_MINUTES),
});

/**
 * The object's report with its model names masked by the rules it sent beside it; as counted from an
 * object of an older relay, mid-deploy, which sends none.
 */
function statsShown({ redact, ...report }: TenantStatsReport & { redact?: Redact }): TenantStatsReport {
  return redact ? reportMaskedBy(report, redact) : report;
}

statsRoutes.get("/tenants/:tenant/stats", async (c) => {
  const id = tenantIdParam(c);
  const query = parseQuery(c, TenantQuerySchema);
  const answer = await tenantObject(c.env, id).statsReport(id, query.per_minute);
  if (!answer) throw noSuchTenant(id);
  return c.json({ tenant: id, ...statsShown(answer) } satisfies TenantStats);
});

/** Spans of the tenant's traces waiting for their parent to be decided (README, "Routing by trace"). */
statsRoutes.get("/tenants/:tenant/waiting-traces", async (c) => {
  parseQuery(c, NO_QUERY);
  const tenant = await existingTenant(c);
  const waiting = await waitingTraces(c.env, tenant);
  // Judged here, by the relay's clock against its routed_until, not by a client's, which may be off;
  // traces that still wait say it holds them back, whatever the record says now.
  const routes = routesTraces(tenant) || waiting.traces > 0;
  return c.json({ tenant: tenant.id, ...waiting, routes_traces: routes } satisfies WaitingTraces);
});

statsRoutes.get("/stats", async (c) => {
  const query = parseQuery(c, ListQuerySchema);
  const page = await tenantPage(c, query.cursor, query.limit);
  // One whose object did not answer is named under `unavailable`, and the others' are shown; a tenant
  // deleted between the list and its object's answer is left out.
  const reports = await eachTenantOnItsOwn(
    page.tenants.map(({ id }) => id),
    async (id) => {
      const answer = await tenantObject(c.env, id).statsReport(id, 0);
      return answer && statsShown(answer);
    },
    "stats_read_failed",
  );
  const tenants = reports.answered.flatMap(({ tenant, answer }): TenantStats[] => (answer ? [{ tenant, ...answer }] : []));
  const unavailable = reports.failed;
  return c.json({ tenants, unavailable, cursor: page.cursor } satisfies StatsList);
});

statsRoutes.all("/tenants/:tenant/stats", otherMethods("GET, HEAD"));
statsRoutes.all("/tenants/:tenant/waiting-traces", otherMethods("GET, HEAD"));
statsRoutes.all("/stats", otherMethods("GET, HEAD"));
