import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { adminApp } from "../src/admin/app.js";
import { loggedWhile } from "./support/logs.js";
import { ADMIN_TOKEN, admin, consoleSessionCookie, relayFetch, sendTraces, uniqueTenantId } from "./support/relay.js";

const API_KEY = "sk-admin-test-0123456789abcdef";

async function putTenant(id: string, body: unknown) {
  const response = await admin("PUT", `/tenants/${id}`, body);
  return { response, json: (await response.json()) as Record<string, unknown> };
}

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
});

describe("admin API: tokens", () => {
  it("answers with Cache-Control: no-store, the issued token's answer and refusals alike: no cache keeps a token", async () => {
    const id = uniqueTenantId();
    await putTenant(id, { parent: "project_id:p", braintrust: { api_key: API_KEY } });
    const issued = await admin("POST", `/tenants/${id}/tokens`);
    expect(issued.status).toBe(201);
    expect(issued.headers.get("cache-control")).toBe("no-store");
    for (const answer of [await admin("GET", `/tenants/${id}`), await admin("GET", "/tenants/no-such-tenant")])
      expect(answer.headers.get("cache-control")).toBe("no-store");
  });

  it("issues a token once (201) and lists only its id afterwards", async () => {
    const id = uniqueTenantId();
    await putTenant(id, { parent: "project_id:p", braintrust: { api_key: API_KEY } });

    const response = await admin("POST", `/tenants/${id}/tokens`);

    expect(response.status).toBe(201);
    const issued = (await response.json()) as { id: string; token: string; created_at: string };
    expect(issued.token).toMatch(new RegExp(`^tbr_${issued.id}_[\\w-]{43}$`));
    const tenant = (await (await admin("GET", `/tenants/${id}`)).json()) as { tokens: unknown };
    expect(tenant.tokens).toEqual([{ id: issued.id, created_at: issued.created_at }]);
    const raw = (await env.TENANTS.get(`tenant:${id}`))!;
    expect(raw).not.toContain(issued.token);
    expect(raw).not.toContain(issued.token.slice(`tbr_${issued.id}_`.length));
  });

  it("replaces the token issued under the same issue key, so an issue sent twice leaves one token: the last answer's", async () => {
    const id = uniqueTenantId();
    await putTenant(id, { parent: "project_id:p", braintrust: { api_key: API_KEY } });
    const unkeyed = (await (await admin("POST", `/tenants/${id}/tokens`)).json()) as { id: string };
    const issue = async (issueKey: string) => {
      const response = await admin("POST", `/tenants/${id}/tokens`, { issue_key: issueKey });
      expect(response.status).toBe(201);
      return (await response.json()) as { id: string; token: string; replaced?: string };
    };

    const { result, events } = await loggedWhile(async () => {
      const first = await issue("form-0123456789abcdef");
      const second = await issue("form-0123456789abcdef");
      return { first, second, other: await issue("form-fedcba9876543210") };
    });

    const { first, second, other } = result;
    expect(first.replaced).toBeUndefined();
    expect(second.replaced).toBe(first.id);
    expect(other.replaced).toBeUndefined();
    const tenant = (await (await admin("GET", `/tenants/${id}`)).json()) as { tokens: { id: string }[] };
    expect(tenant.tokens.map((t) => t.id)).toEqual([unkeyed.id, second.id, other.id]);
    expect(events.filter((e) => e.event === "admin_change" && e.tenant === id).map((e) => [e.token_id, e.replaced_token_id])).toEqual([
      [first.id, undefined],
      [second.id, first.id],
      [other.id, undefined],
    ]);
    expect((await sendTraces({ id, bearer: first.token }, toProtobuf(trueFoundryTrace()))).status).toBe(401);
    expect((await sendTraces({ id, bearer: second.token }, toProtobuf(trueFoundryTrace()))).status).toBe(200);
  });

  it("refuses an issue key that is not 16 to 64 characters of letters, digits, _ and -, and a body of other fields, naming the field", async () => {
    const id = uniqueTenantId();
    await putTenant(id, { parent: "project_id:p", braintrust: { api_key: API_KEY } });

    const short = await admin("POST", `/tenants/${id}/tokens`, { issue_key: "short" });
    const unknown = await admin("POST", `/tenants/${id}/tokens`, { issue: "form-0123456789abcdef" });

    expect(short.status).toBe(400);
    expect(await short.json()).toMatchObject({
      error: { code: "invalid_field", message: "issue_key: must be 16 to 64 characters of A-Z, a-z, 0-9, _ and -", field: "issue_key" },
    });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({
      error: { code: "invalid_field", message: 'body: "issue" is not a known field', field: "body" },
    });
    const tenant = (await (await admin("GET", `/tenants/${id}`)).json()) as { tokens: unknown[] };
    expect(tenant.tokens).toEqual([]);
  });

  it("names the token issued or revoked in its admin_change line by its id, never the token", async () => {
    const id = uniqueTenantId();
    await putTenant(id, { parent: "project_id:p", braintrust: { api_key: API_KEY } });

    const {
      result: issued,
      lines,
      events,
    } = await loggedWhile(async () => {
      const issued = (await (await admin("POST", `/tenants/${id}/tokens`)).json()) as { id: string; token: string };
      expect((await admin("DELETE", `/tenants/${id}/tokens/${issued.id}`)).status).toBe(204);
      return issued;
    });

    const changes = events.filter((e) => e.event === "admin_change" && e.tenant === id).map(({ request_id: _id, ...change }) => change);
    expect(changes).toEqual([
      { event: "admin_change", method: "POST", path: `/admin/tenants/${id}/tokens`, status: 201, tenant: id, token_id: issued.id },
      {
        event: "admin_change",
        method: "DELETE",
        path: `/admin/tenants/${id}/tokens/${issued.id}`,
        status: 204,
        tenant: id,
        token_id: issued.id,
      },
    ]);
    expect(lines.join("\n")).not.toContain(issued.token);
  });

  it("refuses tokens for a passthrough tenant (409, saying how to take them) and revokes by id (204, then 404)", async () => {
    const passthrough = uniqueTenantId();
    await putTenant(passthrough, { parent: "project_id:p" });
    const refused = await admin("POST", `/tenants/${passthrough}/tokens`);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe(
      "this tenant has no stored API key: its clients send their own Braintrust key, so it takes no ingest tokens; store a key (braintrust.api_key) to issue them",
    );

    const stored = uniqueTenantId();
    await putTenant(stored, { parent: "project_id:p", braintrust: { api_key: API_KEY } });
    const { id } = (await (await admin("POST", `/tenants/${stored}/tokens`)).json()) as { id: string };
    const { token } = (await (await admin("POST", `/tenants/${stored}/tokens`)).json()) as { token: string };
    // The token pasted where its id goes: refused, and not sent back.
    const pasted = await admin("DELETE", `/tenants/${stored}/tokens/${token}`);
    expect(pasted.status).toBe(404);
    expect(await pasted.json()).toEqual({
      error: {
        code: "not_found",
        message: `tenant ${stored} has no token with that id: it is a token itself; a token's id is the 16 hex digits after tbr_`,
        request_id: expect.any(String),
      },
    });
    expect((await admin("DELETE", `/tenants/${stored}/tokens/${id}`)).status).toBe(204);
    expect((await admin("DELETE", `/tenants/${stored}/tokens/${id}`)).status).toBe(404);
    expect((await admin("POST", "/tenants/no-such-tenant/tokens")).status).toBe(404);
  });
});

