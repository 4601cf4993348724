import { type Context, Hono } from "hono";
import { adminPath } from "../admin/api-path.js";
import { singleValuedQuery } from "../admin/query.js";
import { adminTokenMasked, withAdminTokenMasked } from "../admin/require-admin.js";
import { checkedTenantId, noSuchTenant } from "../admin/tenant-path.js";
import { RelayError } from "../http/errors.js";
import { secretHeld } from "../tenants/credentials.js";
import { routesTraces } from "../tenants/routing.js";
import { callAdmin, requestAdmin } from "./admin-api.js";
import type { DeadLetterList, IssuedToken, TenantStats, TenantView, WaitingTraces } from "./answers.js";
import { type ConsoleEnv, sessionOf } from "./console-env.js";
import { formOf } from "./form.js";
import { checkChange } from "./guard.js";
import { handOverIssuedToken, takeIssuedToken } from "./issued-token.js";
import { renderPage, renderRefusal } from "./layout.js";
import { CHART_MINUTES } from "./minute-series.js";
import { signedForSession, signedNoticeOnly } from "./notice-signature.js";
import { donePath, NOTICE_PARAMETERS, noticeOf, replayCursorOf } from "./notices.js";
import { formPageOf, otherConsoleMethods } from "./other-methods.js";
import { tenantRows } from "./overview.js";
import { CONSOLE_PATHS } from "./paths.js";
import type { RefusedForm } from "./tenant-form.js";
import { ENTERED_FIELDS, shownAgain, storedKeyFieldOf, tenantPutBody } from "./tenant-input.js";
import { TenantPage, type TenantPageData } from "./tenant-page.js";
import { TenantsPage } from "./tenants-page.js";

/** `/admin/console/tenants`: a tenant's page and the actions on tenants: each action is one admin API call, as the CLI's command is. */
export const tenantRoutes = new Hono<ConsoleEnv>();

/** What the page says instead of a token a second press of its form replaced before the page was shown. */
const REPLACED_NOTICE =
  "The token this press issued was replaced by another press of the same form, which reached the relay later: its token is the newest in the list, never shown. Revoke it and issue again.";

/** Dead letters a tenant page lists; the dead letters page pages through the rest. */
const DEAD_LETTERS_SHOWN = 100;

async function tenantPageData(c: Context<ConsoleEnv>, id: string): Promise<TenantPageData> {
  const [{ body: tenant, etag: revision }, stats, deadLetters] = await Promise.all([
    requestAdmin<TenantView>(c, "GET", adminPath`/tenants/${id}`),
    unlessUnavailable(callAdmin<TenantStats>(c, "GET", `${adminPath`/tenants/${id}/stats`}?per_minute=${CHART_MINUTES}`)),
    unlessUnavailable(
      callAdmin<DeadLetterList>(c, "GET", `/dead-letters?${new URLSearchParams({ tenant: id, limit: String(DEAD_LETTERS_SHOWN) })}`),
    ),
  ]);
  // Only a tenant that routes (or stopped a day ago at most) has traces waiting for their parent; asking costs a call to each of its objects.
  const waiting = routesTraces(tenant)
    ? ((await unlessUnavailable(callAdmin<WaitingTraces>(c, "GET", adminPath`/tenants/${id}/waiting-traces`))) ?? "unavailable")
    : undefined;
  return {
    tenant,
    revision,
    stats: stats ?? "unavailable",
    deadLetters: deadLetters ?? "unavailable",
    waiting,
    ingestUrl: `${new URL(c.req.url).origin}/t/${tenant.id}/v1/traces`,
  };
}

/**
 * What a part of a tenant's page reads, or undefined when the admin API could not answer for it (an
 * object overloaded, R2 down: a 5xx): the page is shown without it, with the forms an operator may
 * need then (revoke a leaked token, delete), and a token just issued is shown. A refusal of the
 * call itself (4xx) is the page's to show: the console asked for something wrong.
 */
