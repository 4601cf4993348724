import { Hono } from "hono";
import { singleValuedQuery } from "../admin/query.js";
import { RelayError } from "../http/errors.js";
import { STATS_WINDOWS, type StatsWindow } from "../stats/columns.js";
import { callAdmin } from "./admin-api.js";
import type { TenantStats } from "./answers.js";
import { type ConsoleEnv, sessionOf } from "./console-env.js";
import { renderPage } from "./layout.js";
import { otherConsoleMethods } from "./other-methods.js";
import { StatsPage } from "./stats-page.js";

/** `/admin/console/stats`: every tenant's statistics over a window, from the admin API's `/admin/stats`. */
export const statsRoutes = new Hono<ConsoleEnv>();

/** The most the admin API lists a page (one call to each tenant's object). */
const TENANTS_PER_PAGE = 49;

function windowOf(text: string | undefined): StatsWindow {
  const window = text ?? "1h";
  if (!Object.hasOwn(STATS_WINDOWS, window)) {
    throw new RelayError("invalid_field", `window: one of ${Object.keys(STATS_WINDOWS).join(", ")}`, { field: "window" });
  }
  return window as StatsWindow;
}

statsRoutes.get("/", async (c) => {
  const { window: windowName, cursor } = singleValuedQuery(c, ["window", "cursor"]);
  const window = windowOf(windowName);
  const search = new URLSearchParams({ limit: String(TENANTS_PER_PAGE), ...(cursor ? { cursor } : {}) });
  const page = await callAdmin<{ tenants: TenantStats[]; cursor: string | null }>(c, "GET", `/stats?${search}`);
  return renderPage(
    c,
    <StatsPage session={sessionOf(c)} window={window} tenants={page.tenants} later={cursor !== undefined} next={page.cursor} />,
  );
});

statsRoutes.all("/", otherConsoleMethods("GET, HEAD"));