describe("admin API: sealing stored keys again", () => {
  it("reads every tenant a page at a time and changes none whose key the current ENCRYPTION_KEY sealed", async () => {
    const id = uniqueTenantId();
    await putTenant(id, { parent: "project_id:p", braintrust: { api_key: API_KEY } });
    const before = await admin("GET", `/tenants/${id}`);

    const current: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await admin("POST", "/keys/reseal", { limit: 5, ...(cursor ? { cursor } : {}) });
      expect(response.status).toBe(200);
      const page = (await response.json()) as { resealed: string[]; current: string[]; cursor: string | null };
      expect(page.resealed).toEqual([]);
      current.push(...page.current);
      cursor = page.cursor;
      pages++;
    } while (cursor && pages < 1000);

    expect(current).toContain(id);
    expect((await admin("GET", `/tenants/${id}`)).headers.get("etag")).toBe(before.headers.get("etag"));
  });

  it("refuses a page over 20 tenants, or a body it does not know, with 400 naming the field", async () => {
    for (const [body, field] of [
      [{ limit: 21 }, "limit"],
      [{ limit: 0 }, "limit"],
      [{ tenant: "acme" }, "body"],
      [[], "body"],
    ] as const) {
      const response = await admin("POST", "/keys/reseal", body);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { field: string } }).error.field).toBe(field);
    }
  });
});

