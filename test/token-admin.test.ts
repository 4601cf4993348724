import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { sha256Hex } from "../src/secrets/compare.js";
import { API_KEY, putTenant } from "./support/admin-api.js";
import { loggedWhile } from "./support/logs.js";
import { ADMIN_TOKEN, admin, createTenant, sendTraces, tokenIdOf, uniqueTenantId } from "./support/relay.js";

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

  it("takes an issue without a body, or with JSON's white space alone, and refuses other spaces as it refuses any body that is not JSON", async () => {
    const id = uniqueTenantId();
    await putTenant(id, { parent: "project_id:p", braintrust: { api_key: API_KEY } });

    for (const body of [undefined, "", " \t\r\n"]) expect((await admin("POST", `/tenants/${id}/tokens`, body)).status).toBe(201);
    for (const body of ["\u00a0", "\u2028", "\u3000"]) {
      const refused = await admin("POST", `/tenants/${id}/tokens`, body);
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ error: { message: "body: must be a JSON object, or none", field: "body" } });
    }
  });

  it("keeps no issue key as it was given, so a secret pasted there by a slip is not in KV: only its digest", async () => {
    const id = uniqueTenantId();
    await putTenant(id, { parent: "project_id:p", braintrust: { api_key: API_KEY } });
    const pasted = (await (await admin("POST", `/tenants/${id}/tokens`)).json()) as { token: string };
    for (const issueKey of [pasted.token, ADMIN_TOKEN]) {
      expect((await admin("POST", `/tenants/${id}/tokens`, { issue_key: issueKey })).status).toBe(201);
    }

    const raw = (await env.TENANTS.get(`tenant:${id}`))!;
    expect(raw).not.toContain(pasted.token);
    expect(raw).not.toContain(ADMIN_TOKEN);
    expect(raw).toContain(await sha256Hex(ADMIN_TOKEN));
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

  it("issues and revokes only on the revision an If-Match names (412 else, nothing changed), and answers with the new revision's ETag", async () => {
    const tenant = await createTenant();
    const stale = (await admin("GET", `/tenants/${tenant.id}`)).headers.get("etag")!;
    expect((await admin("PUT", `/tenants/${tenant.id}`, { parent: "project_name:moved-meanwhile" })).status).toBe(200);
    const current = (await admin("GET", `/tenants/${tenant.id}`)).headers.get("etag")!;
    const tokenIds = async () =>
      ((await (await admin("GET", `/tenants/${tenant.id}`)).json()) as { tokens: { id: string }[] }).tokens.map((t) => t.id);
    const before = await tokenIds();

    const staleIssue = await admin("POST", `/tenants/${tenant.id}/tokens`, undefined, ADMIN_TOKEN, { "if-match": stale });
    const staleRevoke = await admin("DELETE", `/tenants/${tenant.id}/tokens/${tokenIdOf(tenant.bearer)}`, undefined, ADMIN_TOKEN, {
      "if-match": stale,
    });
    expect([staleIssue.status, staleRevoke.status]).toEqual([412, 412]);
    expect(((await staleIssue.json()) as { error: { message: string } }).error.message).toBe(
      `tenant ${tenant.id} is at ${current}, which the request's If-Match or If-None-Match refuses: nothing was changed; read the tenant again and reapply the change`,
    );
    expect(await tokenIds()).toEqual(before);
    expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(200);

    const issued = await admin("POST", `/tenants/${tenant.id}/tokens`, undefined, ADMIN_TOKEN, { "if-match": current });
    expect(issued.status).toBe(201);
    const afterIssue = (await admin("GET", `/tenants/${tenant.id}`)).headers.get("etag");
    expect(issued.headers.get("etag")).toBe(afterIssue);
    const revoked = await admin("DELETE", `/tenants/${tenant.id}/tokens/${tokenIdOf(tenant.bearer)}`, undefined, ADMIN_TOKEN, {
      "if-match": afterIssue!,
    });
    expect(revoked.status).toBe(204);
    expect(revoked.headers.get("etag")).toBe((await admin("GET", `/tenants/${tenant.id}`)).headers.get("etag"));

    // No tenant is a 404, whatever the condition.
    const missing = uniqueTenantId();
    const onMissing = [
      await admin("POST", `/tenants/${missing}/tokens`, undefined, ADMIN_TOKEN, { "if-match": current }),
      await admin("DELETE", `/tenants/${missing}/tokens/${tokenIdOf(tenant.bearer)}`, undefined, ADMIN_TOKEN, { "if-match": current }),
    ];
    expect(onMissing.map((response) => response.status)).toEqual([404, 404]);
  });

  it("refuses (400) a token call whose If-Match is not * or a list of entity tags, as tenant writes do, and issues nothing", async () => {
    const tenant = await createTenant();
    const issued = await admin("POST", `/tenants/${tenant.id}/tokens`, undefined, ADMIN_TOKEN, { "if-match": "not-an-etag" });
    expect(issued.status).toBe(400);
    expect(((await (await admin("GET", `/tenants/${tenant.id}`)).json()) as { tokens: unknown[] }).tokens).toHaveLength(1);
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