async function unlessUnavailable<T>(answer: Promise<T>): Promise<T | undefined> {
  try {
    return await answer;
  } catch (err) {
    if (err instanceof RelayError && err.status >= 500) return undefined;
    throw err;
  }
}

/** `/admin/`: every tenant at a glance. */
export async function tenantsOverview(c: Context<ConsoleEnv>): Promise<Response> {
  const query = await signedNoticeOnly(c, singleValuedQuery(c, ["cursor", ...NOTICE_PARAMETERS]));
  const { rows, next } = await tenantRows(c, query.cursor);
  return renderPage(
    c,
    <TenantsPage
      session={sessionOf(c)}
      rows={rows}
      later={query.cursor !== undefined}
      next={next}
      notice={noticeOf(query)}
      replayFrom={replayCursorOf(query)}
    />,
  );
}

tenantRoutes.get("/:tenant", async (c) => {
  const query = await signedNoticeOnly(c, singleValuedQuery(c, NOTICE_PARAMETERS));
  const data = await tenantPageData(c, c.req.param("tenant"));
  // Taken once the page can be shown: a page that failed leaves the token to its reload.
  const handed = await takeIssuedToken(c, data.tenant.id);
  // Two presses of one form that crossed on the way: the one this page answers was replaced by the other.
  const issued = handed && data.tenant.tokens.some((t) => t.id === handed.id) ? handed : undefined;
  const notice = handed && !issued ? REPLACED_NOTICE : noticeOf(query);
  return renderPage(
    c,
    <TenantPage session={sessionOf(c)} data={data} {...(issued ? { issued } : { notice })} replayFrom={replayCursorOf(query)} />,
  );
});

// `tenants put`: the new tenant form creates only a tenant that does not exist yet (If-None-Match), a
// tenant's own form, sent to its address, saves only over the tenant it showed (its revision, as
// If-Match): an operator never overwrites, unseen, a change made meanwhile by another.
tenantRoutes.post("/", checkChange(), async (c) => {
  const form = await formOf(c);
  return saveTenant(c, form, typeof form.tenant === "string" ? form.tenant.trim() : "", undefined);
});

tenantRoutes.post("/:tenant", checkChange(), async (c) => {
  const form = await formOf(c);
  // The page wrote an ETag there; one missing, or one no header can carry, was not, and must not fail the call as the relay's bug.
  const revision = typeof form.revision === "string" ? form.revision : "";
  if (!revision || /[\r\n\0]/.test(revision)) {
    throw new RelayError("malformed", "revision: must be the tenant revision the page gave, sent back as it came: open the tenant again");
  }
  return saveTenant(c, form, c.req.param("tenant"), revision);
});

/** The tenant form's PUT, on the condition `revision` makes; the tenant's page once saved, the form again with a refusal beside its field. */
async function saveTenant(c: Context<ConsoleEnv>, form: Form, id: string, revision: string | undefined): Promise<Response> {
  const condition: Record<string, string> = revision ? { "if-match": revision } : { "if-none-match": "*" };
  let saved: TenantView;
  try {
    // Checked as the API checks it before the call: "." and ".." would not reach it, a URL resolving them.
    saved = await callAdmin<TenantView>(
      c,
      "PUT",
      adminPath`/tenants/${checkedTenantId(id)}`,
      tenantPutBody(form, revision !== undefined),
      condition,
    );
  } catch (err) {
    if (err instanceof RelayError && err.code === "invalid_field") return formRefused(c, form, id, revision, err);
    if (!(err instanceof RelayError && err.code === "precondition_failed")) throw err;
    // A new tenant's id taken: the form is shown again as typed, the refusal beside the id.
    if (!revision) {
      const taken = `tenant: ${id} already exists: nothing was saved; choose another id, or open it from the list to change it`;
      return formRefused(c, form, id, revision, new RelayError("precondition_failed", taken, { field: "tenant" }));
    }
    // Changed meanwhile (a token issued counts): the form is shown again as sent, on the tenant as it is now.
    const changed = `tenant ${id} was changed by someone else since this page was loaded: nothing was saved; the page shows the tenant as it is now and the form what you sent: check it and save again to replace the change`;
    return formRefused(c, form, id, revision, new RelayError("precondition_failed", changed, { field: "If-Match" }), "as it is now");
  }
  // The new tenant form's condition (If-None-Match) held: the tenant did not exist before.
  return c.redirect(await signedForSession(c, donePath(CONSOLE_PATHS.tenant(saved.id), revision ? "saved" : "created")), 303);
}