describe("admin API: authentication", () => {
  it("refuses calls without the admin token or with a wrong one, of any length or the right one", async () => {
    const id = uniqueTenantId();
    // Same length as the real token, differing in the last byte, the first, or all: only comparing every byte refuses them.
    const sameLength = [`${ADMIN_TOKEN.slice(0, -1)}N`, `T${ADMIN_TOKEN.slice(1)}`, "x".repeat(ADMIN_TOKEN.length)];
    for (const token of [null, "wrong", `${ADMIN_TOKEN}-but-longer`, "", ...sameLength]) {
      for (const [method, path] of [
        ["GET", "/tenants"],
        ["PUT", `/tenants/${id}`],
        ["GET", `/tenants/${id}`],
        ["DELETE", `/tenants/${id}`],
        ["POST", `/tenants/${id}/tokens`],
        ["POST", "/keys/reseal"],
      ] as const) {
        const response = await admin(method, path, method === "PUT" ? { parent: "project_id:p" } : undefined, token);
        expect(response.status).toBe(401);
        expect(response.headers.get("www-authenticate")).toBe('Bearer realm="relay"');
        expect(await response.json()).toEqual({
          error: { code: "unauthenticated", message: "missing or wrong admin token", request_id: expect.any(String) },
        });
      }
    }
    expect(await env.TENANTS.get(`tenant:${id}`)).toBeNull();
  });
});

describe("admin API: list cursors", () => {
  const refusal = {
    error: {
      code: "invalid_field",
      message: "cursor: not one this list gave out: list again from the first page, without a cursor",
      field: "cursor",
      request_id: expect.any(String),
    },
  };

  /** A page's cursor, of a list with more than one page. */
  async function cursorOf(response: Response): Promise<string> {
    expect(response.status).toBe(200);
    const { cursor } = (await response.json()) as { cursor: string | null };
    expect(cursor).toEqual(expect.any(String));
    return cursor!;
  }

  // Production KV and R2 throw on a cursor they did not make (miniflare takes any, and lists nothing
  // from it): without a check of its own, the relay would answer a client's typo with a 500.
  it("refuses a cursor no list gave, a changed one, or another list's, with 400 naming the cursor, on every list", async () => {
    const [a, b] = [uniqueTenantId(), uniqueTenantId()];
    for (const id of [a, b]) await putTenant(id, { parent: "project_id:p" });
    for (const key of ["0a", "0b"]) await env.PAYLOADS.put(`dead-letters/${a}/${key}`, new Uint8Array([1]));
    const tenants = await cursorOf(await admin("GET", "/tenants?limit=1"));
    const deadLetters = await cursorOf(await admin("GET", `/dead-letters?tenant=${a}&limit=1`));
    const changed = `${tenants.slice(0, -1)}${tenants.endsWith("A") ? "B" : "A"}`;
    const calls = (cursor: string) =>
      [
        admin("GET", `/tenants?cursor=${encodeURIComponent(cursor)}`),
        admin("GET", `/stats?cursor=${encodeURIComponent(cursor)}`),
        admin("POST", "/keys/reseal", { cursor }),
        admin("GET", `/dead-letters?cursor=${encodeURIComponent(cursor)}`),
        admin("POST", "/dead-letters/replay", { cursor }),
      ] as const;

    for (const cursor of ["garbage", ".", changed, `${deadLetters}x`]) {
      for (const response of await Promise.all(calls(cursor))) {
        expect(response.status).toBe(400);
        expect(await response.json()).toEqual(refusal);
      }
    }
    // Another list's: the tenants' in the dead letters', one tenant's dead letters' in another's or in everyone's.
    for (const response of [
      await admin("GET", `/dead-letters?tenant=${a}&cursor=${encodeURIComponent(tenants)}`),
      await admin("GET", `/tenants?cursor=${encodeURIComponent(deadLetters)}`),
      await admin("GET", `/dead-letters?tenant=${b}&cursor=${encodeURIComponent(deadLetters)}`),
      await admin("POST", "/dead-letters/replay", { cursor: deadLetters }),
    ]) {
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual(refusal);
    }
    // Each list's own goes on from where its page stopped.
    expect((await admin("GET", `/stats?limit=1&cursor=${encodeURIComponent(tenants)}`)).status).toBe(200);
    const next = await admin("GET", `/dead-letters?tenant=${a}&limit=1&cursor=${encodeURIComponent(deadLetters)}`);
    expect(((await next.json()) as { dead_letters: Array<{ id: string }> }).dead_letters.map((d) => d.id)).toEqual([`${a}:0b`]);
  });
});

