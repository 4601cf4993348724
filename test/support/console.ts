import { consoleApp } from "../../src/console/app.js";
import { CONSOLE_PATHS } from "../../src/console/paths.js";
import { admin, consoleSessionCookie, createTenant, relayFetch, relayFetchWith } from "./relay.js";

/** What the console's tests share: its origin, reading its pages as a browser shows them, and posting its forms. */

export const ORIGIN = "https://relay.test";
/** The refusal of a form whose settings give a key while its key field keeps the stored one, as a page escapes it. */
export const KEPT_KEY_IN_SETTINGS =
  "settings: braintrust.api_key: &quot;keep as it is&quot; keeps the stored key, so the settings cannot give one: take it out, or choose &quot;store this key&quot; or &quot;passthrough&quot;";
/** The signature a change's redirect adds to its notice (src/console/notice-signature.ts). */
export const SIGNED = "notice_signature=[\\w-]{43}";

/**
 * Every path a console form posts to, as the console's routes name them, login aside (it has no
 * session to check against yet): each must check the form came from the console's own page.
 */
export const FORM_PATHS = [
  ...new Set(
    consoleApp.routes
      .filter((route) => route.method === "POST" && !route.path.endsWith("*") && route.path !== CONSOLE_PATHS.login)
      .map((route) => route.path.replace(":tenant", "acme").replace(":token", "0123456789abcdef").replace(":id", "acme:0a")),
  ),
];

/** What a page's escaping writes for each character it escapes in an attribute (hono's `escapeToBuffer`). */
const ESCAPED: Record<string, string> = { "&amp;": "&", "&quot;": '"', "&#39;": "'", "&lt;": "<", "&gt;": ">" };

/** Text as a page shows it: the page's escaping undone. */
export function unescaped(html: string): string {
  return html.replace(/&(amp|quot|#39|lt|gt);/g, (entity) => ESCAPED[entity]!);
}

/** A form field's value on a page, as a browser would post it. */
export function fieldIn(html: string, name: string): string | undefined {
  const value = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
  return value === undefined ? undefined : unescaped(value);
}

/** The CSRF token a console page's forms carry. */
export function csrfIn(html: string): string {
  const csrf = fieldIn(html, "csrf");
  if (csrf === undefined) throw new Error("the page has no form with a CSRF token");
  return csrf;
}

/** The refusal an error page shows, as the admin API words it. */
export function refusalShown(html: string): string | undefined {
  const shown = /<p class="notice error" role="status">([^<]*)<\/p>/.exec(html)?.[1];
  return shown === undefined ? undefined : unescaped(shown);
}

/** A tenant, a console session, the tenant's page, its forms' CSRF token and its token form's issue key, and a reader of the tenant's tokens. */
export async function tenantPageInSession() {
  const tenant = await createTenant();
  const cookie = await consoleSessionCookie();
  const tenantPage = `/admin/console/tenants/${tenant.id}`;
  const page = await (await relayFetch(tenantPage, { headers: { cookie } })).text();
  const csrf = csrfIn(page);
  const issueKey = fieldIn(page, "issue_key")!;
  const tokensNow = async () => ((await (await admin("GET", `/tenants/${tenant.id}`)).json()) as { tokens: { id: string }[] }).tokens;
  return { tenant, cookie, tenantPage, csrf, issueKey, tokensNow };
}

/** The overview's page that lists a tenant: it pages through tenants 24 at a time, so its "next" links are followed to the tenant. */
export async function overviewPageOf(tenantId: string, cookie: string, bindings: Partial<Env> = {}): Promise<string> {
  let path: string | undefined = "/admin/";
  let overview = "";
  while (path && !overview.includes(`data-tenant="${tenantId}"`)) {
    overview = await (await relayFetchWith(bindings, path, { headers: { cookie } })).text();
    path = /href="(\/admin\/\?cursor=[^"]+)"/.exec(overview)?.[1]?.replaceAll("&amp;", "&");
  }
  return overview;
}

/** A tenant's row on the overview. */
export async function overviewRow(tenantId: string, cookie: string, bindings: Partial<Env> = {}): Promise<string> {
  const overview = await overviewPageOf(tenantId, cookie, bindings);
  const row = overview.slice(overview.indexOf(`data-tenant="${tenantId}"`));
  return row.slice(0, row.indexOf("</tr>"));
}

/** A tenant's row on the statistics page (1h), its "Next" links followed to it. */
export async function statsPageRow(tenantId: string, cookie: string, bindings: Partial<Env> = {}): Promise<string> {
  let path: string | undefined = "/admin/console/stats?window=1h";
  let page = "";
  while (path && !page.includes(`data-tenant="${tenantId}"`)) {
    page = await (await relayFetchWith(bindings, path, { headers: { cookie } })).text();
    path = /href="(\/admin\/console\/stats\?[^"]*cursor=[^"]+)"/.exec(page)?.[1]?.replaceAll("&amp;", "&");
  }
  const row = page.slice(page.indexOf(`data-tenant="${tenantId}"`));
  return row.slice(0, row.indexOf("</tr>"));
}

/** A console form posted as a browser in the session `cookie` posts it, from the console's origin; the answer's redirect is not followed. */
export function postForm(path: string, cookie: string, fields: Record<string, string>, bindings?: Partial<Env>): Promise<Response> {
  const init: RequestInit = {
    method: "POST",
    redirect: "manual",
    headers: { cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
  };
  return bindings ? relayFetchWith(bindings, path, init) : relayFetch(path, init);
}

/** The login form posted with `token` from `origin`, as a browser posts it; the redirect is not followed. */
export function logIn(token: string, origin = ORIGIN): Promise<Response> {
  return relayFetch("/admin/console/login", {
    method: "POST",
    redirect: "manual",
    headers: { origin, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }),
  });
}