type Form = Awaited<ReturnType<typeof formOf>>;

/** The form's fields as they will be shown again: none that holds a secret (secretHeld), nor the one `err` found the stored key in. */
function enteredAgain(form: Form, err: RelayError, env: Env): RefusedForm["entered"] {
  // The key typed into its own field: another field holding it too (the API URL's path) is not shown again.
  const typedKey = typeof form.api_key === "string" ? form.api_key : undefined;
  // The stored key, which the console never has, found by the tenant's object.
  const storedKeyIn = storedKeyFieldOf(err, form);
  const entered: RefusedForm["entered"] = {};
  for (const name of ENTERED_FIELDS) {
    if (name === storedKeyIn) continue;
    const value = form[name];
    // A Braintrust key or token is taken out where it can be (shownAgain); a field still holding one of
    // the relay's own secrets, or the key typed, is not written into the page, not even where it was typed.
    const shown = typeof value === "string" ? shownAgain(name, value) : undefined;
    if (shown === undefined) continue;
    // Also as JSON reads it: a secret in the settings written with escapes (`\u0074…`) is one JSON.parse away.
    const forms = [shown, asJsonReads(shown)];
    if (forms.every((form) => form === undefined || secretHeld(form, typedKey, env) === undefined)) entered[name] = shown;
  }
  return entered;
}