describe("admin API: the caller's text in refusals", () => {
  /** Half a MiB: a body holding it is inside the admin API's limit of 1 MiB. */
  const LONG = 512 * 1024;
  /** How a refusal quotes text of more than 256 characters: its first 256, JSON-quoted, and its length. */
  const cut = (text: string) => `${JSON.stringify(text.slice(0, 256))}… (${text.length} characters)`;
  const refusal = (code: string, message: string, field?: string) => ({
    error: { code, message, ...(field ? { field } : {}), request_id: expect.any(String) },
  });

  it("quotes at most 256 characters of a field name, with its length, however much was sent", async () => {
    const tenant = uniqueTenantId();
    const key = "k".repeat(LONG);

    for (const [response, status, expected] of [
      [
        await admin("PUT", `/tenants/${tenant}`, { parent: "project_id:p", braintrust: { [key]: 1 } }),
        400,
        refusal("invalid_field", `braintrust: ${cut(key)} is not a known field`, "braintrust"),
      ],
      [
        await admin("GET", `/tenants/${"A".repeat(LONG)}`),
        400,
        refusal("invalid_field", "tenant: ids are 1-64 characters of a-z, 0-9, - and _", "tenant"),
      ],
    ] as const) {
      expect(response.status).toBe(status);
      expect(await response.json()).toEqual(expected);
    }
  });

  it("quotes an id of more than 24 characters only when it has an id's shape: else its length, for it may be a secret", async () => {
    const tenant = uniqueTenantId();
    await putTenant(tenant, { parent: "project_id:p", braintrust: { api_key: API_KEY } });
    const deadLetter = `${tenant}:${"0a".repeat(80)}`;
    const tokenId = "0123456789abcdef";
    const noDeadLetter = (length: number) =>
      refusal("not_found", `no such dead letter: an id of ${length} characters, none a dead letter can have (<tenant>:<delivery id>)`);
    const noToken = (length: number) =>
      refusal("not_found", `tenant ${tenant} has no token with an id of ${length} characters: a token's id is 16 hex digits`);

    for (const [response, expected] of [
      [await admin("DELETE", `/dead-letters/${deadLetter}`), refusal("not_found", `no such dead letter: ${JSON.stringify(deadLetter)}`)],
      [
        await admin("POST", "/dead-letters/replay", { id: deadLetter }),
        refusal("not_found", `no such dead letter: ${JSON.stringify(deadLetter)}`),
      ],
      [await admin("DELETE", `/tenants/${tenant}/tokens/${tokenId}`), refusal("not_found", `tenant ${tenant} has no token "${tokenId}"`)],
      [await admin("DELETE", `/dead-letters/${ADMIN_TOKEN}`), noDeadLetter(ADMIN_TOKEN.length)],
      [await admin("POST", "/dead-letters/replay", { id: API_KEY }), noDeadLetter(API_KEY.length)],
      [await admin("DELETE", `/dead-letters/${tenant}:${"0".repeat(LONG)}`), noDeadLetter(tenant.length + 1 + LONG)],
      [await admin("DELETE", `/tenants/${tenant}/tokens/${ADMIN_TOKEN}`), noToken(ADMIN_TOKEN.length)],
      [await admin("DELETE", `/tenants/${tenant}/tokens/${"f".repeat(LONG)}`), noToken(LONG)],
    ] as const) {
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual(expected);
    }
  });

  it("never repeats the path of a 404 or a 405, API's or console's, so a token pasted into one does not come back", async () => {
    const cookie = await consoleSessionCookie();
    const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };
    for (const pasted of [ADMIN_TOKEN, `tbr_0123456789abcdef_${"A".repeat(43)}`]) {
      for (const [path, method, headers, status] of [
        [`/admin/${pasted}`, "GET", bearer, 404],
        [`/admin/tenants/acme/${pasted}`, "DELETE", bearer, 404],
        [`/admin/tenants/${pasted}`, "PATCH", bearer, 405],
        [`/admin/dead-letters/${pasted}`, "GET", bearer, 405],
        [`/admin/console/tenants/${pasted}`, "DELETE", bearer, 405],
        // A form's address opens its tenant's page: not for an id no tenant can have.
        [`/admin/console/tenants/${pasted}/delete`, "GET", { cookie }, pasted === ADMIN_TOKEN ? 404 : 400],
        [`/admin/console/${pasted}`, "GET", { cookie }, 404],
      ] as const) {
        const response = await relayFetch(path, { method, headers, redirect: "manual" });
        expect(response.status).toBe(status);
        expect(response.headers.get("location")).toBeNull();
        expect(await response.text()).not.toContain(pasted);
      }
    }
  });

  it("masks the admin token wherever a refusal would name it: pasted as a tenant id, which it can look like", async () => {
    for (const [method, path] of [
      ["GET", `/tenants/${ADMIN_TOKEN}`],
      ["DELETE", `/tenants/${ADMIN_TOKEN}`],
      ["GET", `/tenants/${ADMIN_TOKEN}/stats`],
      ["POST", `/tenants/${ADMIN_TOKEN}/tokens`],
    ] as const) {
      const response = await admin(method, path);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual(refusal("not_found", "no such tenant: [the admin token]"));
    }
  });

  it("refuses the admin token as a new tenant's id, which would put it in KV keys, ingest URLs and logs", async () => {
    const response = await admin("PUT", `/tenants/${ADMIN_TOKEN}`, { parent: "project_id:p1" });

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(refusal("invalid_field", "tenant: the admin token cannot be a tenant id", "tenant"));
    expect(await env.TENANTS.get(`tenant:${ADMIN_TOKEN}`)).toBeNull();
  });

  it("quotes a short id whole, in JSON, so that blanks and control characters show", async () => {
    const deleted = await admin("DELETE", `/dead-letters/${encodeURIComponent("a b\n")}`);

    expect(deleted.status).toBe(404);
    expect(await deleted.json()).toEqual(refusal("not_found", 'no such dead letter: "a b\\n"'));
  });
});

