import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminApp } from "../src/admin/app.js";
import { API_KEY, putTenant } from "./support/admin-api.js";
import { loggedWhile } from "./support/logs.js";
import { ADMIN_TOKEN, admin, adminWith, relayFetch, uniqueTenantId, withObjectBindings } from "./support/relay.js";

describe("admin API: tenants", () => {
  it("creates (201), replaces (200) and reads a tenant, never returning the key", async () => {
    const id = uniqueTenantId();

    const created = await putTenant(id, { parent: "project_name:My Project", braintrust: { api_key: API_KEY } });
    const replaced = await putTenant(id, { parent: "experiment_id:exp-1", braintrust: { api_url: "https://api.braintrust.dev/" } });
    const read = await admin("GET", `/tenants/${id}`);

    expect(created.response.status).toBe(201);
    expect(created.json).toMatchObject({
      id,
      parent: "project_name:My Project",
      braintrust: { api_url: "https://api.braintrust.dev" },
      auth: "stored_key",
      tokens: [],
    });
    expect(replaced.response.status).toBe(200);
    const body = (await read.json()) as Record<string, unknown>;
    // Absent api_key keeps the stored one.
    expect(body).toMatchObject({
      id,
      parent: "experiment_id:exp-1",
      braintrust: { api_url: "https://api.braintrust.dev" },
      auth: "stored_key",
    });
    expect(body.created_at).toBe(created.json.created_at);
    for (const text of [JSON.stringify(created.json), JSON.stringify(replaced.json), JSON.stringify(body)])
      expect(text).not.toContain(API_KEY);
  });

  it("keeps the stored key with the api_url it was given for: a PUT leaving both out keeps both, one giving another URL must give the key again", async () => {
    const id = uniqueTenantId();
    const EU = "https://api-eu.braintrust.dev";
    expect((await putTenant(id, { parent: "project_id:eu", braintrust: { api_url: EU, api_key: API_KEY } })).response.status).toBe(201);

    const parentOnly = await putTenant(id, { parent: "project_id:eu-2" });
    const elsewhere = await putTenant(id, { parent: "project_id:us", braintrust: { api_url: "https://api.braintrust.dev" } });
    const unchanged = await admin("GET", `/tenants/${id}`);

    expect(parentOnly.response.status).toBe(200);
    expect(parentOnly.json).toMatchObject({ parent: "project_id:eu-2", braintrust: { api_url: EU }, auth: "stored_key" });
    expect(elsewhere.response.status).toBe(400);
    expect(elsewhere.json).toMatchObject({
      error: {
        code: "invalid_field",
        message: `braintrust.api_key: tenant ${id}'s stored key was given for its api_url, not the one this PUT gives: give the key again to send it there, or make the tenant passthrough`,
        field: "braintrust.api_key",
        // What a client acts on, whatever the message's words: the key is refused for the api_url given.
        reason: "key_for_another_url",
      },
    });
    expect(await unchanged.json()).toMatchObject({ parent: "project_id:eu-2", braintrust: { api_url: EU }, auth: "stored_key" });
    // The same URL, with a slash, keeps the key; given again, the key goes to another URL; null leaves none to send.
    expect((await putTenant(id, { parent: "project_id:eu", braintrust: { api_url: `${EU}/` } })).json).toMatchObject({
      braintrust: { api_url: EU },
      auth: "stored_key",
    });
    expect(
      (await putTenant(id, { parent: "project_id:us", braintrust: { api_url: "https://api.braintrust.dev", api_key: API_KEY } })).json,
    ).toMatchObject({
      braintrust: { api_url: "https://api.braintrust.dev" },
      auth: "stored_key",
    });
    expect((await putTenant(id, { parent: "project_id:eu", braintrust: { api_url: EU, api_key: null } })).json).toMatchObject({
      braintrust: { api_url: EU },
      auth: "passthrough",
    });
    // A passthrough tenant's URL is kept when left out too; a new tenant's is the default.
    expect((await putTenant(id, { parent: "project_id:eu" })).json).toMatchObject({ braintrust: { api_url: EU }, auth: "passthrough" });
    expect((await putTenant(uniqueTenantId(), { parent: "project_id:new" })).json).toMatchObject({
      braintrust: { api_url: "https://api.braintrust.dev" },
    });
  });

  it("stores the API key sealed, not in plaintext, in KV", async () => {
    const id = uniqueTenantId();

    await putTenant(id, { parent: "project_id:p1", braintrust: { api_key: API_KEY } });

    const raw = await env.TENANTS.get(`tenant:${id}`);
    expect(raw).not.toBeNull();
    expect(raw).not.toContain(API_KEY);
    expect(JSON.parse(raw!).api_key_sealed).toMatch(/^v1\.[\w-]+\.[\w-]+$/);
  });

  it("switches to passthrough when api_key is null, dropping the key and its tokens", async () => {
    const id = uniqueTenantId();
    await putTenant(id, { parent: "project_id:p1", braintrust: { api_key: API_KEY } });
    await admin("POST", `/tenants/${id}/tokens`);

    const { json } = await putTenant(id, { parent: "project_id:p1", braintrust: { api_key: null } });

    expect(json).toMatchObject({ auth: "passthrough", tokens: [] });
    expect(JSON.parse((await env.TENANTS.get(`tenant:${id}`))!).api_key_sealed).toBeUndefined();
  });

  it.each([
    [{}, "parent"],
    [{ parent: "project:x" }, "parent"],
    [{ parent: "project_name:" }, "parent"],
    [{ parent: "project_name:bad\r\nx-injected: 1" }, "parent"],
    [{ parent: "project_id:p", braintrust: { api_url: "not a url" } }, "braintrust.api_url"],
    [{ parent: "project_id:p", braintrust: { api_url: "https://user:pw@api.braintrust.dev" } }, "braintrust.api_url"],
    [{ parent: "project_id:p", braintrust: { api_url: `https://api.braintrust.dev/${"a".repeat(2048)}` } }, "braintrust.api_url"],
    // 327 characters as sent, 2,727 as the relay keeps it: each € is %E2%82%AC once the URL is read.
    [{ parent: "project_id:p", braintrust: { api_url: `https://api.braintrust.dev/${"€".repeat(300)}` } }, "braintrust.api_url"],
    [{ parent: "project_id:p", braintrust: { api_key: "" } }, "braintrust.api_key"],
    [{ parent: "project_id:p", braintrust: { api_key: "has space" } }, "braintrust.api_key"],
    // A field it does not know: named in the message, and the field is the object it is in.
    [{ parent: "project_id:p", braintrust: { apiKey: "typo" } }, "braintrust"],
    [{ parent: "project_id:p", extra: 1 }, "body"],
    ["not json", "body"],
  ])("rejects %j with 400 naming %s", async (body, field) => {
    const response = await admin("PUT", `/tenants/${uniqueTenantId()}`, body);

    expect(response.status).toBe(400);
    const json = (await response.json()) as { error: { code: string; field: string; message: string } };
    expect(json.error.code).toBe("invalid_field");
    expect(json.error.field).toBe(field);
    expect(json.error.message).toMatch(new RegExp(`^${field.replace(".", "\\.")}: `));
  });

  it("refuses the relay's own secrets (the admin token, ENCRYPTION_KEY, an ingest token) as the key to store, which every delivery would send upstream", async () => {
    const id = uniqueTenantId();
    const relayToken = `tbr_${"0".repeat(16)}_${"a".repeat(43)}`;
    // Bytes whose base64 holds `+` and `/`, which base64url writes otherwise.
    const previousKey = btoa(String.fromCharCode(...new Uint8Array(32).fill(0xfb)));
    const rotating = { ENCRYPTION_KEY_PREVIOUS: previousKey };

    for (const [key, what] of [
      [ADMIN_TOKEN, "the relay's admin token"],
      [env.ENCRYPTION_KEY, "the relay's ENCRYPTION_KEY (or ENCRYPTION_KEY_PREVIOUS)"],
      [previousKey, "the relay's ENCRYPTION_KEY (or ENCRYPTION_KEY_PREVIOUS)"],
      // The same keys written another way: the same 32 bytes, which would seal nothing less.
      [env.ENCRYPTION_KEY.replace(/=+$/, ""), "the relay's ENCRYPTION_KEY (or ENCRYPTION_KEY_PREVIOUS)"],
      [previousKey.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, ""), "the relay's ENCRYPTION_KEY (or ENCRYPTION_KEY_PREVIOUS)"],
      [relayToken, "a relay ingest token (tbr_…)"],
      // Wrapped, as a value copied out of JSON or a .env file is: still the secret, still sent with every delivery.
      [`"${ADMIN_TOKEN}"`, "the relay's admin token"],
      [`token=${ADMIN_TOKEN},`, "the relay's admin token"],
      [`'${env.ENCRYPTION_KEY}'`, "the relay's ENCRYPTION_KEY (or ENCRYPTION_KEY_PREVIOUS)"],
      [`"${relayToken}"`, "a relay ingest token (tbr_…)"],
    ] as const) {
      const response = await adminWith(rotating, "PUT", `/tenants/${id}`, { parent: "project_name:p", braintrust: { api_key: key } });

      expect(response.status).toBe(400);
      const body = await response.text();
      expect(JSON.parse(body)).toMatchObject({
        error: {
          code: "invalid_field",
          field: "braintrust.api_key",
          message: expect.stringContaining(`braintrust.api_key: ${what} is not`),
        },
      });
      expect(body).not.toContain(key);
    }
    expect((await admin("GET", `/tenants/${id}`)).status).toBe(404);
  });

  it("refuses a parent holding the relay's own secrets or the key the PUT stores, which every delivery would send and log, and KV keep, as it is", async () => {
    const id = uniqueTenantId();
    const key = `sk-${crypto.randomUUID().replaceAll("-", "")}`;
    const relayToken = `tbr_${"0".repeat(16)}_${"a".repeat(43)}`;
    const route = (parent: string) => ({
      routes: [
        { match: { field: "span_name", equals: "x" }, parent: "project_name:r" },
        { match: { field: "span_name", equals: "y" }, parent },
      ],
    });

    for (const [body, field, what] of [
      [{ parent: `project_name:${ADMIN_TOKEN}` }, "parent", "the relay's admin token"],
      [{ parent: `project_id:${relayToken}` }, "parent", "a relay ingest token (tbr_…)"],
      [{ parent: `project_name:${env.ENCRYPTION_KEY}` }, "parent", "the relay's ENCRYPTION_KEY (or ENCRYPTION_KEY_PREVIOUS)"],
      [{ parent: "project_name:p", ...route(`experiment_id:${ADMIN_TOKEN}`) }, "routes.1.parent", "the relay's admin token"],
      [{ parent: `project_name:${key}`, braintrust: { api_key: key } }, "parent", "the Braintrust key braintrust.api_key gives"],
      [
        { parent: "project_name:p", braintrust: { api_key: key }, ...route(`project_id:${key}`) },
        "routes.1.parent",
        "the Braintrust key braintrust.api_key gives",
      ],
    ] as const) {
      const response = await admin("PUT", `/tenants/${id}`, body);

      const text = await response.text();
      expect(response.status, text).toBe(400);
      expect(JSON.parse(text)).toMatchObject({
        error: { code: "invalid_field", field, message: expect.stringContaining(`${field}: holds ${what}`) },
      });
      for (const secret of [ADMIN_TOKEN, relayToken, env.ENCRYPTION_KEY, key]) expect(text).not.toContain(secret);
    }
    expect((await admin("GET", `/tenants/${id}`)).status).toBe(404);
    // A key too short to be a secret is found in parents that have nothing to do with it.
    const short = await admin("PUT", `/tenants/${id}`, { parent: "project_name:p-abc", braintrust: { api_key: "abc" } });
    expect(short.status).toBe(201);
  });

  it("refuses a redaction rule or a route's match holding the relay's own secrets, the key the PUT stores or the stored key it keeps, which KV would keep and every read show as it is", async () => {
    const id = uniqueTenantId();
    const key = `sk-${crypto.randomUUID().replaceAll("-", "")}`;
    const relayToken = `tbr_${"0".repeat(16)}_${"a".repeat(43)}`;
    const base = { parent: "project_name:p" };

    for (const [body, field, what] of [
      [{ ...base, redact: { values: ["emails", { pattern: ADMIN_TOKEN }] } }, "redact.values.1.pattern", "the relay's admin token"],
      [
        { ...base, redact: { values: [{ pattern: "secret-\\d+", replacement: env.ENCRYPTION_KEY }] } },
        "redact.values.0.replacement",
        "the relay's ENCRYPTION_KEY (or ENCRYPTION_KEY_PREVIOUS)",
      ],
      [{ ...base, redact: { keys: [{ pattern: relayToken }] } }, "redact.keys.0.pattern", "a relay ingest token (tbr_…)"],
      [
        { ...base, redact: { keys: [{ pattern: "auth*", action: "replace", replacement: ADMIN_TOKEN }] } },
        "redact.keys.0.replacement",
        "the relay's admin token",
      ],
      [
        { ...base, braintrust: { api_key: key }, routes: [{ match: { field: "span_name", equals: key }, parent: "project_name:r" }] },
        "routes.0.match.equals",
        "the Braintrust key braintrust.api_key gives",
      ],
      [
        {
          ...base,
          routes: [
            {
              match: {
                any: [
                  { field: "span_name", prefix: "x" },
                  { field: "attributes.user", one_of: ["a", ADMIN_TOKEN] },
                ],
              },
              parent: "project_name:r",
            },
          ],
        },
        "routes.0.match.any.1.one_of.1",
        "the relay's admin token",
      ],
    ] as const) {
      const response = await admin("PUT", `/tenants/${id}`, body);

      const text = await response.text();
      expect(response.status, text).toBe(400);
      expect(JSON.parse(text)).toMatchObject({
        error: { code: "invalid_field", field, message: expect.stringContaining(`${field}: holds ${what}`) },
      });
      for (const secret of [ADMIN_TOKEN, relayToken, env.ENCRYPTION_KEY, key]) expect(text).not.toContain(secret);
    }
    expect(await env.TENANTS.get(`tenant:${id}`)).toBeNull();
    // The stored key, kept by a PUT that gives none, in a rule.
    expect((await admin("PUT", `/tenants/${id}`, { ...base, braintrust: { api_key: key } })).status).toBe(201);
    const kept = await admin("PUT", `/tenants/${id}`, { ...base, redact: { values: ["api_keys", { pattern: key }] } });
    const text = await kept.text();
    expect(kept.status, text).toBe(400);
    expect(JSON.parse(text)).toMatchObject({
      error: {
        field: "redact.values.1.pattern",
        message: expect.stringContaining("redact.values.1.pattern: holds the tenant's stored Braintrust key"),
      },
    });
    expect(text).not.toContain(key);
  });

  it("refuses an api_url holding the relay's own secrets or the key the PUT stores, which KV would keep and every read show as it is", async () => {
    const id = uniqueTenantId();
    const key = `sk-${crypto.randomUUID().replaceAll("-", "")}`;
    const relayToken = `tbr_${"0".repeat(16)}_${"a".repeat(43)}`;
    const at = (path: string) => ({
      parent: "project_name:p",
      braintrust: { api_url: `https://api.braintrust.dev/${path}`, api_key: key },
    });

    for (const [body, what] of [
      [at(ADMIN_TOKEN), "the relay's admin token"],
      [at(`v1/${relayToken}`), "a relay ingest token (tbr_…)"],
      [at(env.ENCRYPTION_KEY), "the relay's ENCRYPTION_KEY (or ENCRYPTION_KEY_PREVIOUS)"],
      [at(key), "the Braintrust key braintrust.api_key gives"],
      [at(`keys/${encodeURIComponent(key).replace("-", "%2D")}`), "the Braintrust key braintrust.api_key gives"],
    ] as const) {
      const response = await admin("PUT", `/tenants/${id}`, body);

      const text = await response.text();
      expect(response.status, text).toBe(400);
      expect(JSON.parse(text)).toMatchObject({
        error: {
          code: "invalid_field",
          field: "braintrust.api_url",
          message: expect.stringContaining(`braintrust.api_url: holds ${what}`),
        },
      });
      for (const secret of [ADMIN_TOKEN, relayToken, env.ENCRYPTION_KEY, key]) expect(text).not.toContain(secret);
    }
    expect(await env.TENANTS.get(`tenant:${id}`)).toBeNull();
    // A path of its own, with the key where it goes, is a self-hosted deployment's.
    const kept = await admin("PUT", `/tenants/${id}`, at("braintrust"));
    expect(kept.status).toBe(201);
  });

  it("refuses an api_url or a parent holding the stored key a PUT keeps, as typed or percent-encoded: the tenant and KV's copy stay as they were", async () => {
    const id = uniqueTenantId();
    const key = `sk-${crypto.randomUUID().replaceAll("-", "")}`;
    const stored = { parent: "project_name:p", braintrust: { api_url: "https://api.braintrust.dev/eu", api_key: key } };
    expect((await admin("PUT", `/tenants/${id}`, stored)).status).toBe(201);
    const before = { read: await (await admin("GET", `/tenants/${id}`)).text(), kv: await env.TENANTS.get(`tenant:${id}`) };
    const encoded = encodeURIComponent(key).replace("-", "%2D");
    const route = (parent: string) => ({ routes: [{ match: { field: "span_name", equals: "x" }, parent }] });

    for (const [body, field] of [
      [{ parent: "project_name:p", braintrust: { api_url: `https://api.braintrust.dev/${key}` } }, "braintrust.api_url"],
      [{ parent: "project_name:p", braintrust: { api_url: `https://api.braintrust.dev/keys/${encoded}` } }, "braintrust.api_url"],
      [{ parent: `project_name:${key}` }, "parent"],
      [{ parent: `project_name:${encoded}` }, "parent"],
      [{ parent: "project_name:p", ...route(`experiment_id:${key}`) }, "routes.0.parent"],
    ] as const) {
      const response = await admin("PUT", `/tenants/${id}`, body);

      const text = await response.text();
      expect(response.status, text).toBe(400);
      expect(JSON.parse(text)).toMatchObject({
        error: {
          code: "invalid_field",
          field,
          message: expect.stringContaining(`${field}: holds the tenant's stored Braintrust key`),
          reason: "key_shown",
        },
      });
      expect(text).not.toContain(key);
    }
    expect(await (await admin("GET", `/tenants/${id}`)).text()).toBe(before.read);
    expect(await env.TENANTS.get(`tenant:${id}`)).toBe(before.kv);
    // A key too short to be a secret is found in settings that have nothing to do with it.
    expect((await admin("PUT", `/tenants/${id}`, { parent: "project_name:p", braintrust: { api_key: "abc" } })).status).toBe(200);
    expect((await admin("PUT", `/tenants/${id}`, { parent: "project_name:p-abc" })).status).toBe(200);
  });

  it("refuses a key given to a tenant whose api_url, kept from before, holds it", async () => {
    const id = uniqueTenantId();
    const key = `sk-${crypto.randomUUID().replaceAll("-", "")}`;
    const passthrough = {
      parent: "project_name:p",
      braintrust: { api_url: `https://api.braintrust.dev/keys/${encodeURIComponent(key).replace("-", "%2D")}` },
    };
    expect((await admin("PUT", `/tenants/${id}`, passthrough)).status).toBe(201);
    const kv = await env.TENANTS.get(`tenant:${id}`);

    const response = await admin("PUT", `/tenants/${id}`, { parent: "project_name:p", braintrust: { api_key: key } });

    const text = await response.text();
    expect(response.status, text).toBe(400);
    expect(JSON.parse(text)).toMatchObject({
      error: {
        code: "invalid_field",
        field: "braintrust.api_url",
        message: expect.stringContaining("braintrust.api_url: holds the Braintrust key braintrust.api_key gives"),
      },
    });
    // The key given is the client's to find: no reason, as for a key given in the api_url given.
    expect(JSON.parse(text).error).not.toHaveProperty("reason");
    expect(text).not.toContain(key);
    expect(await (await admin("GET", `/tenants/${id}`)).json()).toMatchObject({ auth: "passthrough" });
    expect(await env.TENANTS.get(`tenant:${id}`)).toBe(kv);
  });

  it("refuses a PUT keeping a stored key that no ENCRYPTION_KEY opens, which it cannot check its settings against, until the key is given again", async () => {
    const id = uniqueTenantId();
    const key = `sk-${crypto.randomUUID().replaceAll("-", "")}`;
    expect((await admin("PUT", `/tenants/${id}`, { parent: "project_name:p", braintrust: { api_key: key } })).status).toBe(201);
    // The tenant's object has another ENCRYPTION_KEY than the one its key was sealed under, and no previous one.
    await withObjectBindings(env.TENANT_OBJECTS.getByName(id), { ENCRYPTION_KEY: btoa("k".repeat(32)), ENCRYPTION_KEY_PREVIOUS: "" });

    const kept = await admin("PUT", `/tenants/${id}`, { parent: `project_name:${key}` });
    const givenAgain = await admin("PUT", `/tenants/${id}`, {
      parent: "project_name:p",
      braintrust: { api_url: "https://api.braintrust.dev", api_key: key },
    });

    expect(kept.status).toBe(400);
    expect(await kept.json()).toMatchObject({
      error: {
        code: "invalid_field",
        field: "braintrust.api_key",
        message: `braintrust.api_key: tenant ${id}'s stored key opens with neither ENCRYPTION_KEY nor ENCRYPTION_KEY_PREVIOUS, so whether this PUT's api_url and parents hold it cannot be told: give the key again, or make the tenant passthrough`,
        reason: "key_unreadable",
      },
    });
    expect(givenAgain.status).toBe(200);
  });

  it.each([
    ['{"parent":"project_name:a","braintrust":{"api_key":"sk-new-0123456789"},"braintrust":{}}', "braintrust"],
    ['{"parent":"project_name:a","parent":"project_name:b"}', "parent"],
    [
      '{"parent":"project_name:a","routes":[{"match":{"field":"span_name","equals":"x"},"parent":"project_name:b"},{"match":{"field":"a","fi\\u0065ld":"b"},"parent":"project_name:c"}]}',
      "routes.1.match.field",
    ],
  ])("refuses a key given twice in one object, which JSON.parse would read as its last alone: %s", async (body, field) => {
    const id = uniqueTenantId();
    const refused = await admin("PUT", `/tenants/${id}`, body);

    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({
      error: { code: "invalid_field", field, message: `${field}: given twice in one object, where only the last would be read` },
    });
    expect(await env.TENANTS.get(`tenant:${id}`)).toBeNull();
    // The same key in different objects, or as a value, is no repeat.
    const accepted = await admin(
      "PUT",
      `/tenants/${id}`,
      '{"parent":"project_name:a","redact":{"keys":[{"pattern":"parent"},{"pattern":"parent"}]}}',
    );
    expect(accepted.status).toBe(201);
  });

  it.each([
    ["a long one", `sk-${"k".repeat(100_000)}`, "braintrust.(a key of 100003 characters)"],
    ["one shaped as a name", `sk-${"k".repeat(40)}`, "braintrust.(a key of 43 characters)"],
  ])("names a key given twice that no field has by its length, %s: it may be a secret pasted as a key", async (_, key, place) => {
    const refused = await admin("PUT", `/tenants/${uniqueTenantId()}`, `{"parent":"project_name:a","braintrust":{"${key}":1,"${key}":2}}`);

    expect(refused.status).toBe(400);
    const body = await refused.text();
    expect(JSON.parse(body)).toMatchObject({
      error: { code: "invalid_field", field: place, message: `${place}: given twice in one object, where only the last would be read` },
    });
    expect(body).not.toContain(key.slice(0, 30));
  });

  it.each([
    ["at the top", (key: string) => ({ parent: "project_name:a", [key]: 1 }), "body: "],
    [
      "in braintrust",
      (key: string) => ({ parent: "project_name:a", braintrust: { api_url: "https://api.braintrust.dev", [key]: 1 } }),
      "braintrust: ",
    ],
  ])("names an unknown field by its length, %s: it may be a key pasted as a field's name", async (_, bodyWith, place) => {
    const key = `sk-${"k".repeat(40)}`;

    const refused = await admin("PUT", `/tenants/${uniqueTenantId()}`, bodyWith(key));

    expect(refused.status).toBe(400);
    const body = await refused.text();
    expect(JSON.parse(body).error.message).toBe(`${place}(a key of 43 characters) is not a known field`);
    expect(body).not.toContain(key.slice(0, 30));
  });

  it.each(["gzip", "br", "deflate"])("refuses a body sent with content encoding %s with 415, not as JSON read wrong", async (coding) => {
    const id = uniqueTenantId();
    const refused = await admin("PUT", `/tenants/${id}`, { parent: "project_name:a" }, ADMIN_TOKEN, { "content-encoding": coding });

    expect(refused.status).toBe(415);
    expect(await refused.json()).toMatchObject({
      error: {
        code: "unsupported_media_type",
        message: `unsupported content encoding "${coding}": the admin API reads bodies as sent, without a content encoding`,
      },
    });
    expect(await env.TENANTS.get(`tenant:${id}`)).toBeNull();
    const identity = await admin("PUT", `/tenants/${id}`, { parent: "project_name:a" }, ADMIN_TOKEN, { "content-encoding": "identity" });
    expect(identity.status).toBe(201);
  });

  it("refuses a body that is not UTF-8 with 400, rather than store a setting with U+FFFD where its bytes were", async () => {
    const id = uniqueTenantId();
    const latin1 = new Uint8Array([...new TextEncoder().encode('{"parent": "project_name:caf'), 0xe9, ...new TextEncoder().encode('"}')]);

    const refused = await relayFetch(`/admin/tenants/${id}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: latin1,
    });

    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({
      error: { code: "invalid_field", message: "body: must be UTF-8 text, as JSON is (RFC 8259)", field: "body" },
    });
    expect(await env.TENANTS.get(`tenant:${id}`)).toBeNull();
  });

  it.each([
    [{ braintrust: {} }, "parent: is required (string)"],
    [{ parent: 7 }, "parent: must be a string, not 7"],
    [{ parent: "project_name:p", translate: "yes" }, "translate: must be true or false, not a string"],
    [{ parent: "project_name:p", translate: null }, "translate: must be true or false, not null"],
    [{ parent: "project_name:p", trace_wait_seconds: 1.5 }, "trace_wait_seconds: must be a whole number, not 1.5"],
    [{ parent: "project_name:p", trace_wait_seconds: 0 }, "trace_wait_seconds: must be at least 1"],
    [{ parent: "project_name:p", trace_wait_seconds: 3601 }, "trace_wait_seconds: must be at most 3600"],
    [{ parent: "project_name:p", routes: { match: {} } }, "routes: must be a list, not an object"],
    [
      { parent: "project_name:p", routes: [{ match: { field: "span_name", one_of: [] }, parent: "project_name:q" }] },
      "routes.0.match.one_of: must hold at least 1 entry",
    ],
    [
      { parent: "project_name:p", redact: { keys: [{ pattern: "authorization", action: "hide" }] } },
      'redact.keys.0.action: must be one of "remove", "replace"',
    ],
    // A glob given alone, as a value rule's built-in name is: the message shows a rule's shape.
    [
      { parent: "project_name:p", redact: { keys: ["tfy.input*"] } },
      'redact.keys.0: must be a rule, {"pattern": "<glob>"}, "action" and "replacement" optional, not a string',
    ],
    // A string sent is never repeated: it may be a key pasted into the wrong field.
    [{ parent: "project_name:p", braintrust: { api_key: "" } }, "braintrust.api_key: must be at least 1 character long"],
    // Where a field takes one of several kinds of value, each is named.
    [
      { parent: "project_name:p", redact: { values: ["phones"] } },
      'redact.values.0: must be "api_keys", "emails" or an object, not a string',
    ],
    [{ parent: "project_name:p", redact: { values: [5] } }, 'redact.values.0: must be "api_keys", "emails" or an object, not 5'],
    [
      { parent: "project_name:p", routes: [{ match: {}, parent: "project_name:q" }] },
      'routes.0.match: must be a condition, {"field": …} with one of "equals", "one_of", "prefix", "exists", or {"all": [matches]} or {"any": [matches]}',
    ],
    [{ parent: "project_name:p", routes: [{ match: { all: 5 }, parent: "project_name:q" }] }, "routes.0.match: all: must be a list, not 5"],
    [
      { parent: "project_name:p", routes: [{ match: { any: [{ all: [{ field: "span_name", prefix: 5 }] }] }, parent: "project_name:q" }] },
      "routes.0.match: any.0: all.0: prefix: must be a string, not 5",
    ],
    [
      { parent: "project_name:p", routes: [{ match: { field: "span_name", equals: [1] }, parent: "project_name:q" }] },
      "routes.0.match: equals: must be a string, a number or true or false, not a list",
    ],
    [
      { parent: "project_name:p", routes: [{ match: { field: "span_name" }, parent: "project_name:q" }] },
      "routes.0.match: needs exactly one of equals, one_of, prefix, exists",
    ],
  ])("says what a field must be, in words, and what it got unless that was text: %j", async (body, message) => {
    const refused = await admin("PUT", `/tenants/${uniqueTenantId()}`, body);

    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe(message);
  });

  it("refuses a parent KV could not list with 400 (a tenant's KV metadata holds its parent as JSON, in 1024 bytes), and takes the longest parent that fits", async () => {
    const fits = `project_name:a${'"'.repeat(488)}`;
    const tooLong = `project_name:${'"'.repeat(489)}`;

    const refused = await admin("PUT", `/tenants/${uniqueTenantId()}`, { parent: tooLong });
    const id = uniqueTenantId();
    const taken = await admin("PUT", `/tenants/${id}`, { parent: fits });

    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      error: {
        code: "invalid_field",
        field: "parent",
        message: 'parent: must be at most 992 characters as JSON writes it, each " and \\ counted twice',
        request_id: expect.any(String),
      },
    });
    expect(taken.status).toBe(201);
    const listed = (await (await admin("GET", "/tenants?limit=1000")).json()) as { tenants: Array<{ id: string; parent: string }> };
    expect(listed.tenants.find((t) => t.id === id)?.parent).toBe(fits);
  });

  it("rejects a route match nested deeper than 16 levels of all and any with 400 naming the match, however deep", async () => {
    const nested = (depth: number, list: "all" | "any") =>
      `${`{"${list}":[`.repeat(depth)}{"field":"span_name","equals":"x"}${"]}".repeat(depth)}`;
    const put = (match: string) =>
      admin("PUT", `/tenants/${uniqueTenantId()}`, `{"parent":"project_name:p","routes":[{"match":${match},"parent":"project_name:q"}]}`);

    expect((await put(nested(16, "all"))).status).toBe(201);
    for (const match of [nested(17, "any"), nested(1_000, "all"), nested(100_000, "any")]) {
      const response = await put(match);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: {
          code: "invalid_field",
          message: "routes.0.match: may nest all and any at most 16 levels deep",
          field: "routes.0.match",
          request_id: expect.any(String),
        },
      });
    }
  });

  it("rejects a route comparing with an integer past 2^53 written as a number, which JSON has rounded, and takes it as text", async () => {
    const put = (value: string) =>
      admin(
        "PUT",
        `/tenants/${uniqueTenantId()}`,
        `{"parent":"project_name:p","routes":[{"match":{"field":"attributes.customer","one_of":["a",${value}]},"parent":"project_name:q"}]}`,
      );

    const refused = await put("12345678901234567890");
    expect(refused.status).toBe(400);
    const { error } = (await refused.json()) as { error: { code: string; field: string; message: string } };
    expect(error.code).toBe("invalid_field");
    expect(error.field).toBe("routes.0.match.one_of.1");
    expect(error.message).toContain("an integer past 2^53 loses digits as a JSON number: write it as a string");
    expect((await put('"12345678901234567890"')).status).toBe(201);
    expect((await put("9007199254740991")).status).toBe(201);
    expect((await put("2.5")).status).toBe(201);
  });

  it("rejects a tenant id outside 1-64 of a-z 0-9 - _ with 400", async () => {
    for (const id of ["UPPER", "a".repeat(65), "dot.dot", "a%20b", "a:b"]) {
      const response = await admin("PUT", `/tenants/${id}`, { parent: "project_id:p" });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { field: string } }).error.field).toBe("tenant");
    }
  });

  it("lists tenants a page at a time with a cursor", async () => {
    const prefix = `list-${crypto.randomUUID().slice(0, 8)}`;
    for (const n of [1, 2, 3]) await putTenant(`${prefix}-${n}`, { parent: `project_id:p${n}` });

    const seen: Array<{ id: string; parent: string; auth: string }> = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await admin("GET", `/tenants?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(response.status).toBe(200);
      const page = (await response.json()) as { tenants: typeof seen; cursor: string | null };
      expect(page.tenants.length).toBeLessThanOrEqual(2);
      seen.push(...page.tenants);
      cursor = page.cursor;
      pages++;
    } while (cursor && pages < 1000);

    expect(seen.filter((t) => t.id.startsWith(prefix))).toEqual([
      { id: `${prefix}-1`, parent: "project_id:p1", auth: "passthrough" },
      { id: `${prefix}-2`, parent: "project_id:p2", auth: "passthrough" },
      { id: `${prefix}-3`, parent: "project_id:p3", auth: "passthrough" },
    ]);
    expect((await admin("GET", "/tenants?limit=0")).status).toBe(400);
  });

  it("deletes a tenant (204), after which it is 404", async () => {
    const id = uniqueTenantId();
    await putTenant(id, { parent: "project_id:p" });

    expect((await admin("DELETE", `/tenants/${id}`)).status).toBe(204);
    expect((await admin("GET", `/tenants/${id}`)).status).toBe(404);
    expect((await admin("DELETE", `/tenants/${id}`)).status).toBe(404);
    expect(await env.TENANTS.get(`tenant:${id}`)).toBeNull();
  });

  it("leaves an admin_change line for each change made, console's too, none for reads or refusals, never the key", async () => {
    const id = uniqueTenantId();

    const { lines, events } = await loggedWhile(async () => {
      await putTenant(id, { parent: "project_id:p", braintrust: { api_key: API_KEY } });
      await admin("GET", `/tenants/${id}`);
      await admin("HEAD", `/tenants/${id}`);
      await admin("PUT", `/tenants/${id}`, { parent: "workspace:x" });
      // As the console calls the admin API: in-process, without the /admin the Worker mounts it under.
      await adminApp.request(`/tenants/${id}`, { method: "DELETE", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, env);
    });

    // The request id comes from the request around the call; the in-process call here has none.
    const changes = events
      .filter((e) => e.event === "admin_change" && String(e.path).includes(id))
      .map(({ request_id: _id, ...change }) => change);
    expect(changes).toEqual([
      { event: "admin_change", method: "PUT", path: `/admin/tenants/${id}`, status: 201, tenant: id, stored_key: "set" },
      { event: "admin_change", method: "DELETE", path: `/admin/tenants/${id}`, status: 204, tenant: id, dead_letters: 0, spans: 0 },
    ]);
    expect(lines.join("\n")).not.toContain(API_KEY);
  });

  it("says in a PUT's admin_change line whether it stored the tenant's key or removed it, nothing when it kept it", async () => {
    const id = uniqueTenantId();

    const { lines, events } = await loggedWhile(async () => {
      await putTenant(id, { parent: "project_id:p", braintrust: { api_key: API_KEY } });
      await putTenant(id, { parent: "project_id:q" });
      await putTenant(id, { parent: "project_id:q", braintrust: { api_key: null } });
    });

    const changes = events
      .filter((e) => e.event === "admin_change" && e.tenant === id)
      .map(({ status, stored_key }) => ({ status, stored_key }));
    expect(changes).toEqual([
      { status: 201, stored_key: "set" },
      { status: 200, stored_key: undefined },
      { status: 200, stored_key: "removed" },
    ]);
    expect(lines.join("\n")).not.toContain(API_KEY);
  });

  it("answers a path that is no admin call with 404, and only behind the token", async () => {
    for (const [method, path] of [
      ["GET", "/nothing"],
      ["GET", "/tenants/acme/"],
      ["POST", "/tenants/acme/nothing"],
    ] as const) {
      const response = await admin(method, path);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({
        error: {
          code: "not_found",
          message: `no admin API call has this path (the calls are listed in the README, "Admin API")`,
          request_id: expect.any(String),
        },
      });
      expect((await admin(method, path, undefined, null)).status).toBe(401);
    }
  });

  it("answers a method a call's path does not take with 405 and the methods it does take, and only behind the token", async () => {
    const id = uniqueTenantId();
    for (const [method, path, route, allow] of [
      ["PATCH", `/tenants/${id}`, "/tenants/:tenant", "GET, HEAD, PUT, DELETE"],
      ["POST", "/tenants", "/tenants", "GET, HEAD"],
      ["GET", `/tenants/${id}/tokens`, "/tenants/:tenant/tokens", "POST"],
      ["PUT", `/tenants/${id}/tokens/0123456789abcdef`, "/tenants/:tenant/tokens/:id", "DELETE"],
      ["DELETE", `/tenants/${id}/stats`, "/tenants/:tenant/stats", "GET, HEAD"],
      ["POST", `/tenants/${id}/waiting-traces`, "/tenants/:tenant/waiting-traces", "GET, HEAD"],
      ["POST", "/stats", "/stats", "GET, HEAD"],
      ["DELETE", "/dead-letters", "/dead-letters", "GET, HEAD"],
      ["GET", "/dead-letters/replay", "/dead-letters/replay", "POST"],
      ["GET", `/dead-letters/${id}:0a1b`, "/dead-letters/:id", "DELETE"],
      ["GET", "/keys/reseal", "/keys/reseal", "POST"],
      ["OPTIONS", `/tenants/${id}`, "/tenants/:tenant", "GET, HEAD, PUT, DELETE"],
    ] as const) {
      const response = await admin(method, path, method === "GET" ? undefined : {});
      expect(response.status).toBe(405);
      expect(response.headers.get("allow")).toBe(allow);
      expect(await response.json()).toEqual({
        error: {
          code: "method_not_allowed",
          message: `no such admin API call: ${method} /admin${route} (this path takes ${allow})`,
          request_id: expect.any(String),
        },
      });
      expect((await admin(method, path, undefined, null)).status).toBe(401);
    }
    // Nothing was created along the way.
    expect((await admin("GET", `/tenants/${id}`)).status).toBe(404);
  });

  it("shows a record an older relay stored in the tenant's object with the defaults of settings added since, as ingest reads its KV copy", async () => {
    const id = uniqueTenantId();
    expect((await putTenant(id, { parent: "project_id:p", translate: false })).response.status).toBe(201);
    // As a relay before these settings stored it.
    await runInDurableObject(env.TENANT_OBJECTS.getByName(id), async (_object, state) => {
      const {
        trace_wait_seconds: _wait,
        keep_source_attributes: _sources,
        keep_caller_parent: _parents,
        ...older
      } = (await state.storage.get<Record<string, unknown>>("tenant"))!;
      await state.storage.put("tenant", older);
    });

    const read = await admin("GET", `/tenants/${id}`);

    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({
      translate: false,
      trace_wait_seconds: 600,
      keep_source_attributes: false,
      keep_caller_parent: false,
    });
    // A write conditional on the revision read goes through.
    const etag = read.headers.get("etag")!;
    expect((await admin("PUT", `/tenants/${id}`, { parent: "project_id:q" }, ADMIN_TOKEN, { "if-match": etag })).status).toBe(200);
  });
});