/** The text as JSON.parse reads it and JSON.stringify writes it again (each escape as its character), or undefined when it is no JSON. */
function asJsonReads(text: string): string | undefined {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/**
 * A tenant form the admin API refused, shown again as sent with the refusal beside its field, with the
 * refusal's status: on the tenant's page, still saving over the revision it showed (or, `over` the
 * tenant "as it is now", the revision it has now, when that changed meanwhile), or on the tenants
 * page for a new one. A tenant deleted meanwhile has no page: that is said alone.
 */
async function formRefused(
  c: Context<ConsoleEnv>,
  form: Form,
  id: string,
  revision: string | undefined,
  err: RelayError,
  over: "as shown" | "as it is now" = "as shown",
): Promise<Response> {
  const entered = enteredAgain(form, err, c.env);
  const masked = withAdminTokenMasked(err, c.env);
  // The settings JSON is the PUT's body: what the API names `body` (an unknown top-level key, say) is the settings field's.
  const field = masked.options.field === undefined || masked.options.field === "body" ? "settings" : masked.options.field;
  const refused: RefusedForm = { entered, error: { field, message: masked.message.replace(/^body: /, "settings: ") } };
  const session = sessionOf(c);
  if (revision) {
    const data = await tenantPageData(c, id).catch((cause: unknown) => {
      if (cause instanceof RelayError && cause.code === "not_found" && over === "as it is now") {
        throw new RelayError("not_found", `tenant ${id} was deleted by someone else since this page was loaded: nothing was saved`);
      }
      throw cause;
    });
    return renderRefusal(
      c,
      <TenantPage session={session} data={over === "as shown" ? { ...data, revision } : data} refused={refused} />,
      masked,
    );
  }
  const { rows, next } = await tenantRows(c, undefined);
  return renderRefusal(c, <TenantsPage session={session} rows={rows} later={false} next={next} refused={refused} />, masked);
}

// `tokens issue`, then the tenant's page, which shows the token once (issued-token.ts): a reload of it issues no other,
// and the form sent twice (a double click) issues one, the second replacing the first under the page's issue key.
tenantRoutes.post("/:tenant/tokens", checkChange(), async (c) => {
  const id = c.req.param("tenant");
  const { issue_key } = await formOf(c);
  const body = typeof issue_key === "string" ? { issue_key } : undefined;
  const issued = await callAdmin<IssuedToken>(c, "POST", adminPath`/tenants/${id}/tokens`, body);
  try {
    await handOverIssuedToken(c, id, issued);
  } catch (err) {
    // Not handed over (ENCRYPTION_KEY missing or malformed), the token would never be shown, yet take
    // the tenant's spans: revoked before the failure is told, so nothing unseen stays issued.
    await callAdmin(c, "DELETE", adminPath`/tenants/${id}/tokens/${issued.id}`);
    throw err;
  }
  return c.redirect(await signedForSession(c, donePath(CONSOLE_PATHS.tenant(id), "issued")), 303);
});

// `tokens revoke`.
tenantRoutes.post("/:tenant/tokens/:token/revoke", checkChange(), async (c) => {
  const id = c.req.param("tenant");
  await callAdmin(c, "DELETE", adminPath`/tenants/${id}/tokens/${c.req.param("token")}`);
  return c.redirect(await signedForSession(c, donePath(CONSOLE_PATHS.tenant(id), "revoked")), 303);
});

// `tenants delete`, once the operator typed the tenant's id.
tenantRoutes.post("/:tenant/delete", checkChange(), async (c) => {
  // Checked before the confirmation's message names it; the admin API checks it again.
  const id = checkedTenantId(c.req.param("tenant"));
  if ((await formOf(c)).confirm !== id) {
    const refusal = new RelayError("invalid_field", `confirm: type the tenant id, ${id}, to delete the tenant`, { field: "confirm" });
    // Said beside the field, on the tenant's page, when there is one: nothing else changed. A page
    // that fails for another reason (storage down) says that reason.
    const data = await tenantPageData(c, id).catch((err: unknown) => {
      throw err instanceof RelayError && err.code === "not_found" ? refusal : err;
    });
    return renderRefusal(c, <TenantPage session={sessionOf(c)} data={data} deleteRefused={refusal.message} />, refusal);
  }
  await callAdmin(c, "DELETE", adminPath`/tenants/${id}`);
  return c.redirect(await signedForSession(c, donePath(CONSOLE_PATHS.home, "deleted")), 303);
});

/**
 * The page of the path's tenant, which its forms are on. The admin token has a tenant id's shape and is
 * no tenant's: pasted there, it is answered as the tenant page would answer it, never repeated in a Location.
 */
const tenantPage = formPageOf((c) => {
  const id = checkedTenantId(c.req.param("tenant") ?? "");
  if (adminTokenMasked(id, c.env) !== id) throw noSuchTenant(id);
  return CONSOLE_PATHS.tenant(id);
});
tenantRoutes.get(
  "/",
  formPageOf(() => CONSOLE_PATHS.home),
);
tenantRoutes.get("/:tenant/tokens", tenantPage);
tenantRoutes.get("/:tenant/tokens/:token/revoke", tenantPage);
tenantRoutes.get("/:tenant/delete", tenantPage);
tenantRoutes.all("/", otherConsoleMethods("GET, HEAD, POST"));
tenantRoutes.all("/:tenant", otherConsoleMethods("GET, HEAD, POST"));
tenantRoutes.all("/:tenant/tokens", otherConsoleMethods("GET, HEAD, POST"));
tenantRoutes.all("/:tenant/tokens/:token/revoke", otherConsoleMethods("GET, HEAD, POST"));
tenantRoutes.all("/:tenant/delete", otherConsoleMethods("GET, HEAD, POST"));
