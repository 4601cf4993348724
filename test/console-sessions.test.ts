import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { consoleApp } from "../src/console/app.js";
import { SESSION_COOKIE, SESSION_MAX_SECONDS, startSession } from "../src/console/session.js";
import { csrfIn, fieldIn, logIn, ORIGIN, postForm, tenantPageInSession } from "./support/console.js";
import { ADMIN_TOKEN, consoleSessionCookie, createTenant, relayFetch } from "./support/relay.js";

/** Logging in, the session's cookie, its renewal and end, and what a link carries through the login form. */
describe("the console's login and sessions", () => {
  it("says the console is disabled on its login page while ADMIN_TOKEN is shorter than 32 characters", async () => {
    const page = await consoleApp.request("/admin/console/login", {}, { ...env, ADMIN_TOKEN: ADMIN_TOKEN.slice(0, 31) });

    expect(page.status).toBe(401);
    expect(await page.text()).toContain("the console is disabled: ADMIN_TOKEN is shorter than 32 characters");
  });

  it("says the console is disabled on its login page, and takes no login, while ADMIN_TOKEN is the ENCRYPTION_KEY", async () => {
    const bindings = { ...env, ADMIN_TOKEN: env.ENCRYPTION_KEY };
    const page = await consoleApp.request("/admin/console/login", {}, bindings);
    const login = await consoleApp.request(
      "https://relay.test/admin/console/login",
      {
        method: "POST",
        headers: { origin: "https://relay.test", "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: env.ENCRYPTION_KEY }),
      },
      bindings,
    );

    expect(page.status).toBe(401);
    expect(await page.text()).toContain("the console is disabled: ADMIN_TOKEN is the relay&#39;s ENCRYPTION_KEY");
    expect(login.status).toBe(401);
    expect(login.headers.get("set-cookie")).toBeNull();
  });

  it("says on its login page, reached over plain http elsewhere than localhost, why it offers no token field there: the token would travel in clear, the session's cookie be dropped", async () => {
    const loginPage = async (url: string) => {
      const page = await (await consoleApp.request(url, {}, env)).text();
      return { warned: page.includes("This page came over plain http"), asksForToken: page.includes('name="token"') };
    };
    const overPlainHttp = { warned: true, asksForToken: false };

    expect(await loginPage("http://devbox.test:8787/admin/console/login")).toEqual(overPlainHttp);
    expect(await loginPage("http://10.0.0.7/admin/console/login")).toEqual(overPlainHttp);
    for (const url of ["https://relay.test", "http://localhost:8787", "http://127.0.0.1:8787", "http://[::1]:8787", "http://app.localhost"])
      expect(await loginPage(`${url}/admin/console/login`)).toEqual({ warned: false, asksForToken: true });
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
    const page = await refused.text();
    expect(page).toContain("This page came over plain http");
    expect(page).not.toContain('name="token"');
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
    // A name that begins as a loopback address does but goes on is another host's: the cookie stays Secure.
    expect(await cookieAt("http://127.0.0.1.devbox.test:8787")).toMatch(/; Secure;/);
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

  it("takes the admin token pasted with white space around it, as a terminal's selection or a copied line brings it", async () => {
    for (const pasted of [` ${ADMIN_TOKEN}`, `${ADMIN_TOKEN}  `, `\t${ADMIN_TOKEN}\u00a0`]) {
      const loggedIn = await logIn(pasted);

      expect(loggedIn.status).toBe(303);
      expect(loggedIn.headers.get("set-cookie")).toMatch(/^tfy_relay_console=/);
    }
    // Only around it: the token with a space inside, or cut short, is no admin token.
    expect((await logIn(`${ADMIN_TOKEN.slice(0, 8)} ${ADMIN_TOKEN.slice(8)}`)).status).toBe(401);
    expect((await logIn(` ${ADMIN_TOKEN.slice(1)} `)).status).toBe(401);
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

  it("remembers a log-out until 12 hours after the session's login, as long as a copy of its cookie renewed since could last", async () => {
    const startedAt = Date.now() - 20 * 60_000;
    const started = (await startSession(ADMIN_TOKEN, startedAt)).value;
    const cookie = `${SESSION_COOKIE}=${started}`;
    const csrf = csrfIn(await (await relayFetch("/admin/", { headers: { cookie } })).text());

    expect((await postForm("/admin/console/logout", cookie, { csrf })).status).toBe(303);

    const nonce = started.split(".")[2]!;
    const { keys } = await env.TENANTS.list({ prefix: `console-session-ended:${nonce}` });
    expect(keys).toHaveLength(1);
    // KV's expiration is in whole seconds, from KV's clock.
    expect(keys[0]!.expiration! * 1000).toBeGreaterThanOrEqual(startedAt + SESSION_MAX_SECONDS * 1000 - 5_000);
  });

  it("takes no login, nor any change, from a POST that names no origin: a browser names its own with every POST", async () => {
    const noOrigin = { "content-type": "application/x-www-form-urlencoded" };
    const login = await relayFetch("/admin/console/login", {
      method: "POST",
      redirect: "manual",
      headers: noOrigin,
      body: new URLSearchParams({ token: ADMIN_TOKEN }),
    });
    expect(login.status).toBe(403);
    expect(login.headers.get("set-cookie")).toBeNull();

    const cookie = await consoleSessionCookie();
    const csrf = csrfIn(await (await relayFetch("/admin/", { headers: { cookie } })).text());
    const tenant = await createTenant();
    const replay = await relayFetch("/admin/console/dead-letters/replay", {
      method: "POST",
      redirect: "manual",
      headers: { ...noOrigin, cookie },
      body: new URLSearchParams({ csrf, tenant: tenant.id, return_to: tenant.id }),
    });
    expect(replay.status).toBe(403);
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

  it("never carries a base64 admin token (with + / =), pasted into a page's query, on to the login form", async () => {
    // As `openssl rand -base64 32` makes one, as the README says to: a query written again keeps its
    // `+`, which form-decoding reads as a space, and escapes its `/` and `=`.
    const token = "Kq3/x+Q9zKp2Lm8Nq4Rs6Tu7Vw0Yx1Zc5DeFgHiJk=";
    const bindings = { ...env, ADMIN_TOKEN: token };
    for (const page of [`/admin/console/dead-letters?tenant=${token}`, `/admin/console/stats?window=${token}`]) {
      const linked = await consoleApp.request(`${ORIGIN}${page}`, { redirect: "manual" }, bindings);
      const form = await (
        await consoleApp.request(`${ORIGIN}/admin/console/login?${new URLSearchParams({ next: page })}`, {}, bindings)
      ).text();

      expect(linked.status, page).toBe(303);
      expect(linked.headers.get("location"), page).toBe("/admin/console/login");
      expect(form, page).not.toContain('name="next"');
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

  it("reads the session among other cookies of its name sent before it, as another host of the site may set", async () => {
    const session = await consoleSessionCookie();
    // Domain=<the site>, one for each path longer than the session's /admin that matches the page
    // (/admin/, /admin/console, /admin/console/, /admin/console/stats): a browser sends those first.
    const planted = ["a", "b", "c", "d", "e"].map((value) => `${SESSION_COOKIE}=${value}`).join("; ");

    const page = await relayFetch("/admin/console/stats", { redirect: "manual", headers: { cookie: `${planted}; ${session}` } });

    expect(page.status).toBe(200);
  });

  it("renews a session for the operator's own pages only, not for another host of the site's image or frame of one", async () => {
    const idle = await consoleSessionCookie(Date.now() - 20 * 60_000);
    const fetched = (headers: Record<string, string>) =>
      relayFetch("/admin/", { redirect: "manual", headers: { cookie: idle, ...headers } });

    const image = await fetched({ "sec-fetch-site": "same-site", "sec-fetch-mode": "no-cors", "sec-fetch-dest": "image" });
    const frame = await fetched({ "sec-fetch-site": "same-site", "sec-fetch-mode": "navigate", "sec-fetch-dest": "iframe" });
    const opened = await fetched({ "sec-fetch-site": "none", "sec-fetch-mode": "navigate", "sec-fetch-dest": "document" });
    // A browser that sends no fetch metadata is taken at its word.
    const older = await fetched({});

    expect(image.headers.get("set-cookie")).toBeNull();
    expect(frame.headers.get("set-cookie")).toBeNull();
    expect(opened.headers.get("set-cookie")).toContain(`${SESSION_COOKIE}=`);
    expect(older.headers.get("set-cookie")).toContain(`${SESSION_COOKIE}=`);
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
});