describe("admin API: query parameters", () => {
  const refusal = (field: string, message: string) => ({
    error: { code: "invalid_field", message: `${field}: ${message}`, field, request_id: expect.any(String) },
  });

  it("takes a number in a query only as decimal digits, on every call that reads one", async () => {
    const tenant = uniqueTenantId();
    await putTenant(tenant, { parent: "project_id:p" });
    const calls = [
      ["/tenants?limit=", "limit"],
      ["/stats?limit=", "limit"],
      ["/dead-letters?limit=", "limit"],
      [`/tenants/${tenant}/stats?per_minute=`, "per_minute"],
    ] as const;

    for (const [call, field] of calls) {
      for (const value of ["0x10", "1e2", "%205", "5%20", "+5", "5.0", "-1", "", "five"]) {
        const response = await admin("GET", `${call}${value}`);
        expect(response.status).toBe(400);
        expect(await response.json()).toEqual(refusal(field, "must be a whole number in decimal digits only"));
      }
      expect((await admin("GET", `${call}007`)).status).toBe(200);
    }
  });

  it("refuses a number in a query past its bounds, naming them", async () => {
    for (const [call, field, max] of [
      ["/tenants?limit=", "limit", 1000],
      ["/stats?limit=", "limit", 49],
      ["/dead-letters?limit=", "limit", 1000],
    ] as const) {
      for (const value of [0, max + 1]) {
        const response = await admin("GET", `${call}${value}`);
        expect(response.status).toBe(400);
        expect(await response.json()).toEqual(refusal(field, `must be from 1 to ${max}`));
      }
    }
  });

  it("refuses a parameter given twice with 400 naming it, not one of its values chosen", async () => {
    const tenant = uniqueTenantId();
    await putTenant(tenant, { parent: "project_id:p" });

    for (const [call, field] of [
      ["/tenants?limit=1&limit=2", "limit"],
      ["/tenants?cursor=a&limit=1&cursor=a", "cursor"],
      ["/stats?limit=1&limit=1", "limit"],
      [`/dead-letters?tenant=${tenant}&tenant=${tenant}`, "tenant"],
      [`/tenants/${tenant}/stats?per_minute=1&per_minute=2&per_minute=3`, "per_minute"],
    ] as const) {
      const response = await admin("GET", call);
      const times = call.split(`${field}=`).length - 1;
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual(refusal(field, `given ${times} times: give it once`));
    }
  });

  it("refuses a parameter its call does not take with 400 naming it and what the call takes, on every call, changing nothing", async () => {
    const tenant = uniqueTenantId();
    await putTenant(tenant, { parent: "project_id:p", braintrust: { api_key: API_KEY } });
    const tokenId = ((await (await admin("POST", `/tenants/${tenant}/tokens`)).json()) as { id: string }).id;
    const created = uniqueTenantId();
    const calls = [
      ["GET", "/tenants", "/tenants", "limit, cursor"],
      ["PUT", `/tenants/${created}`, "/tenants/:tenant", "none"],
      ["GET", `/tenants/${tenant}`, "/tenants/:tenant", "none"],
      ["DELETE", `/tenants/${tenant}`, "/tenants/:tenant", "none"],
      ["POST", `/tenants/${tenant}/tokens`, "/tenants/:tenant/tokens", "none"],
      ["DELETE", `/tenants/${tenant}/tokens/${tokenId}`, "/tenants/:tenant/tokens/:id", "none"],
      ["GET", `/tenants/${tenant}/stats`, "/tenants/:tenant/stats", "per_minute"],
      ["GET", `/tenants/${tenant}/waiting-traces`, "/tenants/:tenant/waiting-traces", "none"],
      ["GET", "/stats", "/stats", "limit, cursor"],
      ["GET", "/dead-letters", "/dead-letters", "tenant, limit, cursor"],
      // A replay of everyone's dead letters, had the misplaced tenant been left unread.
      ["POST", "/dead-letters/replay", "/dead-letters/replay", "none", "tenant"],
      ["DELETE", `/dead-letters/${tenant}:0a`, "/dead-letters/:id", "none"],
      ["POST", "/keys/reseal", "/keys/reseal", "none"],
    ] as const;

    for (const [method, path, route, takes, parameter = "tenat"] of calls) {
      const body = method === "GET" ? undefined : method === "PUT" ? { parent: "project_id:p" } : {};
      const response = await admin(method, `${path}?${parameter}=${tenant}`, body);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: {
          code: "invalid_field",
          message: `"${parameter}": not a query parameter of ${method} /admin${route}, which takes ${takes}`,
          field: parameter,
          request_id: expect.any(String),
        },
      });
    }
    expect((await admin("GET", `/tenants/${created}`)).status).toBe(404);
    const kept = (await (await admin("GET", `/tenants/${tenant}`)).json()) as { tokens: Array<{ id: string }> };
    expect(kept.tokens.map((t) => t.id)).toEqual([tokenId]);
  });

  it("names a parameter of more than 24 characters by its length only: it may be a secret pasted into the URL", async () => {
    const response = await admin("GET", `/dead-letters?${ADMIN_TOKEN}`);
    const text = await response.text();

    expect(response.status).toBe(400);
    expect(JSON.parse(text)).toEqual({
      error: {
        code: "invalid_field",
        message: `a query parameter of ${ADMIN_TOKEN.length} characters: not one of GET /admin/dead-letters, which takes tenant, limit, cursor`,
        request_id: expect.any(String),
      },
    });
    expect(text).not.toContain(ADMIN_TOKEN);
  });
});
