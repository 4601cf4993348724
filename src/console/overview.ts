import type { Context } from "hono";
import { adminPath } from "../admin/api-path.js";
import { RelayError } from "../http/errors.js";
import { callAdmin } from "./admin-api.js";
import type { DeadLetterList, TenantList, TenantStats } from "./answers.js";
import type { ConsoleEnv } from "./console-env.js";
import { CHART_MINUTES } from "./minute-series.js";
import type { TenantRow } from "./tenants-page.js";

/**
 * Tenants a page: one KV list, then per tenant one call to its Durable Object and one R2 list, 49
 * in all, inside the Workers Free plan's 50 subrequests (docs/cloudflare-limits.md), as the admin
 * API's own statistics page is.
 */
const TENANTS_PER_PAGE = 24;

/** Dead letters counted per tenant: one R2 list; more shows as "1000+". */
const DEAD_LETTERS_COUNTED = 1000;

/**
 * A tenant's statistics; "deleted" when it was deleted while the page was being put together, and
 * undefined when its object did not answer (overloaded, reset by a deploy; the admin API logs why):
 * one tenant's trouble does not take every tenant's page down.
 */
async function statsOf(c: Context<ConsoleEnv>, tenantId: string): Promise<TenantStats | "deleted" | undefined> {
  try {
    return await callAdmin<TenantStats>(c, "GET", `${adminPath`/tenants/${tenantId}/stats`}?per_minute=${CHART_MINUTES}`);
  } catch (err) {
    return err instanceof RelayError && err.code === "not_found" ? "deleted" : undefined;
  }
}

export async function tenantRows(c: Context<ConsoleEnv>, cursor: string | undefined): Promise<{ rows: TenantRow[]; next: string | null }> {
  const query = new URLSearchParams({ limit: String(TENANTS_PER_PAGE), ...(cursor ? { cursor } : {}) });
  const page = await callAdmin<TenantList>(c, "GET", `/tenants?${query}`);
  const rows = await Promise.all(
    page.tenants.map(async (tenant): Promise<TenantRow | undefined> => {
      const [stats, deadLetters] = await Promise.all([
        statsOf(c, tenant.id),
        callAdmin<DeadLetterList>(
          c,
          "GET",
          `/dead-letters?${new URLSearchParams({ tenant: tenant.id, limit: String(DEAD_LETTERS_COUNTED) })}`,
        ),
      ]);
      if (stats === "deleted") return undefined;
      return { tenant, stats, deadLetters: { count: deadLetters.dead_letters.length, more: deadLetters.cursor !== null } };
    }),
  );
  return { rows: rows.filter((row) => row !== undefined), next: page.cursor };
}
