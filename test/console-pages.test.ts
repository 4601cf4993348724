import { describe, expect, it } from "vitest";
import { FORM_PATHS, ORIGIN, refusalShown } from "./support/console.js";
import { ADMIN_TOKEN, admin, consoleSessionCookie, relayFetch, uniqueTenantId } from "./support/relay.js";

/** Which requests the console's pages answer and how: sessions, not the API's token; methods; CSRF; 404 and 400 pages. */
describe("the console's pages beside the admin API: who they open for, their methods and CSRF", () => {
  it("sends the console's security headers with the redirect from /admin to /admin/ too, the first answer a browser gets", async () => {
    const redirect = await relayFetch("/admin", { redirect: "manual" });

    expect(redirect.status).toBe(301);
    expect(redirect.headers.get("location")).toBe("/admin/");
    // 180 days, as Hono's secure headers set it.
    expect(redirect.headers.get("strict-transport-security")).toBe("max-age=15552000; includeSubDomains");
    expect(redirect.headers.get("content-security-policy")).toBe(
      "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(redirect.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("tells a browser opened at the relay's root, where wrangler dev's address leads, that the console is at /admin/", async () => {
    const root = await relayFetch("/", { headers: { accept: "text/html" } });

    expect(root.status).toBe(404);
    expect(await root.json()).toMatchObject({
      error: { code: "not_found", message: "no such route: traces go to POST /t/<tenant>/v1/traces; the admin console is at /admin/" },
    });
  });

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
});
