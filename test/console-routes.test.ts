import { describe, expect, it } from "vitest";
import { startSession } from "../src/console/session.js";
import { ADMIN_TOKEN, admin, relayFetch } from "./support/relay.js";

const ORIGIN = "https://relay.test";

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
      /^tfy_relay_console=\d+\.[\w-]+\.[\w-]+; Max-Age=1800; Path=\/admin; HttpOnly; Secure; SameSite=Strict$/,
    );
    const cookie = loggedIn.headers.get("set-cookie")!.split(";")[0]!;
    expect((await relayFetch("/admin/", { headers: { cookie } })).status).toBe(200);
  });

  it("refuses a session signed under another admin token, or one that has expired", async () => {
    const otherToken = await startSession("a-previous-admin-token", Date.now());
    const expired = await startSession(ADMIN_TOKEN, Date.now() - 31 * 60_000);

    for (const value of [otherToken, expired]) {
      const page = await relayFetch("/admin/", { redirect: "manual", headers: { cookie: `tfy_relay_console=${value}` } });
      expect(page.status).toBe(303);
      expect(page.headers.get("location")).toBe("/admin/console/login");
    }
  });
});
