import { type Context, Hono } from "hono";
import { adminPath } from "../admin/api-path.js";
import { singleValuedQuery } from "../admin/query.js";
import { adminTokenMasked, withAdminTokenMasked } from "../admin/require-admin.js";
import { RelayError } from "../http/errors.js";
import { TENANT_ID } from "../tenants/schema.js";
import { callAdmin } from "./admin-api.js";
import type { DeadLetterList, ReplayAnswer } from "./answers.js";
import { type ConsoleEnv, sessionOf } from "./console-env.js";
import { DeadLettersPage } from "./dead-letters-page.js";
import { formOf } from "./form.js";
import { checkChange } from "./guard.js";
import { renderPage } from "./layout.js";
import { signedForSession, signedNoticeOnly } from "./notice-signature.js";
import { donePath, NOTICE_PARAMETERS, noticeOf, replayedPath } from "./notices.js";
import { formPageOf, otherConsoleMethods } from "./other-methods.js";
import { CONSOLE_PATHS } from "./paths.js";

/** The dead letters page and the replay and delete actions, wherever their forms are. */
export const deadLetterRoutes = new Hono<ConsoleEnv>();

/** As many as the admin API lists in one call. */
const PAGE = 1000;

/**
 * Back to the page the form was on: a tenant's page, or the dead letters page as it was filtered
 * and paged; only ever a console page.
 */
async function returnPath(c: Context<ConsoleEnv>): Promise<string> {
  const { return_to: tenant, return_list: list } = await formOf(c);
  if (typeof tenant === "string" && TENANT_ID.test(tenant)) return CONSOLE_PATHS.tenant(tenant);
  if (typeof list === "string" && isDeadLettersList(list)) return list;
  return CONSOLE_PATHS.deadLetters;
}

/** The dead letters page with a query of URL characters only (the page refuses parameters it does not read). */
function isDeadLettersList(path: string): boolean {
  return path === CONSOLE_PATHS.deadLetters || (path.startsWith(`${CONSOLE_PATHS.deadLetters}?`) && /^[\x21-\x7e]+$/.test(path));
}

deadLetterRoutes.get("/", async (c) => {
  const query = singleValuedQuery(c, ["tenant", "cursor", ...NOTICE_PARAMETERS]);
  const { tenant, cursor } = query;
  // The filter is written into the page and its links: the admin token never is, not even where an operator typed it, and is no tenant's.
  if (tenant && adminTokenMasked(tenant, c.env) !== tenant) {
    throw withAdminTokenMasked(new RelayError("not_found", `no such tenant: ${tenant}`), c.env);
  }
  const search = new URLSearchParams({ limit: String(PAGE), ...(tenant ? { tenant } : {}), ...(cursor ? { cursor } : {}) });
  const list = await callAdmin<DeadLetterList>(c, "GET", `/dead-letters?${search}`);
  return renderPage(
    c,
    <DeadLettersPage
      session={sessionOf(c)}
      list={list}
      tenant={tenant}
      cursor={cursor}
      notice={noticeOf(await signedNoticeOnly(c, query))}
    />,
  );
});

// `dead-letters replay (--id ID | --tenant T | --all)`, a page a press: one admin call is all a
// request's subrequests allow (MAX_REPLAY_PAGE). The page it returns to offers the next, from where
// this one stopped, since replayed dead letters stay listed until their spans are delivered.
deadLetterRoutes.post("/replay", checkChange(), async (c) => {
  const form = await formOf(c);
  const target = replayTarget(form);
  const from = typeof form.cursor === "string" && form.cursor !== "" ? { cursor: form.cursor } : {};
  const page = await callAdmin<ReplayAnswer>(c, "POST", "/dead-letters/replay", { ...target, ...from });
  const back = form.all === "true" ? CONSOLE_PATHS.home : await returnPath(c);
  return c.redirect(await signedForSession(c, replayedPath(back, page)), 303);
});

/**
 * What a replay form names: one dead letter, a tenant's, or every tenant's, which only its own field
 * (`all`) asks for, as the CLI's --all does. A form naming none (cut short, or made by hand) is refused:
 * the API reads a replay naming nothing as every tenant's.
 */
function replayTarget(form: Awaited<ReturnType<typeof formOf>>): { id: string } | { tenant: string } | Record<string, never> {
  if (typeof form.id === "string") return { id: form.id };
  if (typeof form.tenant === "string") return { tenant: form.tenant };
  if (form.all === "true") return {};
  throw new RelayError(
    "malformed",
    "the replay form names no dead letter, no tenant and not every tenant's dead letters: send it from the console's own page",
  );
}

// `dead-letters delete <id>`.
deadLetterRoutes.post("/:id/delete", checkChange(), async (c) => {
  await callAdmin(c, "DELETE", adminPath`/dead-letters/${c.req.param("id")}`);
  return c.redirect(await signedForSession(c, donePath(await returnPath(c), "dead-letter-deleted")), 303);
});

const deadLettersPage = formPageOf(() => CONSOLE_PATHS.deadLetters);
deadLetterRoutes.get("/replay", deadLettersPage);
deadLetterRoutes.get("/:id/delete", deadLettersPage);
deadLetterRoutes.all("/", otherConsoleMethods("GET, HEAD"));
deadLetterRoutes.all("/replay", otherConsoleMethods("GET, HEAD, POST"));
deadLetterRoutes.all("/:id/delete", otherConsoleMethods("GET, HEAD, POST"));
