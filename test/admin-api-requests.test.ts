import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { API_KEY, putTenant } from "./support/admin-api.js";
import { ADMIN_TOKEN, admin, consoleSessionCookie, relayFetch, uniqueTenantId } from "./support/relay.js";

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

describe("admin API: request bodies", () => {
  it("takes a body whose Content-Encoding lists only identity, as ingest does, and refuses one listing a coding", async () => {
    const id = uniqueTenantId();

    for (const coding of ["identity, identity", " IDENTITY ,", ""]) {
      const written = await admin("PUT", `/tenants/${id}`, { parent: "project_name:a" }, ADMIN_TOKEN, { "content-encoding": coding });
      expect(written.status, coding).toBeLessThan(300);
    }
    const refused = await admin("PUT", `/tenants/${id}`, { parent: "project_name:b" }, ADMIN_TOKEN, {
      "content-encoding": "identity, gzip",
    });

    expect(refused.status).toBe(415);
    // RFC 7694, section 3: identity alone, no content coding taken.
    expect(refused.headers.get("accept-encoding")).toBe("identity");
    expect(refused.headers.get("accept")).toBeNull();
    expect(await refused.json()).toMatchObject({
      error: {
        code: "unsupported_media_type",
        message: 'unsupported content encoding "identity, gzip": the admin API reads bodies as sent, without a content encoding',
      },
    });
    expect(await (await admin("GET", `/tenants/${id}`)).json()).toMatchObject({ parent: "project_name:a" });
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
  const refusal = (code: string, message: string, field?: string) => ({
    error: { code, message, ...(field ? { field } : {}), request_id: expect.any(String) },
  });

  it("names a long field name by its length alone, however much was sent", async () => {
    const tenant = uniqueTenantId();
    const key = "k".repeat(LONG);

    for (const [response, status, expected] of [
      [
        await admin("PUT", `/tenants/${tenant}`, { parent: "project_id:p", braintrust: { [key]: 1 } }),
        400,
        refusal("invalid_field", `braintrust: (a key of ${LONG} characters) is not a known field`, "braintrust"),
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
    expect(await response.json()).toEqual(
      refusal("invalid_field", "tenant: the admin token cannot be a tenant id, nor part of one", "tenant"),
    );
    expect(await env.TENANTS.get(`tenant:${ADMIN_TOKEN}`)).toBeNull();
  });

  it("refuses a new tenant's id that holds the admin token, as a prefix or suffix made of it would", async () => {
    for (const id of [`acme-${ADMIN_TOKEN}`, `${ADMIN_TOKEN}_2`]) {
      const response = await admin("PUT", `/tenants/${id}`, { parent: "project_id:p1" });

      expect(response.status, id).toBe(400);
      expect(await response.json()).toEqual(
        refusal("invalid_field", "tenant: the admin token cannot be a tenant id, nor part of one", "tenant"),
      );
      expect(await env.TENANTS.get(`tenant:${id}`)).toBeNull();
    }
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
