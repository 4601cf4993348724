import { describe, expect, it } from "vitest";
import { API_KEY, putTenant } from "./support/admin-api.js";
import { csrfIn, fieldIn, postForm, unescaped } from "./support/console.js";
import { admin, adminWith, consoleSessionCookie, relayFetch, relayFetchWith, uniqueTenantId } from "./support/relay.js";

/**
 * An api_url is checked as a URL (a base URL, a public host) before the checks for secrets it may
 * hold, and the URL parser lower-cases its host: a refusal names a host only when none of its labels
 * could be a key pasted there, and the checks for secrets read text in either case, so a key of mixed
 * case in a host is refused, not kept lower-cased and shown by every read.
 */
describe("an api_url holding a secret in its host", () => {
  // A Braintrust-style key as a DNS label: lower case, so the parser gives it back exactly.
  const hostKey = "sk-leak-0123456789abcdefghijklmnopqrstuvwxyz";

  it("refused for ending in /otel, the refusal does not repeat the key the same PUT stores", async () => {
    const { response, json } = await putTenant(uniqueTenantId(), {
      parent: "project_name:p",
      braintrust: { api_url: `https://${API_KEY}.example.com/otel`, api_key: API_KEY },
    });

    expect(response.status).toBe(400);
    expect(JSON.stringify(json)).toContain("must be Braintrust's base URL, without /otel: the relay adds /otel/v1/traces");
    expect(JSON.stringify(json)).not.toContain(API_KEY);
  });

  it("refused as a local name where local addresses are not allowed, the refusal gives the host's length alone", async () => {
    const response = await adminWith({ ALLOW_INSECURE_UPSTREAM: "false" }, "PUT", `/tenants/${uniqueTenantId()}`, {
      parent: "project_name:p",
      braintrust: { api_url: `https://${hostKey}.internal/`, api_key: hostKey },
    });

    expect(response.status).toBe(400);
    const text = await response.text();
    expect(text).toContain(`must be a public host: a name of ${hostKey.length + ".internal".length} characters is a local name`);
    expect(text).not.toContain(hostKey);
  });

  it("refused for ending in /otel, the refusal does not repeat the tenant's stored key, kept from before", async () => {
    const id = uniqueTenantId();
    const created = await putTenant(id, {
      parent: "project_name:p",
      braintrust: { api_url: "https://api.braintrust.dev", api_key: hostKey },
    });
    expect(created.response.status).toBe(201);

    const { response, json } = await putTenant(id, {
      parent: "project_name:p",
      braintrust: { api_url: `https://${hostKey}.example.com/otel` },
    });

    expect(response.status).toBe(400);
    expect(JSON.stringify(json)).not.toContain(hostKey);
  });

  it("an admin token in upper-case hex, lower-cased by the URL parser, is refused as the admin token and not repeated", async () => {
    const upperHexToken = "0123456789ABCDEF0123456789ABCDEF0123";
    const response = await relayFetchWith({ ADMIN_TOKEN: upperHexToken }, `/admin/tenants/${uniqueTenantId()}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${upperHexToken}`, "content-type": "application/json" },
      body: JSON.stringify({ parent: "project_name:p", braintrust: { api_url: `https://${upperHexToken}.example.com` } }),
    });

    expect(response.status).toBe(400);
    const text = await response.text();
    expect(text).toContain("the relay's admin token");
    expect(text.toLowerCase()).not.toContain(upperHexToken.toLowerCase());
  });

  it("a key of mixed case, given in the same PUT, is refused as held, not kept lower-cased", async () => {
    const mixedKey = "sk-MiXeD0123456789AbCdEfGhIjKlMnOpQrStUvWx";
    const id = uniqueTenantId();
    const { response, json } = await putTenant(id, {
      parent: "project_name:p",
      braintrust: { api_url: `https://${mixedKey}.example.com`, api_key: mixedKey },
    });

    expect(response.status).toBe(400);
    expect(JSON.stringify(json)).toContain("the Braintrust key braintrust.api_key gives");
    expect(JSON.stringify(json).toLowerCase()).not.toContain(mixedKey.toLowerCase());
    expect((await admin("GET", `/tenants/${id}`)).status).toBe(404);
  });

  it("the console's form, refused, shows neither the field nor a message holding the key typed to store", async () => {
    const cookie = await consoleSessionCookie();
    const page = await (await relayFetch("/admin/console/tenants", { headers: { cookie } })).text();

    const refused = await postForm("/admin/console/tenants", cookie, {
      csrf: csrfIn(page),
      tenant: uniqueTenantId(),
      parent: "project_name:p",
      api_url: `https://${hostKey}.example.com/otel`,
      key: "store",
      api_key: hostKey,
      settings: "",
    });

    expect(refused.status).toBe(400);
    const html = unescaped(await refused.text());
    expect(fieldIn(html, "api_url") ?? "").not.toContain(hostKey);
    expect(html).not.toContain(hostKey);
  });
});
