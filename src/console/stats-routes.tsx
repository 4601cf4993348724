import { Hono } from "hono";
import { singleValuedQuery } from "../admin/query.js";
import { RelayError } from "../http/errors.js";
import { STATS_WINDOWS, type StatsWindow } from "../stats/columns.js";
import { callAdmin } from "./admin-api.js";
import type { StatsList } from "./answers.js";
import { type ConsoleEnv, sessionOf } from "./console-env.js";
import { renderPage } from "./layout.js";
import { otherConsoleMethods } from "./other-methods.js";
import { StatsPage } from "./stats-page.js";

/** `/admin/console/stats`: every tenant's statistics over a window, from the admin API's `/admin/stats`. */
export const statsRoutes = new Hono<ConsoleEnv>();

/**
 * One fewer than the most the admin API lists a page (a call to each tenant's object, and one KV
 * list, inside the Free plan's 50 subrequests): the console's session check reads KV too.
 */
const TENANTS_PER_PAGE = 48;

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
  const page = await callAdmin<StatsList>(c, "GET", `/stats?${search}`);
  return renderPage(
    c,
    <StatsPage
      session={sessionOf(c)}
      window={window}
      tenants={page.tenants}
      unavailable={page.unavailable}
      later={cursor !== undefined}
      next={page.cursor}
    />,
  );
});

statsRoutes.all("/", otherConsoleMethods("GET, HEAD"));
