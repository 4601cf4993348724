import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { attr, randomId, requestOf, spansOf, spanWith, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { consoleApp } from "../src/console/app.js";
import { noticeOf } from "../src/console/notices.js";
import { CONSOLE_PATHS } from "../src/console/paths.js";
import { SESSION_COOKIE, startSession } from "../src/console/session.js";
import { hex } from "../src/encoding/bytes.js";
import { failingBinding, failingObject, recordingQueue } from "./support/bindings.js";
import { deadLettersFor, deadLettersOf, waitForDeadLetters } from "./support/dead-letters.js";
import { loggedWhile } from "./support/logs.js";
import {
  ADMIN_TOKEN,
  admin,
  adminWith,
  consoleSessionCookie,
  createTenant,
  relayFetch,
  relayFetchWith,
  sendTraces,
  sendTracesWith,
  uniqueTenantId,
} from "./support/relay.js";
import { standin } from "./support/standin.js";

const ORIGIN = "https://relay.test";
/** The refusal of a form whose settings give a key while its key field keeps the stored one, as a page escapes it. */
const KEPT_KEY_IN_SETTINGS =
  "settings: braintrust.api_key: &quot;keep as it is&quot; keeps the stored key, so the settings cannot give one: take it out, or choose &quot;store this key&quot; or &quot;passthrough&quot;";
/** The signature a change's redirect adds to its notice (src/console/notice-signature.ts). */
const SIGNED = "notice_signature=[\\w-]{43}";

/**
 * Every path a console form posts to, as the console's routes name them, login aside (it has no
 * session to check against yet): each must check the form came from the console's own page.
 */
const FORM_PATHS = [
  ...new Set(
    consoleApp.routes
      .filter((route) => route.method === "POST" && !route.path.endsWith("*") && route.path !== CONSOLE_PATHS.login)
      .map((route) => route.path.replace(":tenant", "acme").replace(":token", "0123456789abcdef").replace(":id", "acme:0a")),
  ),
];

/** What a page's escaping writes for each character it escapes in an attribute (hono's `escapeToBuffer`). */
const ESCAPED: Record<string, string> = { "&amp;": "&", "&quot;": '"', "&#39;": "'", "&lt;": "<", "&gt;": ">" };

/** Text as a page shows it: the page's escaping undone. */
function unescaped(html: string): string {
  return html.replace(/&(amp|quot|#39|lt|gt);/g, (entity) => ESCAPED[entity]!);
}

/** A form field's value on a page, as a browser would post it. */
function fieldIn(html: string, name: string): string | undefined {
  const value = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
  return value === undefined ? undefined : unescaped(value);
}

/** The CSRF token a console page's forms carry. */
function csrfIn(html: string): string {
  const csrf = fieldIn(html, "csrf");
  if (csrf === undefined) throw new Error("the page has no form with a CSRF token");
  return csrf;
}

/** The refusal an error page shows, as the admin API words it. */
function refusalShown(html: string): string | undefined {
  const shown = /<p class="notice error" role="status">([^<]*)<\/p>/.exec(html)?.[1];
  return shown === undefined ? undefined : unescaped(shown);
}

/** A tenant, a console session, the tenant's page, its forms' CSRF token and its token form's issue key, and a reader of the tenant's tokens. */
async function tenantPageInSession() {
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
async function overviewPageOf(tenantId: string, cookie: string, bindings: Partial<Env> = {}): Promise<string> {
  let path: string | undefined = "/admin/";
  let overview = "";
  while (path && !overview.includes(`data-tenant="${tenantId}"`)) {
    overview = await (await relayFetchWith(bindings, path, { headers: { cookie } })).text();
    path = /href="(\/admin\/\?cursor=[^"]+)"/.exec(overview)?.[1]?.replaceAll("&amp;", "&");
  }
  return overview;
}

/** A tenant's row on the overview. */
async function overviewRow(tenantId: string, cookie: string, bindings: Partial<Env> = {}): Promise<string> {
  const overview = await overviewPageOf(tenantId, cookie, bindings);
  const row = overview.slice(overview.indexOf(`data-tenant="${tenantId}"`));
  return row.slice(0, row.indexOf("</tr>"));
}

/** A console form posted as a browser in the session `cookie` posts it, from the console's origin; the answer's redirect is not followed. */
function postForm(path: string, cookie: string, fields: Record<string, string>, bindings?: Partial<Env>): Promise<Response> {
  const init: RequestInit = {
    method: "POST",
    redirect: "manual",
    headers: { cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
  };
  return bindings ? relayFetchWith(bindings, path, init) : relayFetch(path, init);
}

function logIn(token: string, origin = ORIGIN): Promise<Response> {
  return relayFetch("/admin/console/login", {
    method: "POST",
    redirect: "manual",
    headers: { origin, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }),
  });
}

describe("the console beside the admin API", () => {
  it("leaves every admin API call as it was: JSON, bearer token, none of the console's headers", async () => {
    const listed = await admin("GET", "/tenants");
    const refused = await admin("GET", "/tenants", undefined, null);

    expect(listed.status).toBe(200);
    expect(listed.headers.get("content-type")).toBe("application/json");
    expect(listed.headers.get("content-security-policy")).toBeNull();
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: "unauthenticated" } });
  });

  it("opens for a session only, never for the API's bearer token, and serves its pages under a strict CSP", async () => {
    const withBearer = await relayFetch("/admin/", { redirect: "manual", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const loginPage = await relayFetch("/admin/console/login");

    expect(withBearer.status).toBe(303);
    expect(withBearer.headers.get("location")).toBe("/admin/console/login");
    expect(loginPage.headers.get("content-security-policy")).toBe(
      "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(loginPage.headers.get("cache-control")).toBe("no-store");
  });

  it("answers a HEAD of a page as its GET, without the body: the login form without a session, the page with one", async () => {
    const cookie = await consoleSessionCookie();
    const noTenant = `/admin/console/tenants/${uniqueTenantId()}`;
    for (const path of ["/admin/", noTenant, "/admin/console/stats", "/admin/console/dead-letters"]) {
      for (const [headers, status] of [
        [{}, 303],
        [{ cookie }, path === noTenant ? 404 : 200],
      ] as const) {
        const get = await relayFetch(path, { redirect: "manual", headers });
        const head = await relayFetch(path, { method: "HEAD", redirect: "manual", headers });

        expect(get.status).toBe(status);
        expect(head.status).toBe(status);
        expect([...head.headers]).toEqual([...get.headers]);
        expect(await head.text()).toBe("");
      }
    }
    const loggedOut = await relayFetch("/admin/", { method: "HEAD", redirect: "manual" });
    expect(loggedOut.headers.get("location")).toBe("/admin/console/login");
  });

  it("answers a console path that is no page with its own 404 page, once logged in", async () => {
    const cookie = await consoleSessionCookie();

    const loggedIn = await relayFetch("/admin/console/nothing", { headers: { cookie } });
    const loggedOut = await relayFetch("/admin/console/nothing", { redirect: "manual" });

    expect(loggedIn.status).toBe(404);
    expect(loggedIn.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await loggedIn.text()).toContain("no such page in the console");
    expect(loggedOut.status).toBe(303);
    expect(loggedOut.headers.get("location")).toBe("/admin/console/login");
  });

  it("answers a method no link or form sends as the admin API does: behind the token, 405 with Allow, in JSON", async () => {
    const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const cookie = await consoleSessionCookie();
    const refusal = (code: string, message: string) => ({ error: { code, message, request_id: expect.any(String) } });
    const paths = [
      ["/admin", "/admin", "GET, HEAD"],
      ["/admin/", "/admin/", "GET, HEAD"],
      ["/admin/console/tenants/acme", "/admin/console/tenants/:tenant", "GET, HEAD, POST"],
      ["/admin/console/tenants/acme/tokens", "/admin/console/tenants/:tenant/tokens", "GET, HEAD, POST"],
      ["/admin/console/dead-letters", "/admin/console/dead-letters", "GET, HEAD"],
      ["/admin/console/stats", "/admin/console/stats", "GET, HEAD"],
      ["/admin/console/logout", "/admin/console/logout", "POST"],
    ] as const;

    for (const method of ["DELETE", "PUT", "PATCH", "OPTIONS"]) {
      for (const [path, route, allow] of paths) {
        const answer = await relayFetch(path, { method, headers: bearer });
        expect(answer.status).toBe(405);
        expect(answer.headers.get("allow")).toBe(allow);
        // As every admin answer: no cache keeps it.
        expect(answer.headers.get("cache-control")).toBe("no-store");
        expect(await answer.json()).toEqual(
          refusal("method_not_allowed", `no such page in the console: ${method} ${route} (this path takes ${allow})`),
        );
        // A session is a browser's: it does not stand for the token.
        for (const headers of [{}, { cookie }] as Record<string, string>[]) {
          const stranger = await relayFetch(path, { method, headers });
          expect(stranger.status).toBe(401);
          expect(stranger.headers.get("cache-control")).toBe("no-store");
          expect(await stranger.json()).toEqual(refusal("unauthenticated", "missing or wrong admin token"));
        }
      }
      // What needs no session needs no token either.
      const login = await relayFetch("/admin/console/login", { method });
      expect(login.status).toBe(405);
      expect(login.headers.get("allow")).toBe("GET, HEAD, POST");
      const nothing = await relayFetch("/admin/console/nothing", { method, headers: bearer });
      expect(nothing.status).toBe(404);
      expect(await nothing.json()).toEqual(refusal("not_found", "no such page in the console"));
    }
  });

  it("answers a POST with the admin token as an API client's, in JSON: 405 on a page, 403 on a form, which only the console's pages send", async () => {
    const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };
    for (const [path, route] of [
      ["/admin", "/admin"],
      ["/admin/", "/admin/"],
      ["/admin/console/stats", "/admin/console/stats"],
      ["/admin/console/dead-letters", "/admin/console/dead-letters"],
    ] as const) {
      const answer = await relayFetch(path, { method: "POST", headers: bearer });
      expect(answer.status).toBe(405);
      expect(answer.headers.get("allow")).toBe("GET, HEAD");
      expect(await answer.json()).toEqual({
        error: {
          code: "method_not_allowed",
          message: `no such page in the console: POST ${route} (this path takes GET, HEAD)`,
          request_id: expect.any(String),
        },
      });
    }
    for (const path of FORM_PATHS) {
      const answer = await relayFetch(path, { method: "POST", headers: bearer });
      expect(answer.status).toBe(403);
      expect(((await answer.json()) as { error: { code: string } }).error.code).toBe("forbidden");
    }
    const wrongToken = await relayFetch("/admin/console/stats", { method: "POST", headers: { authorization: "Bearer wrong" } });
    expect(wrongToken.status).toBe(401);
    expect(wrongToken.headers.get("content-type")).toMatch(/^application\/json/);
  });

  it("refuses every form without the session's CSRF token, even from its own origin with the session cookie, and answers a form posted to a page with its 405", async () => {
    const cookie = await consoleSessionCookie();
    const post = (path: string) =>
      relayFetch(path, {
        method: "POST",
        redirect: "manual",
        headers: { cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
        body: "csrf=forged&confirm=acme",
      });
    expect(FORM_PATHS).toHaveLength(8);
    for (const path of FORM_PATHS) {
      const refused = await post(path);
      expect(refused.status).toBe(403);
      const html = await refused.text();
      expect(refusalShown(html)).toBe("this form is from an older console session: reload the page and send it again");
      // A form: what it asked for was not done.
      expect(html).toContain("<h1>Not done (403)</h1>");
    }
    const page = await post("/admin/console/stats");
    expect(page.status).toBe(405);
    expect(page.headers.get("allow")).toBe("GET, HEAD");
    // A proxy's Basic login in front of the console makes the browser send it with every form: still a browser's.
    const behindProxy = await relayFetch("/admin/console/stats", {
      method: "POST",
      headers: { cookie, origin: ORIGIN, authorization: "Basic dXNlcjpwYXNz" },
    });
    expect(behindProxy.status).toBe(405);
    expect(behindProxy.headers.get("content-type")).toMatch(/^text\/html/);
  });

  it("sends a GET of a form's address, which a refused form's page shows, reloaded or copied, to the page the form is on", async () => {
    const cookie = await consoleSessionCookie();
    for (const [path, formPage] of [
      ["/admin/console/tenants", "/admin/"],
      ["/admin/console/tenants/acme/tokens", "/admin/console/tenants/acme"],
      ["/admin/console/tenants/acme/tokens/0123456789abcdef/revoke", "/admin/console/tenants/acme"],
      ["/admin/console/tenants/acme/delete", "/admin/console/tenants/acme"],
      ["/admin/console/dead-letters/replay", "/admin/console/dead-letters"],
      ["/admin/console/dead-letters/acme:0a/delete", "/admin/console/dead-letters"],
    ] as const) {
      for (const method of ["GET", "HEAD"]) {
        const page = await relayFetch(path, { method, redirect: "manual", headers: { cookie } });
        expect(page.status, `${method} ${path}`).toBe(303);
        expect(page.headers.get("location")).toBe(formPage);
      }
      const loggedOut = await relayFetch(path, { redirect: "manual" });
      expect(loggedOut.status).toBe(303);
      expect(loggedOut.headers.get("location")).toBe("/admin/console/login");
    }
  });

  it("answers a GET of the log-out form's address with a 405 page and Allow: POST: a link does not log out", async () => {
    const cookie = await consoleSessionCookie();

    const page = await relayFetch("/admin/console/logout", { headers: { cookie } });

    expect(page.status).toBe(405);
    expect(page.headers.get("allow")).toBe("POST");
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    // A link or an address typed: nothing was sent to be done.
    expect(await page.clone().text()).toContain("<h1>Cannot show this page (405)</h1>");
    expect(refusalShown(await page.text())).toBe("no such page in the console: GET /admin/console/logout (this path takes POST)");
  });

  it("sends a GET of /admin on to /admin/, and answers a form posted there as /admin/ does: 405 page, or 401 without a session", async () => {
    const cookie = await consoleSessionCookie();

    const get = await relayFetch("/admin", { redirect: "manual" });
    const posted = await relayFetch("/admin", { method: "POST", redirect: "manual", headers: { cookie, origin: ORIGIN } });
    const loggedOut = await relayFetch("/admin", { method: "POST", redirect: "manual", headers: { origin: ORIGIN } });

    expect(get.status).toBe(301);
    expect(get.headers.get("location")).toBe("/admin/");
    expect(posted.status).toBe(405);
    expect(posted.headers.get("allow")).toBe("GET, HEAD");
    expect(posted.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await posted.text()).toContain("no such page in the console");
    expect(loggedOut.status).toBe(401);
    expect(await loggedOut.text()).toContain("your console session has ended: log in again");
  });

  it("answers a page's query parameter given twice, or one it does not read, with a 400 page naming it, as the admin API does", async () => {
    const cookie = await consoleSessionCookie();
    const notices = "done, replayed, orphaned, replaying, unavailable, replay_from, notice_signature";
    for (const [path, message] of [
      ["/admin/?cursor=a&cursor=b", "cursor: given 2 times: give it once"],
      ["/admin/console/stats?window=1h&window=24h", "window: given 2 times: give it once"],
      ["/admin/console/dead-letters?tenant=a&tenant=b&tenant=c", "tenant: given 3 times: give it once"],
      ["/admin/console/tenants/acme?done=saved&done=deleted", "done: given 2 times: give it once"],
      // Left unread, it would list every tenant's dead letters as if they were acme's.
      [
        "/admin/console/dead-letters?tenat=acme",
        `"tenat": not a query parameter of GET /admin/console/dead-letters, which takes tenant, cursor, ${notices}`,
      ],
      ["/admin/?window=1h", `"window": not a query parameter of GET /admin/, which takes cursor, ${notices}`],
      ["/admin/console/stats?tenant=acme", `"tenant": not a query parameter of GET /admin/console/stats, which takes window, cursor`],
      [
        "/admin/console/tenants/acme?cursor=x",
        `"cursor": not a query parameter of GET /admin/console/tenants/:tenant, which takes ${notices}`,
      ],
      ["/admin/console/login?return_to=%2Fadmin%2F", `"return_to": not a query parameter of GET /admin/console/login, which takes next`],
    ] as const) {
      const page = await relayFetch(path, { headers: { cookie } });

      expect(page.status).toBe(400);
      expect(page.headers.get("content-type")).toMatch(/^text\/html/);
      expect(refusalShown(await page.text())).toBe(message);
    }
  });

  it("says the console is disabled on its login page while ADMIN_TOKEN is shorter than 32 characters", async () => {
    const page = await consoleApp.request("/admin/console/login", {}, { ...env, ADMIN_TOKEN: ADMIN_TOKEN.slice(0, 31) });

    expect(page.status).toBe(401);
    expect(await page.text()).toContain("the console is disabled: ADMIN_TOKEN is shorter than 32 characters");
  });

  it("says on its login page, reached over plain http elsewhere than localhost, that the browser will drop the session's cookie", async () => {
    const warned = async (url: string) =>
      (await consoleApp.request(url, {}, env)).text().then((page) => page.includes("This page came over plain http"));

    expect(await warned("http://devbox.test:8787/admin/console/login")).toBe(true);
    expect(await warned("http://10.0.0.7/admin/console/login")).toBe(true);
    for (const url of ["https://relay.test", "http://localhost:8787", "http://127.0.0.1:8787", "http://[::1]:8787", "http://app.localhost"])
      expect(await warned(`${url}/admin/console/login`)).toBe(false);
    // The refusal of a wrong token says it too, since a right one would not have helped.
    const refused = await consoleApp.request(
      "http://devbox.test:8787/admin/console/login",
      {
        method: "POST",
        headers: { origin: "http://devbox.test:8787", "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: "not-the-token" }),
      },
      env,
    );
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain("This page came over plain http");
  });

  it("sets the session cookie Secure but at localhost over http, where Safari would drop a Secure one", async () => {
    const cookieAt = async (origin: string) => {
      const loggedIn = await consoleApp.request(
        `${origin}/admin/console/login`,
        {
          method: "POST",
          headers: { origin, "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ token: ADMIN_TOKEN }),
        },
        env,
      );
      expect(loggedIn.status).toBe(303);
      return loggedIn.headers.get("set-cookie")!;
    };

    expect(await cookieAt("http://127.0.0.1:8787")).toMatch(/; Path=\/admin; HttpOnly; SameSite=Strict$/);
    expect(await cookieAt("http://localhost:8787")).not.toMatch(/Secure/);
    expect(await cookieAt("https://relay.test")).toMatch(/; HttpOnly; Secure; SameSite=Strict$/);
    expect(await cookieAt("http://devbox.test:8787")).toMatch(/; Secure;/);
  });

  it("logs in only with the admin token, from its own origin, into a cookie the browser keeps to itself", async () => {
    const wrongToken = await logIn("not-the-token");
    const otherSite = await logIn(ADMIN_TOKEN, "https://evil.example");
    const loggedIn = await logIn(ADMIN_TOKEN);

    expect(wrongToken.status).toBe(401);
    expect(wrongToken.headers.get("set-cookie")).toBeNull();
    expect(otherSite.status).toBe(403);
    expect(otherSite.headers.get("set-cookie")).toBeNull();
    expect(loggedIn.status).toBe(303);
    expect(loggedIn.headers.get("set-cookie")).toMatch(
      /^tfy_relay_console=\d+\.\d+\.[\w-]+\.[\w-]+; Max-Age=1800; Path=\/admin; HttpOnly; Secure; SameSite=Strict$/,
    );
    const cookie = loggedIn.headers.get("set-cookie")!.split(";")[0]!;
    expect((await relayFetch("/admin/", { headers: { cookie } })).status).toBe(200);
  });

  it("keeps a session in use going: a page read 20 minutes into it renews its cookie for 30 more, the same session", async () => {
    const started = (await startSession(ADMIN_TOKEN, Date.now() - 20 * 60_000)).value;

    const page = await relayFetch("/admin/", { headers: { cookie: `${SESSION_COOKIE}=${started}` } });

    expect(page.status).toBe(200);
    const renewed = page.headers.get("set-cookie")!;
    expect(renewed).toMatch(/^tfy_relay_console=\d+\.\d+\.[\w-]+\.[\w-]+; Max-Age=1800; Path=\/admin; HttpOnly; Secure; SameSite=Strict$/);
    const cookie = renewed.split(";")[0]!;
    // Its login time and nonce kept: the CSRF token of the pages already open is the session's still.
    expect(cookie.split(".").slice(1, 3)).toEqual(started.split(".").slice(1, 3));
    const csrf = csrfIn(await page.text());
    const tenant = await createTenant();
    const sent = await postForm("/admin/console/dead-letters/replay", cookie, { csrf, tenant: tenant.id, return_to: tenant.id });
    expect(sent.status).toBe(303);
    // A session not a minute old is not set again.
    const fresh = await consoleSessionCookie();
    expect((await relayFetch("/admin/", { headers: { cookie: fresh } })).headers.get("set-cookie")).toBeNull();
  });

  it("renews a session only by what it got done: not by a refused form, nor by a page that failed", async () => {
    const cookie = await consoleSessionCookie(Date.now() - 20 * 60_000);

    const forged = await postForm("/admin/console/dead-letters/replay", cookie, { csrf: "not-the-session's", id: "acme:0a" });
    const otherSite = await relayFetch("/admin/console/dead-letters/replay", {
      method: "POST",
      headers: { cookie, origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
      body: "id=acme%3A0a",
    });
    const missing = await relayFetch("/admin/console/tenants/no-such-tenant", { headers: { cookie } });

    for (const refused of [forged, otherSite, missing]) {
      expect(refused.status).toBeGreaterThanOrEqual(400);
      expect(refused.headers.get("set-cookie")).toBeNull();
    }
  });

  it("ends a session on log-out: its cookie, renewed or as it was before, copied or crossed by a page read, opens nothing after", async () => {
    const started = (await startSession(ADMIN_TOKEN, Date.now() - 20 * 60_000)).value;
    const page = await relayFetch("/admin/", { headers: { cookie: `${SESSION_COOKIE}=${started}` } });
    const renewed = page.headers.get("set-cookie")!.split(";")[0]!;
    const csrf = csrfIn(await page.text());

    const loggedOut = await postForm("/admin/console/logout", renewed, { csrf });

    expect(loggedOut.headers.get("location")).toBe("/admin/console/login");
    expect(loggedOut.headers.getSetCookie()).toEqual(["tfy_relay_console=; Max-Age=0; Path=/admin; HttpOnly; Secure; SameSite=Strict"]);
    for (const cookie of [renewed, `${SESSION_COOKIE}=${started}`]) {
      const after = await relayFetch("/admin/", { redirect: "manual", headers: { cookie } });
      expect(after.status).toBe(303);
      expect(after.headers.get("location")).toBe("/admin/console/login");
      expect(after.headers.get("set-cookie")).toBeNull();
      const form = await postForm("/admin/console/dead-letters/replay", cookie, { csrf, id: "acme:0a" });
      expect(form.status).toBe(401);
    }
  });

  it("opens the page a link gave once logged in, a console page only: never another site's, nor a form's path", async () => {
    const tenant = await createTenant();
    const page = `/admin/console/tenants/${tenant.id}?window=1h`;

    const linked = await relayFetch(page, { redirect: "manual" });
    expect(linked.status).toBe(303);
    const login = linked.headers.get("location")!;
    expect(login).toBe(`/admin/console/login?${new URLSearchParams({ next: page })}`);
    const form = await (await relayFetch(login)).text();
    expect(form).toContain(`<input type="hidden" name="next" value="${page}"/>`);
    const wrong = await relayFetch("/admin/console/login", {
      method: "POST",
      headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: "not-the-token", next: page }),
    });
    expect(await wrong.text()).toContain(`<input type="hidden" name="next" value="${page}"/>`);
    const loggedIn = await relayFetch("/admin/console/login", {
      method: "POST",
      redirect: "manual",
      headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: ADMIN_TOKEN, next: page }),
    });
    expect(loggedIn.status).toBe(303);
    expect(loggedIn.headers.get("location")).toBe(page);

    for (const next of [
      "https://elsewhere.test/admin/console/stats",
      "//elsewhere.test/admin/console/stats",
      "/admin/console/stats/../../../t/acme/v1/traces",
      "/admin/console/tenants/acme/delete",
      "/admin/console/login",
    ]) {
      const answer = await relayFetch("/admin/console/login", {
        method: "POST",
        redirect: "manual",
        headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: ADMIN_TOKEN, next }),
      });
      expect(answer.headers.get("location"), next).toBe("/admin/");
      expect(await (await relayFetch(`/admin/console/login?${new URLSearchParams({ next })}`)).text(), next).not.toContain('name="next"');
    }
  });

  it("never carries the admin token, pasted into a page's address, on to the login form and back: the overview opens instead", async () => {
    const hex = [...ADMIN_TOKEN].map((c) => `%${c.charCodeAt(0).toString(16)}`).join("");
    for (const page of [
      `/admin/console/tenants/${ADMIN_TOKEN}`,
      `/admin/console/tenants/${hex}`,
      `/admin/console/dead-letters?tenant=${ADMIN_TOKEN}`,
      `/admin/console/stats?window=${hex}`,
    ]) {
      const linked = await relayFetch(page, { redirect: "manual" });
      const login = await relayFetch("/admin/console/login", {
        method: "POST",
        redirect: "manual",
        headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: ADMIN_TOKEN, next: page }),
      });

      expect(linked.status, page).toBe(303);
      expect(linked.headers.get("location"), page).toBe("/admin/console/login");
      expect(await (await relayFetch(`/admin/console/login?${new URLSearchParams({ next: page })}`)).text()).not.toContain('name="next"');
      expect(login.status, page).toBe(303);
      expect(login.headers.get("location"), page).toBe("/admin/");
    }
  });

  it("never carries what a change did through the login form: a link from another site confirms no revocation or replay nobody made", async () => {
    const tenant = await createTenant();
    for (const [page, kept] of [
      [`/admin/console/tenants/${tenant.id}?done=revoked`, `/admin/console/tenants/${tenant.id}`],
      [
        "/admin/console/dead-letters?tenant=acme&done=replayed&replayed=40&unavailable=2&replay_from=c",
        "/admin/console/dead-letters?tenant=acme",
      ],
    ] as const) {
      const form = await (await relayFetch(`/admin/console/login?${new URLSearchParams({ next: page })}`)).text();
      const next = fieldIn(form, "next");
      const login = await relayFetch("/admin/console/login", {
        method: "POST",
        redirect: "manual",
        headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: ADMIN_TOKEN, next: next ?? page }),
      });
      const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
      const landing = await (await relayFetch(login.headers.get("location")!, { headers: { cookie } })).text();

      expect(next, page).toBe(kept);
      expect(login.headers.get("location"), page).toBe(kept);
      expect(landing, page).not.toContain('class="notice ok"');
    }
  });

  it("says what a change did only in the session that made it: a link someone else made, opened in a logged-in console, says nothing", async () => {
    const { tenant, cookie, tenantPage, csrf, tokensNow } = await tenantPageInSession();
    const [token] = await tokensNow();
    const noticeOn = async (path: string, session: string) =>
      /<p class="notice ok" role="status">([^<]*)<\/p>/.exec(await (await relayFetch(path, { headers: { cookie: session } })).text())?.[1];

    const revoked = (await postForm(`${tenantPage}/tokens/${token!.id}/revoke`, cookie, { csrf })).headers.get("location")!;
    const signature = new URL(revoked, ORIGIN).searchParams.get("notice_signature")!;
    // Another operator's session (or an attacker's own, logged in with a token of their own) has another nonce.
    const otherSession = await consoleSessionCookie();
    const otherTenant = await createTenant();
    const otherPage = `/admin/console/tenants/${otherTenant.id}`;

    expect(await noticeOn(revoked, cookie)).toMatch(/^Token revoked/);
    // Pasted into the address bar of a logged-in console, where the browser sends its cookie.
    expect(await noticeOn(`${tenantPage}?done=revoked`, cookie)).toBeUndefined();
    expect(await noticeOn(revoked, otherSession)).toBeUndefined();
    // The session's own signature, on another page or for another notice.
    expect(await noticeOn(`${otherPage}?done=revoked&notice_signature=${signature}`, cookie)).toBeUndefined();
    expect(await noticeOn(`${tenantPage}?done=deleted&notice_signature=${signature}`, cookie)).toBeUndefined();
    expect(
      await noticeOn(`${tenantPage}?done=revoked&notice_signature=${signature.slice(0, -1)}${signature.endsWith("A") ? "B" : "A"}`, cookie),
    ).toBeUndefined();
    expect(tenant.id).not.toBe(otherTenant.id);
  });

  it("carries where the next replay goes on from only in the session whose replay left it", async () => {
    const cookie = await consoleSessionCookie();
    const replayFormFrom = async (path: string) => fieldIn(await (await relayFetch(path, { headers: { cookie } })).text(), "cursor");

    expect(await replayFormFrom("/admin/?done=replayed&replayed=100&replay_from=made-up")).toBeUndefined();
  });

  it("refuses a session signed under another admin token, or one that has expired", async () => {
    const otherToken = (await startSession("a-previous-admin-token", Date.now())).value;
    const expired = (await startSession(ADMIN_TOKEN, Date.now() - 31 * 60_000)).value;

    for (const value of [otherToken, expired]) {
      const page = await relayFetch("/admin/", { redirect: "manual", headers: { cookie: `tfy_relay_console=${value}` } });
      expect(page.status).toBe(303);
      expect(page.headers.get("location")).toBe("/admin/console/login");
    }
  });

  it("answers a log-out of a session that has ended with the login form, not a refusal", async () => {
    const expired = await consoleSessionCookie(Date.now() - 31 * 60_000);

    const loggedOut = await postForm("/admin/console/logout", expired, { csrf: "from-the-page-it-was-on" });

    expect(loggedOut.status).toBe(303);
    expect(loggedOut.headers.get("location")).toBe("/admin/console/login");
  });

  it("sends a page to the login form, and refuses a form with 401, for a cookie whose signature no base64 decodes", async () => {
    // 1 or 5 characters: base64 never ends a text one character past a multiple of 4, and atob throws on it.
    for (const signature of ["A", "AAAAA"]) {
      const cookie = `${SESSION_COOKIE}=${Date.now() + 60_000}.bm9uY2U.${signature}`;
      const page = await relayFetch("/admin/", { redirect: "manual", headers: { cookie } });
      const form = await relayFetch("/admin/console/tenants", { method: "POST", redirect: "manual", headers: { cookie, origin: ORIGIN } });

      expect(page.status).toBe(303);
      expect(page.headers.get("location")).toBe("/admin/console/login");
      expect(form.status).toBe(401);
      expect(await form.text()).toContain("your console session has ended: log in again");
    }
  });

  it("refuses a form whose body is not the form its Content-Type says with a 400 page, logging in or changing something", async () => {
    const cookie = await consoleSessionCookie();
    for (const contentType of ["multipart/form-data; boundary=b", "multipart/form-data"]) {
      for (const [path, headers] of [
        ["/admin/console/login", {}],
        ["/admin/console/tenants", { cookie }],
      ] as const) {
        const response = await relayFetch(path, {
          method: "POST",
          redirect: "manual",
          headers: { ...headers, origin: ORIGIN, "content-type": contentType },
          body: "token=x",
        });

        expect(response.status).toBe(400);
        expect(response.headers.get("set-cookie")).toBeNull();
        expect(await response.text()).toContain("the form could not be read: its body is not the form its Content-Type says");
      }
    }
  });

  it("shows a tenant's LLM usage of the last day: cost and tokens on the overview, by model on its page", async () => {
    const tenant = await createTenant();
    expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(200);
    const cookie = await consoleSessionCookie();
    const deadline = Date.now() + 30_000;
    let page = "";
    while (Date.now() < deadline && !page.includes("gpt-4.1-mini")) {
      page = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie } })).text();
      if (!page.includes("gpt-4.1-mini")) await new Promise((resolve) => setTimeout(resolve, 100));
    }

    expect(page).toMatch(
      /<td class="mono">gpt-4\.1-mini<\/td><td class="num">1<\/td><td class="num">14<\/td><td class="num">3<\/td><td class="num">0\.000013<\/td>/,
    );
    expect(await overviewRow(tenant.id, cookie)).toContain("$0.000013 · 17 tokens");
  });

  it("says on the overview which tenants need attention and why, above the table: Braintrust refusing now; a tenant delivering is ok", async () => {
    const healthy = await createTenant();
    const failing = await createTenant();
    // Down for every attempt the test can see: the queue's retries fail too.
    await standin.script(
      failing.apiKey,
      Array.from({ length: 10 }, () => ({ status: 503 })),
    );
    expect((await sendTraces(healthy, toProtobuf(trueFoundryTrace()))).status).toBe(200);
    expect((await sendTraces(failing, toProtobuf(trueFoundryTrace()))).status).toBe(200);
    const cookie = await consoleSessionCookie();
    const deadline = Date.now() + 30_000;
    let row = "";
    while (Date.now() < deadline && !row.includes("Braintrust took nothing")) {
      row = await overviewRow(failing.id, cookie);
      if (!row.includes("Braintrust took nothing")) await new Promise((resolve) => setTimeout(resolve, 100));
    }

    expect(row).toMatch(/<li class="bad">Braintrust took nothing in 5 min: \d+ attempts? failed<\/li>/);
    expect(row).toContain('<li class="watch">');
    expect(await overviewRow(healthy.id, cookie)).toContain('<span class="health ok">ok</span>');
    const page = await overviewPageOf(failing.id, cookie);
    const attention = /<p class="attention">([\s\S]*?)<\/p>/.exec(page)?.[1] ?? "";
    expect(attention).toMatch(/tenants? on this page needs? attention/);
    expect(attention).toContain(`<a href="/admin/console/tenants/${failing.id}">${failing.id}</a>`);
    expect(attention).not.toContain(`>${healthy.id}</a>`);
  });

  it("shows a tenant whose object cannot answer for its statistics as needing attention, and every other tenant as usual", async () => {
    const healthy = await createTenant();
    const overloaded = await createTenant();
    const cookie = await consoleSessionCookie();
    const bindings = { TENANT_OBJECTS: failingObject(env.TENANT_OBJECTS, overloaded.id, "statsReport", "Durable Object is overloaded") };

    const row = await overviewRow(overloaded.id, cookie, bindings);

    expect(row).toContain('<li class="bad">statistics unavailable: its Durable Object did not answer</li>');
    expect(row).toContain('<span class="muted">unknown</span>');
    expect(await overviewRow(healthy.id, cookie, bindings)).toContain('<span class="health ok">ok</span>');
  });

  it("counts a tenant's requests the relay failed (500) among its errors, on its page and the overview", async () => {
    const tenant = await createTenant();
    // ENCRYPTION_KEY changed without ENCRYPTION_KEY_PREVIOUS: the tenant's stored key opens no more.
    const otherKey = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
    for (let i = 0; i < 3; i++) {
      expect((await sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), { ENCRYPTION_KEY: otherKey })).status).toBe(500);
    }
    const cookie = await consoleSessionCookie();
    const errorsShown = (html: string) => /<svg class="chart errors"[^>]*data-total="(\d+)"/.exec(html)?.[1];
    const deadline = Date.now() + 30_000;
    let page = "";
    while (Date.now() < deadline && errorsShown(page) !== "3") {
      page = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie } })).text();
      if (errorsShown(page) !== "3") await new Promise((resolve) => setTimeout(resolve, 100));
    }

    expect(errorsShown(page)).toBe("3");
    expect(errorsShown(await overviewRow(tenant.id, cookie))).toBe("3");
  });

  it("shows a routing tenant's traces waiting for their parent, and none for a tenant that does not route", async () => {
    const routing = await createTenant({
      config: { routes: [{ match: { field: "attributes.env", equals: "eval" }, parent: "experiment_id:e" }] },
    });
    const plain = await createTenant();
    // A child whose trace's top span has not come: its trace waits.
    const child = spanWith("Model: x", [attr("tfy.span_type", "Model")], { parentSpanId: randomId(8) });
    expect((await sendTraces(routing, toProtobuf(requestOf([child])))).status).toBe(200);
    const cookie = await consoleSessionCookie();

    const routingPage = await (await relayFetch(`/admin/console/tenants/${routing.id}`, { headers: { cookie } })).text();
    const plainPage = await (await relayFetch(`/admin/console/tenants/${plain.id}`, { headers: { cookie } })).text();

    expect(routingPage).toContain('<dd class="waiting-traces">1 trace, 1 span (decided within 600 s at most)</dd>');
    expect(plainPage).not.toContain("Traces waiting for their parent");
  });

  it("replays a tenant's backlog a page a press, each press going on from where the last stopped", async () => {
    const tenant = await createTenant();
    await deadLettersFor(tenant, 41);
    await waitForDeadLetters(tenant.id, (list) => list.length === 41);
    const cookie = await consoleSessionCookie();
    const pageAt = async (path: string) => (await relayFetch(path, { headers: { cookie } })).text();
    const press = async (html: string) => {
      const cursor = fieldIn(html, "cursor");
      const answer = await postForm("/admin/console/dead-letters/replay", cookie, {
        csrf: csrfIn(html),
        tenant: tenant.id,
        return_to: tenant.id,
        ...(cursor ? { cursor } : {}),
      });
      expect(answer.status).toBe(303);
      return pageAt(answer.headers.get("location")!);
    };

    const afterFirst = await press(await pageAt(`/admin/console/tenants/${tenant.id}`));
    const afterSecond = await press(afterFirst);

    expect(afterFirst).toContain(
      "Replayed 40 dead letters onto the delivery queue; each stays listed until delivered. More are left: replay again to go on from there.",
    );
    expect(afterFirst).toContain("Replay the next dead letters");
    expect(afterSecond).toContain("Replayed 1 dead letter onto the delivery queue; it stays listed until delivered.");
    expect(fieldIn(afterSecond, "cursor")).toBeUndefined();
    expect(await waitForDeadLetters(tenant.id, (list) => list.length === 0)).toEqual([]);
  });

  it("lists dead letters with the parent their spans were for, and narrows the list to the tenant its form names", async () => {
    const [tenant, other] = await Promise.all([createTenant({ parent: "project_name:billing" }), createTenant()]);
    await Promise.all([deadLettersFor(tenant), deadLettersFor(other)]);
    const [letter] = await waitForDeadLetters(tenant.id, (list) => list.length === 1);
    await waitForDeadLetters(other.id, (list) => list.length === 1);
    const cookie = await consoleSessionCookie();
    const pageAt = async (path: string) => (await relayFetch(path, { headers: { cookie } })).text();

    // The form as a browser sends it: a GET of the page with the tenant typed in, or left empty.
    const narrowed = await pageAt(`/admin/console/dead-letters?tenant=${tenant.id}`);
    const emptied = await pageAt("/admin/console/dead-letters?tenant=");

    expect(narrowed).toContain(`<h1>Dead letters of ${tenant.id}</h1>`);
    expect(narrowed).toContain(`name="tenant" pattern="[a-z0-9_\\-]{1,64}" autocomplete="off" value="${tenant.id}"`);
    expect(narrowed).toContain('<a href="/admin/console/dead-letters">All tenants</a>');
    const row = narrowed.slice(narrowed.indexOf(`data-dead-letter="${letter!.id}"`));
    expect(row.slice(0, row.indexOf("</tr>"))).toContain('<td class="mono">project_name:billing</td>');
    expect(narrowed).not.toContain(`data-dead-letter="${other.id}:`);
    expect(emptied).toContain("<h1>Dead letters</h1>");
    expect(emptied).toContain('<form method="get" action="/admin/console/dead-letters" class="filter">');
    expect(emptied).not.toContain("All tenants");
  });

  it("returns a dead letter's delete or replay on the dead letters page to that page as it was filtered, its rows' controls named by id", async () => {
    const tenant = await createTenant();
    await deadLettersFor(tenant, 3);
    const [first, second, third] = await waitForDeadLetters(tenant.id, (list) => list.length === 3);
    const cookie = await consoleSessionCookie();
    const listPath = `/admin/console/dead-letters?tenant=${tenant.id}`;
    const page = await (await relayFetch(listPath, { headers: { cookie } })).text();
    const csrf = csrfIn(page);

    expect(page).toContain(`<input type="hidden" name="return_list" value="${listPath}"/>`);
    expect(page).toContain(`aria-label="Replay dead letter ${first!.id}"`);
    expect(page).toContain(`aria-label="Delete… ${second!.id}"`);
    expect(page).toContain(`aria-label="Delete dead letter ${second!.id}"`);
    const deleted = await postForm(`/admin/console/dead-letters/${encodeURIComponent(first!.id)}/delete`, cookie, {
      csrf,
      return_list: listPath,
    });
    const replayed = await postForm("/admin/console/dead-letters/replay", cookie, { csrf, id: second!.id, return_list: listPath });
    // A path that is no dead letters page returns to the dead letters page.
    const elsewhere = await postForm(`/admin/console/dead-letters/${encodeURIComponent(third!.id)}/delete`, cookie, {
      csrf,
      return_list: "https://elsewhere.test/",
    });

    expect(deleted.headers.get("location")).toMatch(new RegExp(`^${listPath.replace("?", "\\?")}&done=dead-letter-deleted&${SIGNED}$`));
    expect(replayed.headers.get("location")).toMatch(new RegExp(`^${listPath.replace("?", "\\?")}&done=replayed&replayed=1&.*&${SIGNED}$`));
    expect(elsewhere.headers.get("location")).toMatch(new RegExp(`^/admin/console/dead-letters\\?done=dead-letter-deleted&${SIGNED}$`));
    const after = await (await relayFetch(deleted.headers.get("location")!, { headers: { cookie } })).text();
    expect(after).toContain(`<h1>Dead letters of ${tenant.id}</h1>`);
  });

  it("says which dead letters a press left to a replay already under way, and replays none of them again", async () => {
    const tenant = await createTenant();
    await deadLettersFor(tenant);
    const [deadLetter] = await waitForDeadLetters(tenant.id, (list) => list.length === 1);
    // Replayed already, by the CLI say, and not yet delivered: its message waits on a queue that never delivers it.
    expect((await adminWith({ DELIVERY_QUEUE: recordingQueue() }, "POST", "/dead-letters/replay", { id: deadLetter!.id })).status).toBe(
      200,
    );
    const cookie = await consoleSessionCookie();
    const page = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie } })).text();

    const answer = await postForm("/admin/console/dead-letters/replay", cookie, {
      csrf: csrfIn(page),
      tenant: tenant.id,
      return_to: tenant.id,
    });

    expect(answer.status).toBe(303);
    const after = await (await relayFetch(answer.headers.get("location")!, { headers: { cookie } })).text();
    expect(after).toContain("Replayed 0 dead letters onto the delivery queue. 1 dead letter already being replayed, left to that replay.");
    expect(await deadLettersOf(tenant.id)).toEqual([deadLetter]);
  });

  it("saves a tenant's form only over the tenant it showed, and creates only a tenant that does not exist yet (412 otherwise)", async () => {
    const tenant = await createTenant();
    const cookie = await consoleSessionCookie();
    const page = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie } })).text();
    const hidden = (name: string) => fieldIn(page, name)!;
    const form = (fields: Record<string, string>) => ({
      csrf: hidden("csrf"),
      parent: "project_name:from-the-form",
      api_url: standin.url,
      key: "keep",
      settings: "{}",
      ...fields,
    });
    // Its own form goes to the tenant's address; the new tenant form to the tenants'.
    const save = (revision: string) => postForm(`/admin/console/tenants/${tenant.id}`, cookie, form({ revision }));
    const create = () => postForm("/admin/console/tenants", cookie, form({ tenant: tenant.id }));
    const parentNow = async () => ((await (await admin("GET", `/tenants/${tenant.id}`)).json()) as { parent: string }).parent;
    expect(hidden("revision")).toBe((await admin("GET", `/tenants/${tenant.id}`)).headers.get("etag"));

    // Another operator saves first.
    await admin("PUT", `/tenants/${tenant.id}`, { parent: "project_name:meanwhile", redact: { keys: [{ pattern: "x-secret" }] } });
    const stale = await save(hidden("revision"));
    const created = await create();

    expect(stale.status).toBe(412);
    // The tenant's page again, the tenant as it is now, the form as it was sent, saving over what the page now shows.
    const stalePage = await stale.text();
    const changed = `tenant ${tenant.id} was changed by someone else since this page was loaded: nothing was saved; the page shows the tenant as it is now and the form what you sent: check it and save again to replace the change`;
    expect(stalePage).toContain(`<p class="notice error" role="status">Not saved: ${changed}.</p>`);
    expect(stalePage).toContain("project_name:meanwhile");
    expect(stalePage).toContain('name="parent" required="" value="project_name:from-the-form"');
    // The settings made meanwhile, which the page shows nowhere else, beside the form's.
    const settingsNow = /<details open="" class="settings-now"><summary>[^<]*<\/summary><pre>([^<]*)<\/pre>/.exec(stalePage)?.[1];
    expect(JSON.parse(settingsNow!.replaceAll("&quot;", '"')).redact.keys).toEqual([
      { pattern: "x-secret", action: "remove", replacement: "[REDACTED]" },
    ]);
    expect(fieldIn(stalePage, "revision")!).toBe((await admin("GET", `/tenants/${tenant.id}`)).headers.get("etag"));
    expect(await parentNow()).toBe("project_name:meanwhile");
    expect(created.status).toBe(412);
    // The new tenant's form again, as it was typed, the refusal beside the id.
    const createdPage = await created.text();
    const taken = `tenant: ${tenant.id} already exists: nothing was saved; choose another id, or open it from the list to change it`;
    expect(createdPage).toContain(`<p class="notice error" role="status">Not created: ${taken}. <a href="#new-tenant">`);
    expect(createdPage).toContain(
      `value="${tenant.id}" aria-invalid="true" aria-describedby="error-tenant"/><span class="field-error" id="error-tenant">${taken}</span>`,
    );
    expect(createdPage).toContain('name="parent" required="" value="project_name:from-the-form"');
    expect(await parentNow()).toBe("project_name:meanwhile");
    expect((await save(fieldIn(stalePage, "revision")!)).status).toBe(303);
    expect(await parentNow()).toBe("project_name:from-the-form");

    // Deleted meanwhile: no page to show the form on.
    const before = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie } })).text();
    await admin("DELETE", `/tenants/${tenant.id}`);
    const gone = await save(fieldIn(before, "revision")!);
    expect(gone.status).toBe(404);
    expect(await gone.text()).toContain(`tenant ${tenant.id} was deleted by someone else since this page was loaded: nothing was saved`);
  });

  it("words a replay's notice only for counts a replay can give, should a signed link carry others", async () => {
    const notice = async (query: Record<string, string>) => noticeOf({ done: "replayed", ...query });

    expect(await notice({ replayed: "40", orphaned: "0", replaying: "2" })).toBe(
      "Replayed 40 dead letters onto the delivery queue; each stays listed until delivered. 2 dead letters already being replayed, left to that replay.",
    );
    for (const replayed of ["41", "99999999999999999999", "-5", "1e2", "3 "]) {
      expect(await notice({ replayed, orphaned: "0", replaying: "0" }), replayed).toBeUndefined();
    }
    expect(await notice({ replayed: "1", orphaned: "100", replaying: "0" })).toBeUndefined();
    expect(await notice({ replayed: "3", orphaned: "0", replaying: "0", unavailable: "2" })).toBe(
      "Replayed 3 dead letters onto the delivery queue; each stays listed until delivered. 2 dead letters not replayed: the Durable Objects of their tenants did not answer; replay them again.",
    );
    expect(await notice({ replayed: "3", orphaned: "0", replaying: "0", unavailable: "41" })).toBeUndefined();
  });

  it("says a later page with nothing on it is empty, with a link back to the first page, not that there is nothing at all", async () => {
    const cookie = await consoleSessionCookie();
    const cursorOf = async (path: string) => ((await (await admin("GET", path)).json()) as { cursor: string | null }).cursor!;
    const emptyPage = (html: string) =>
      /<p class="muted empty-page">(.*?)<\/p>/s
        .exec(html)?.[1]
        ?.replace(/<a href="([^"]*)">/, "[$1]")
        .replaceAll("</a>", "")
        .replaceAll("&amp;", "&");
    const pageAt = async (path: string, query: Record<string, string>) =>
      (await relayFetch(`${path}?${new URLSearchParams(query)}`, { headers: { cookie } })).text();
    // Two tenants after every other: the page after the first of them is the second's, which then goes.
    const run = crypto.randomUUID().slice(0, 8);
    const [kept, gone] = [`zzzz-${run}-a`, `zzzz-${run}-b`];
    for (const id of [kept, gone]) expect((await admin("PUT", `/tenants/${id}`, { parent: "project_id:p" })).status).toBe(201);
    const listed = ((await (await admin("GET", "/tenants?limit=1000")).json()) as { tenants: { id: string }[] }).tenants;
    const tenantsAfterKept = await cursorOf(`/tenants?limit=${listed.findIndex(({ id }) => id === kept) + 1}`);
    expect((await admin("DELETE", `/tenants/${gone}`)).status).toBe(204);
    // A tenant's second dead letter, deleted once its page's cursor was given.
    const tenant = await createTenant();
    await deadLettersFor(tenant, 2);
    const [, second] = await waitForDeadLetters(tenant.id, (list) => list.length === 2);
    const deadLettersAfterFirst = await cursorOf(`/dead-letters?tenant=${tenant.id}&limit=1`);
    expect((await admin("DELETE", `/dead-letters/${encodeURIComponent(second!.id)}`)).status).toBe(204);

    const tenants = await pageAt("/admin/", { cursor: tenantsAfterKept });
    const stats = await pageAt("/admin/console/stats", { window: "24h", cursor: tenantsAfterKept });
    const deadLetters = await pageAt("/admin/console/dead-letters", { tenant: tenant.id, cursor: deadLettersAfterFirst });

    expect(emptyPage(tenants)).toBe("No tenants on this page. [/admin/]Back to the first page.");
    expect(tenants).not.toContain("No tenants yet");
    expect(emptyPage(stats)).toBe("No tenants on this page. [/admin/console/stats?window=24h]Back to the first page.");
    expect(stats).not.toContain("No tenants yet");
    expect(emptyPage(deadLetters)).toBe(
      `No dead letters on this page. [/admin/console/dead-letters?tenant=${tenant.id}]Back to the first page.`,
    );
    expect(deadLetters).not.toContain("No dead letters.");
    // The first pages are not later pages.
    expect(emptyPage(await pageAt("/admin/console/dead-letters", { tenant: uniqueTenantId() }))).toBeUndefined();
  });

  it("shows an unknown key of the settings JSON beside the settings, the form's field for the body it makes", async () => {
    const { tenant, cookie, tenantPage } = await tenantPageInSession();
    const page = await (await relayFetch(tenantPage, { headers: { cookie } })).text();
    const hidden = (name: string) => fieldIn(page, name)!;

    const refused = await postForm(tenantPage, cookie, {
      csrf: hidden("csrf"),
      revision: hidden("revision"),
      parent: tenant.parent,
      key: "keep",
      settings: '{"route": []}',
    });

    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain(
      '<span class="field-error" id="error-settings">settings: &quot;route&quot; is not a known field</span>',
    );
  });

  it("names every column of a tenant's tables, and keeps its token form out of a paragraph, where HTML lets no form be", async () => {
    const { tenant, cookie, tenantPage } = await tenantPageInSession();
    await deadLettersFor(tenant, 1);
    await waitForDeadLetters(tenant.id, (list) => list.length === 1);

    const page = await (await relayFetch(tenantPage, { headers: { cookie } })).text();

    expect(page).toContain('<th>Created</th><th><span class="hidden-name">Revoke</span></th>');
    expect(page).toContain('<th>Reason</th><th><span class="hidden-name">Replay or delete</span></th>');
    expect(page).not.toMatch(/<th\s*\/>|<th><\/th>/);
    expect(page).toContain('<div class="issue"><form method="post" action="');
    expect(page).not.toMatch(/<p>\s*<form/);
  });

  it("says a tenant that stopped routing still sends the traces decided before to their parents, until when", async () => {
    const tenant = await createTenant({ config: { routes: [{ match: { field: "span_name", equals: "x" }, parent: "project_name:x" }] } });
    const cookie = await consoleSessionCookie();
    const put = await admin("PUT", `/tenants/${tenant.id}`, { parent: tenant.parent, routes: [] });
    const { routed_until } = (await put.json()) as { routed_until: string };

    const page = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie } })).text();

    expect(page).toContain("No routes. Routing stopped: until");
    expect(page).toContain(`datetime="${routed_until}"`);
    expect(page).toContain("waiting for their trace");
  });

  it("says a refusal of what the form has no field for once, at the top of the page, beside none of the form's fields", async () => {
    const tenant = await createTenant();
    const cookie = await consoleSessionCookie();
    const page = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie } })).text();
    const csrf = csrfIn(page);

    // The revision the form saves over goes as If-Match: one the API cannot read is refused as that header.
    const refused = await postForm(`/admin/console/tenants/${tenant.id}`, cookie, {
      csrf,
      revision: "not-a-revision",
      parent: tenant.parent,
      key: "keep",
      settings: "{}",
    });

    expect(refused.status).toBe(400);
    const html = await refused.text();
    expect(html.match(/If-Match: must be/g)).toHaveLength(1);
    // With no link down to a field to change.
    expect(refusalShown(html)).toBe(
      'Not saved: If-Match: must be * or a list of entity tags such as "5f1c…", as an ETag header gives them.',
    );
    expect(html).not.toContain("aria-invalid");
    expect(html).not.toContain('class="field-error"');
  });

  it("issues a token with a form answered by a redirect to the tenant's page, which shows it once: a reload issues and shows no other", async () => {
    const { tenant, cookie, tenantPage, csrf, tokensNow } = await tenantPageInSession();
    const before = await tokensNow();
    const tokenIn = (html: string) => /<code class="token">([^<]*)<\/code>/.exec(html)?.[1];

    const posted = await postForm(`${tenantPage}/tokens`, cookie, { csrf });
    expect(posted.status).toBe(303);
    const issuedPage = posted.headers.get("location")!;
    expect(issuedPage).toMatch(new RegExp(`^${tenantPage}\\?done=issued&${SIGNED}$`));
    const handed = posted.headers.get("set-cookie")!;
    expect(handed).toMatch(
      new RegExp(`^tfy_relay_issued_token=v1\\.[\\w-]+\\.[\\w-]+; Max-Age=60; Path=${tenantPage}; HttpOnly; Secure; SameSite=Strict$`),
    );
    const withHanded = `${cookie}; ${handed.split(";")[0]}`;

    const shown = await relayFetch(issuedPage, { headers: { cookie: withHanded } });
    const token = tokenIn(await shown.text());
    const reloaded = await (await relayFetch(issuedPage, { headers: { cookie } })).text();
    // The same cookie, copied to another session: it opens for the session it was handed to only.
    const otherSession = await consoleSessionCookie();
    const elsewhere = await (await relayFetch(tenantPage, { headers: { cookie: `${otherSession}; ${handed.split(";")[0]}` } })).text();
    // And sent to another tenant's page in the same session, as its path keeps a browser from doing: it opens for its own tenant only.
    const otherTenant = await createTenant();
    const otherPage = await (await relayFetch(`/admin/console/tenants/${otherTenant.id}`, { headers: { cookie: withHanded } })).text();

    expect(shown.status).toBe(200);
    expect(token).toMatch(/^tbr_[0-9a-f]{16}_/);
    expect(handed).not.toContain(token);
    // Shown, the cookie is dropped: the browser sends it no more.
    expect(shown.headers.get("set-cookie")).toMatch(new RegExp(`^tfy_relay_issued_token=; Max-Age=0; Path=${tenantPage}; `));
    expect(tokenIn(reloaded)).toBeUndefined();
    expect(reloaded).toContain("Token issued. It was shown once, when this page first opened after issuing it, and is not shown again");
    expect(tokenIn(elsewhere)).toBeUndefined();
    expect(tokenIn(otherPage)).toBeUndefined();
    const after = await tokensNow();
    expect(after).toHaveLength(before.length + 1);
    expect(token).toContain(`tbr_${after.find(({ id }) => !before.some((b) => b.id === id))!.id}_`);
    expect((await sendTraces({ id: tenant.id, bearer: token! }, toProtobuf(trueFoundryTrace()))).status).toBe(200);
  });

  it("issues one token for a form sent twice (a double click): the second press replaces the first's, and the page shows it", async () => {
    const { tenant, cookie, tenantPage, csrf, issueKey, tokensNow } = await tenantPageInSession();
    const before = await tokensNow();
    const press = () => postForm(`${tenantPage}/tokens`, cookie, { csrf, issue_key: issueKey });

    // The browser sends both presses with the cookies it had, and follows the last answer.
    const [first, second] = [await press(), await press()];
    const handed = second.headers.get("set-cookie")!.split(";")[0]!;
    const page = await (await relayFetch(second.headers.get("location")!, { headers: { cookie: `${cookie}; ${handed}` } })).text();

    expect([first.status, second.status]).toEqual([303, 303]);
    const shown = /<code class="token">(tbr_([0-9a-f]{16})_[^<]*)<\/code>/.exec(page);
    const issued = (await tokensNow()).filter(({ id }) => !before.some((b) => b.id === id));
    expect(issued.map((t) => t.id)).toEqual([shown?.[2]]);
    expect((await sendTraces({ id: tenant.id, bearer: shown![1]! }, toProtobuf(trueFoundryTrace()))).status).toBe(200);
    // Each showing of the page has a key of its own: pressed from a page opened again, the form issues another token.
    const again = fieldIn(page, "issue_key");
    expect(again).not.toBe(issueKey);
  });

  it("shows no token a second press of the same form replaced, when the presses crossed on the way, and says so", async () => {
    const { cookie, tenantPage, csrf, issueKey } = await tenantPageInSession();
    const press = () => postForm(`${tenantPage}/tokens`, cookie, { csrf, issue_key: issueKey });

    // The press the browser follows reached the relay first; the one before it, later, replaced its token.
    const followed = await press();
    await press();
    const handed = followed.headers.get("set-cookie")!.split(";")[0]!;
    const page = await (await relayFetch(followed.headers.get("location")!, { headers: { cookie: `${cookie}; ${handed}` } })).text();

    expect(page).not.toContain('<code class="token">');
    expect(page).toContain("The token this press issued was replaced by another press of the same form");
  });

  it("revokes a token it could not hand to the tenant's page, ENCRYPTION_KEY missing, so no token stays issued unseen", async () => {
    const { cookie, tenantPage, csrf, tokensNow } = await tenantPageInSession();
    const before = await tokensNow();

    const posted = await postForm(`${tenantPage}/tokens`, cookie, { csrf }, { ENCRYPTION_KEY: undefined });

    expect(posted.status).toBe(500);
    expect(posted.headers.get("set-cookie") ?? "").not.toContain("tfy_relay_issued_token");
    expect(await posted.text()).not.toMatch(/tbr_[0-9a-f]{16}_/);
    expect(await tokensNow()).toEqual(before);
  });

  it("shows a tenant's ingest endpoint as the full URL the gateway's Traces endpoint takes, at the console's own address", async () => {
    const tenant = await createTenant();
    const cookie = await consoleSessionCookie();

    const page = await (await relayFetch(`/admin/console/tenants/${tenant.id}`, { headers: { cookie } })).text();

    expect(page).toContain(`Ingest endpoint: <code class="ingest-url">https://relay.test/t/${tenant.id}/v1/traces</code>`);
  });

  it("offers as the Braintrust key's choices only those that differ: passthrough once, and as removing a key only where one is stored", async () => {
    const stored = await createTenant();
    const passthrough = await createTenant({ mode: "passthrough" });
    const cookie = await consoleSessionCookie();
    const keyChoices = async (path: string) => {
      const html = await (await relayFetch(path, { headers: { cookie } })).text();
      const fieldset = html.slice(html.indexOf("<legend>Braintrust API key</legend>"), html.indexOf("</fieldset>"));
      // The choices are the radio buttons' labels; the key's own field has a label of its own.
      const choices = Array.from(fieldset.matchAll(/<label>(.*?)<\/label>/gs), ([, label]) => label!).filter((label) =>
        label.includes('type="radio"'),
      );
      return choices.map((label) => {
        const value = /value="(\w+)"/.exec(label)![1]!;
        const text = label
          .replace(/<[^>]*>/g, "")
          .replace(/\s+/g, " ")
          .trim();
        return `${value}: ${text}`;
      });
    };

    expect(await keyChoices("/admin/")).toEqual([
      "passthrough: passthrough: clients send their own key",
      "store: store this key (write-only), clients use ingest tokens",
    ]);
    expect(await keyChoices(`/admin/console/tenants/${stored.id}`)).toEqual([
      "keep: keep as it is (a key is stored; it is never shown)",
      "passthrough: passthrough: clients send their own key (removes the stored key and its tokens)",
      "store: store this key (write-only), clients use ingest tokens",
    ]);
    expect(await keyChoices(`/admin/console/tenants/${passthrough.id}`)).toEqual([
      "keep: keep as it is (passthrough: clients send their own key)",
      "store: store this key (write-only), clients use ingest tokens",
    ]);
  });

  it("refuses a new tenant's id that a URL path would resolve (. or ..) with the id rule, beside the id", async () => {
    const cookie = await consoleSessionCookie();
    const home = await (await relayFetch("/admin/", { headers: { cookie } })).text();
    const csrf = csrfIn(home);

    for (const id of [".", ".."]) {
      const refused = await postForm("/admin/console/tenants", cookie, {
        csrf,
        tenant: id,
        parent: "project_name:p",
        key: "keep",
        settings: "{}",
      });

      expect(refused.status).toBe(400);
      expect(await refused.text()).toContain(
        '<span class="field-error" id="error-tenant">tenant: ids are 1-64 characters of a-z, 0-9, - and _</span>',
      );
    }
  });

  it("never repeats the admin token pasted into a tenant form's address: the API refuses it as an id, masked", async () => {
    const { cookie, csrf } = await tenantPageInSession();

    const refused = await postForm(`/admin/console/tenants/${ADMIN_TOKEN}`, cookie, {
      csrf,
      revision: '"abc"',
      parent: "project_name:p",
      key: "keep",
      settings: "{}",
    });

    expect(refused.status).toBe(404);
    const html = await refused.text();
    expect(refusalShown(html)).toBe("no such tenant: [the admin token]");
    expect(html).not.toContain(ADMIN_TOKEN);
    expect(await env.TENANTS.get(`tenant:${ADMIN_TOKEN}`)).toBeNull();
  });

  it("refuses a tenant form whose revision is missing or no header can carry with a 400 page, never as the relay's failure", async () => {
    const { cookie, csrf, tenant, tenantPage } = await tenantPageInSession();

    for (const revision of ['"abc"\r\nx-injected: 1', '"abc"\n', '"abc"\u0000', ""]) {
      const { result: refused, errors } = await loggedWhile(() =>
        postForm(tenantPage, cookie, {
          csrf,
          revision,
          parent: "project_name:p",
          key: "keep",
          settings: "{}",
        }),
      );

      expect(refused.status).toBe(400);
      expect(refusalShown(await refused.text())).toBe(
        "revision: must be the tenant revision the page gave, sent back as it came: open the tenant again",
      );
      expect(errors).toEqual([]);
    }
    expect(((await (await admin("GET", `/tenants/${tenant.id}`)).json()) as { parent: string }).parent).toBe(tenant.parent);
  });

  it("refuses to delete a tenant whose id breaks the id rule with the rule, not the id, however long it is", async () => {
    const cookie = await consoleSessionCookie();
    const home = await (await relayFetch("/admin/", { headers: { cookie } })).text();
    const csrf = csrfIn(home);
    const id = "X".repeat(512 * 1024);

    const refused = await postForm(`/admin/console/tenants/${id}/delete`, cookie, { csrf, confirm: "acme" });

    expect(refused.status).toBe(400);
    const page = await refused.text();
    expect(refusalShown(page)).toBe("tenant: ids are 1-64 characters of a-z, 0-9, - and _");
    expect(page).not.toContain("XXX");
  });

  it("sends with a refusal's page the headers its status calls for: WWW-Authenticate with a 401, Retry-After with a 503", async () => {
    const cookie = await consoleSessionCookie();
    const wrongToken = await logIn("not-the-token");
    const storageDown = await relayFetchWith({ TENANTS: failingBinding(env.TENANTS, "list", "KV list failed: unavailable") }, "/admin/", {
      headers: { cookie },
    });

    expect(wrongToken.status).toBe(401);
    expect(wrongToken.headers.get("www-authenticate")).toBe('Bearer realm="relay"');
    expect(storageDown.status).toBe(503);
    expect(storageDown.headers.get("content-type")).toMatch(/^text\/html/);
    expect(Number(storageDown.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("says why a tenant's page cannot be shown when a deletion's confirmation is mistyped and the page fails for another reason", async () => {
    const cookie = await consoleSessionCookie();
    const home = await (await relayFetch("/admin/", { headers: { cookie } })).text();
    const csrf = csrfIn(home);
    const tenant = await createTenant();
    const payloads = failingBinding(env.PAYLOADS, "list", "R2 list failed: unavailable");

    const refused = await postForm(
      `/admin/console/tenants/${tenant.id}/delete`,
      cookie,
      { csrf, confirm: "not-the-id" },
      { PAYLOADS: payloads },
    );

    expect(refused.status).toBe(500);
    expect(refusalShown(await refused.text())).not.toContain("type the tenant id");
    expect((await admin("GET", `/tenants/${tenant.id}`)).status).toBe(200);
  });

  it("masks the admin token where a page's refusal would name it: pasted as a tenant id, which it can look like", async () => {
    const cookie = await consoleSessionCookie();
    const home = await (await relayFetch("/admin/", { headers: { cookie } })).text();
    const csrf = csrfIn(home);

    const page = await relayFetch(`/admin/console/tenants/${ADMIN_TOKEN}`, { headers: { cookie } });
    const deletion = await postForm(`/admin/console/tenants/${ADMIN_TOKEN}/delete`, cookie, { csrf, confirm: "acme" });

    expect(page.status).toBe(404);
    expect(refusalShown(await page.text())).toBe("no such tenant: [the admin token]");
    expect(deletion.status).toBe(400);
    expect(refusalShown(await deletion.text())).toBe("confirm: type the tenant id, [the admin token], to delete the tenant");
  });

  it("never writes the admin token into the dead letters page, typed into its tenant filter: no tenant has it", async () => {
    const cookie = await consoleSessionCookie();

    const filtered = await relayFetch(`/admin/console/dead-letters?tenant=${ADMIN_TOKEN}`, { headers: { cookie } });

    expect(filtered.status).toBe(404);
    const page = await filtered.text();
    expect(refusalShown(page)).toBe("no such tenant: [the admin token]");
    expect(page).not.toContain(ADMIN_TOKEN);
  });

  it("refuses settings that give a key twice in one object, naming it, as the admin API refuses such a body", async () => {
    const cookie = await consoleSessionCookie();
    const home = await (await relayFetch("/admin/", { headers: { cookie } })).text();
    const csrf = csrfIn(home);
    const tenant = uniqueTenantId("console");

    const refused = await postForm("/admin/console/tenants", cookie, {
      csrf,
      tenant,
      parent: "project_name:p",
      key: "passthrough",
      settings: '{"translate": false, "translate": true}',
    });

    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain(
      '<span class="field-error" id="error-settings">settings: translate: given twice in one object, where only the last would be read</span>',
    );
    expect((await admin("GET", `/tenants/${tenant}`)).status).toBe(404);
  });

  it("shows a refused tenant form again without the Braintrust key, wherever it was typed: the settings JSON, the API URL's user:password@", async () => {
    const cookie = await consoleSessionCookie();
    const home = await (await relayFetch("/admin/", { headers: { cookie } })).text();
    const csrf = csrfIn(home);
    const tenant = uniqueTenantId("console");
    const inSettings = `sk-${"s".repeat(40)}`;
    const inUrl = `sk-${"u".repeat(40)}`;

    const send = (fields: Record<string, string>) =>
      postForm("/admin/console/tenants", cookie, { csrf, tenant, key: "passthrough", settings: "{}", ...fields });

    const refused = await send({
      parent: "not-a-parent",
      api_url: `https://braintrust:${inUrl}@braintrust.example.com/api`,
      settings: `{\n  "translate": false,\n  "braintrust": {"api_key": "${inSettings}"}\n}`,
    });
    // Refused for the credentials, or for a URL that does not parse past them.
    const urls = await Promise.all(
      [
        `https://braintrust:${inUrl}@braintrust.example.com`,
        `https:braintrust:${inUrl}@braintrust.example.com`,
        `https://b:${inUrl}@not a host`,
        // What a URL parser drops before reading: a tab or a line break anywhere, a control character first.
        `ht\ttps://braintrust:${inUrl}@braintrust.example.com`,
        `https:\n//braintrust:${inUrl}@braintrust.example.com`,
        `\u0001https://braintrust:${inUrl}@braintrust.example.com`,
      ].map(async (url) => (await send({ parent: "project_name:p", api_url: url })).text()),
    );
    // Its closing quote forgotten, as a key pasted in can be: no longer JSON.
    const unclosed = await (await send({ parent: "project_name:p", settings: `{"braintrust": {"api_key": "${inSettings}}}` })).text();
    // A name JSON.parse reads as api_key.
    const escaped = await (await send({ parent: "not-a-parent", settings: `{"braintrust": {"api\\u005fkey": "${inSettings}"}}` })).text();

    expect(refused.status).toBe(400);
    const page = await refused.text();
    expect(page).toContain("parent: must be");
    expect(page).not.toContain(inSettings);
    expect(page).not.toContain(inUrl);
    // The rest as typed, so only the key is typed again.
    expect(page).toContain("&quot;translate&quot;: false");
    expect(page).toContain('value="https://braintrust.example.com/api"');
    expect(unclosed).toContain("settings: must be a JSON object");
    expect(unclosed).not.toContain(inSettings);
    expect(escaped).toContain("parent: must be");
    expect(escaped).not.toContain(inSettings);
    for (const url of urls) {
      expect(url).toContain("braintrust.api_url: must");
      expect(url).not.toContain(inUrl);
    }
    expect((await admin("GET", `/tenants/${tenant}`)).status).toBe(404);
  });

  it("keeps the stored key when the key field says so, refusing settings that give one (a pasted PUT body), and changes nothing", async () => {
    const { tenant, cookie, tenantPage, csrf } = await tenantPageInSession();
    const read = await admin("GET", `/tenants/${tenant.id}`);
    const before = await read.json();
    const revision = read.headers.get("etag")!;
    const save = (settings: string) =>
      postForm(tenantPage, cookie, { csrf, revision, parent: tenant.parent, api_url: standin.url, key: "keep", settings });

    for (const settings of [`{"braintrust": {"api_key": "sk-${"p".repeat(40)}"}}`, '{"braintrust": {"api_key": null}}']) {
      const refused = await save(settings);
      expect(refused.status, settings).toBe(400);
      expect(await refused.text(), settings).toContain(`<span class="field-error" id="error-settings">${KEPT_KEY_IN_SETTINGS}</span>`);
    }
    const kept = await save('{"translate": false}');

    expect(kept.status).toBe(303);
    const after = (await (await admin("GET", `/tenants/${tenant.id}`)).json()) as Record<string, unknown>;
    expect(after).toMatchObject({ auth: "stored_key", translate: false, tokens: (before as { tokens: unknown }).tokens });
    // Delivered with the key stored before: it is the stand-in's, which a key from the settings would not be.
    const trace = trueFoundryTrace();
    expect((await sendTraces(tenant, toProtobuf(trace))).status).toBe(200);
    expect(
      (
        await standin.waitForSpans(
          tenant.apiKey,
          spansOf(trace).map((span) => hex(span.spanId)),
        )
      ).missing,
    ).toEqual([]);
  });

  it("saves an emptied API URL field as the default its hint names, which a stored key follows only when given again", async () => {
    const EU = "https://api-eu.braintrust.dev";
    const passthrough = await createTenant({ mode: "passthrough", apiUrl: EU });
    const stored = await createTenant();
    const cookie = await consoleSessionCookie();
    const save = async (tenant: { id: string; parent: string }) => {
      const path = `/admin/console/tenants/${tenant.id}`;
      const page = await (await relayFetch(path, { headers: { cookie } })).text();
      expect(page).toContain('<span class="hint">empty: https://api.braintrust.dev</span>');
      const hidden = (name: string) => fieldIn(page, name)!;
      return postForm(path, cookie, {
        csrf: hidden("csrf"),
        revision: hidden("revision"),
        parent: tenant.parent,
        api_url: "",
        key: "keep",
        settings: "{}",
      });
    };
    const urlOf = async (id: string) =>
      ((await (await admin("GET", `/tenants/${id}`)).json()) as { braintrust: { api_url: string } }).braintrust.api_url;

    const moved = await save(passthrough);
    const refused = await save(stored);

    expect(moved.status).toBe(303);
    expect(await urlOf(passthrough.id)).toBe("https://api.braintrust.dev");
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain(`stored key was given for its api_url, not the one this PUT gives`);
    expect(await urlOf(stored.id)).toBe(standin.url);
  });

  it("reads a refused form's settings string by string, so no string's text hides a key from being emptied; withholds what it cannot read for sure", async () => {
    const cookie = await consoleSessionCookie();
    const home = await (await relayFetch("/admin/", { headers: { cookie } })).text();
    const csrf = csrfIn(home);
    const key = `sk-${"k".repeat(40)}`;
    const textarea = (html: string) => /<textarea name="settings"[^>]*>([^<]*)<\/textarea>/.exec(html)![1]!.replaceAll("&quot;", '"');
    const withheld = "Not shown again, for safety, as it may hold a key: type the settings again.";
    // A parent the API refuses: every form here is refused, whatever its settings.
    const send = async (settings: string) => {
      const refused = await postForm("/admin/console/tenants", cookie, {
        csrf,
        tenant: uniqueTenantId(),
        parent: "not-a-parent",
        key: "passthrough",
        settings,
      });
      expect(refused.status).toBe(400);
      const html = await refused.text();
      expect(html).not.toContain(key);
      return { settings: textarea(html), withheld: html.includes(withheld) };
    };

    // A string whose text reads as the end of one member and the start of another.
    expect(await send(`{"braintrust": {"x": [": "], "api_key": "${key}"}}`)).toEqual({
      settings: '{"braintrust": {"x": [": "], "api_key": ""}}',
      withheld: false,
    });
    expect(await send(`{"x": "\\\\", "api_key": "${key}", "y": "\\\\"}`)).toEqual({
      settings: '{"x": "\\\\", "api_key": "", "y": "\\\\"}',
      withheld: false,
    });
    // A key that is passthrough's null hides nothing.
    expect(await send('{"braintrust": {"api_key": null}, "x": 1}')).toEqual({
      settings: '{"braintrust": {"api_key": null}, "x": 1}',
      withheld: false,
    });
    // No string to empty: a key in a list or an object, or a key sent twice, one of them no string.
    for (const settings of [
      `{"braintrust": {"api_key": ["${key}"]}}`,
      `{"braintrust": {"api_key": {"k": "${key}"}}}`,
      `{"braintrust": {"api_key": {"k": "${key}"}, "api_key": "x"}}`,
    ]) {
      expect(await send(settings), settings).toEqual({ settings: "{}", withheld: true });
    }
    // Not JSON: where its strings start is anyone's guess once it names an api_key, or could (an escape).
    for (const settings of [`{"x": "a, "api_key": "${key}"}`, `{"x": "a, "api\\u005fkey": "${key}"}`]) {
      expect(await send(settings), settings).toEqual({ settings: "{}", withheld: true });
    }
    expect(await send('{"routes": [}')).toEqual({ settings: '{"routes": [}', withheld: false });
  });

  it("refuses a route match nested deeper than 16 levels with the API's 400, naming the match, on the form's page", async () => {
    const cookie = await consoleSessionCookie();
    const home = await (await relayFetch("/admin/", { headers: { cookie } })).text();
    const csrf = csrfIn(home);
    const tenant = `console-${crypto.randomUUID().slice(0, 8)}`;
    const match = `${'{"all":['.repeat(1_000)}{"field":"span_name","equals":"x"}${"]}".repeat(1_000)}`;

    const refused = await postForm("/admin/console/tenants", cookie, {
      csrf,
      tenant,
      parent: "project_name:p",
      key: "keep",
      settings: `{"routes":[{"match":${match},"parent":"project_name:q"}]}`,
    });

    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("routes.0.match: may nest all and any at most 16 levels deep");
    expect((await admin("GET", `/tenants/${tenant}`)).status).toBe(404);
  });
});
