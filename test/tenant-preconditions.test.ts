import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, admin, adminWith, createTenant, uniqueTenantId } from "./support/relay.js";

/** What the admin API's PUT takes for a tenant that sends to `parent`. */
const tenantBody = (parent: string) => ({ parent, braintrust: { api_key: "sk-preconditions-0123456789" } });

function conditional(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Response> {
  return admin(method, path, body, ADMIN_TOKEN, headers);
}

async function etagOf(id: string): Promise<string> {
  const read = await admin("GET", `/tenants/${id}`);
  expect(read.status).toBe(200);
  return read.headers.get("etag")!;
}

async function parentOf(id: string): Promise<string> {
  return ((await (await admin("GET", `/tenants/${id}`)).json()) as { parent: string }).parent;
}

async function expectRefused(response: Response, id: string): Promise<void> {
  expect(response.status).toBe(412);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe("precondition_failed");
  expect(body.error.message).toContain(`tenant ${id}`);
  expect(body.error.message).toContain("nothing was changed");
}

describe("admin API: conditional writes (ETag, If-Match, If-None-Match)", () => {
  it("gives a strong ETag on GET and PUT that changes with every change, token issues included", async () => {
    const tenant = await createTenant();
    const first = await etagOf(tenant.id);

    const put = await admin("PUT", `/tenants/${tenant.id}`, tenantBody("project_name:moved"));
    const afterPut = await etagOf(tenant.id);
    await admin("POST", `/tenants/${tenant.id}/tokens`);
    const afterToken = await etagOf(tenant.id);

    expect(first).toMatch(/^"[0-9a-f]{32}"$/);
    expect(put.headers.get("etag")).toBe(afterPut);
    expect(new Set([first, afterPut, afterToken]).size).toBe(3);
    expect(await etagOf(tenant.id)).toBe(afterToken);
  });

  it("replaces a tenant whose ETag matches If-Match, and refuses (412) one changed since, leaving it as it was", async () => {
    const tenant = await createTenant();
    const read = await etagOf(tenant.id);
    const meanwhile = await admin("PUT", `/tenants/${tenant.id}`, tenantBody("project_name:meanwhile"));

    const stale = await conditional("PUT", `/tenants/${tenant.id}`, { "if-match": read }, tenantBody("project_name:stale"));
    await expectRefused(stale, tenant.id);
    expect(await parentOf(tenant.id)).toBe("project_name:meanwhile");

    const current = await conditional(
      "PUT",
      `/tenants/${tenant.id}`,
      { "if-match": `"0000", ${meanwhile.headers.get("etag")}` },
      tenantBody("project_name:current"),
    );
    expect(current.status).toBe(200);
    expect(await parentOf(tenant.id)).toBe("project_name:current");
    // KV, which ingest reads, took only the write that went ahead.
    expect(((await env.TENANTS.get(`tenant:${tenant.id}`, "json")) as { parent: string }).parent).toBe("project_name:current");
  });

  it("lets exactly one of two writes made from the same read go ahead", async () => {
    const tenant = await createTenant();
    const read = await etagOf(tenant.id);

    const answers = await Promise.all(
      ["project_name:a", "project_name:b"].map((parent) =>
        conditional("PUT", `/tenants/${tenant.id}`, { "if-match": read }, tenantBody(parent)),
      ),
    );

    expect(answers.map((a) => a.status).sort()).toEqual([200, 412]);
    const winner = answers.find((a) => a.status === 200)!;
    expect(await parentOf(tenant.id)).toBe(((await winner.json()) as { parent: string }).parent);
  });

  it("creates with If-None-Match: * only a tenant that does not exist yet", async () => {
    const id = uniqueTenantId();
    const created = await conditional("PUT", `/tenants/${id}`, { "if-none-match": "*" }, tenantBody("project_name:first"));
    const again = await conditional("PUT", `/tenants/${id}`, { "if-none-match": "*" }, tenantBody("project_name:second"));

    expect(created.status).toBe(201);
    await expectRefused(again, id);
    expect(await parentOf(id)).toBe("project_name:first");
  });

  it("refuses If-Match for a tenant that does not exist, and creates nothing", async () => {
    const id = uniqueTenantId();
    await expectRefused(await conditional("PUT", `/tenants/${id}`, { "if-match": "*" }, tenantBody("project_name:x")), id);
    expect((await admin("GET", `/tenants/${id}`)).status).toBe(404);
  });

  it("never matches a weak tag in If-Match, which compares strongly", async () => {
    const tenant = await createTenant();
    const weak = `W/${await etagOf(tenant.id)}`;
    await expectRefused(await conditional("PUT", `/tenants/${tenant.id}`, { "if-match": weak }, tenantBody("project_name:x")), tenant.id);
  });

  it("deletes a tenant only when If-Match holds, and keeps it, dead letters and all, when it does not", async () => {
    const tenant = await createTenant();
    const read = await etagOf(tenant.id);
    await admin("PUT", `/tenants/${tenant.id}`, tenantBody("project_name:meanwhile"));
    await env.PAYLOADS.put(`dead-letters/${tenant.id}/0a1b`, new Uint8Array([1]));

    await expectRefused(await conditional("DELETE", `/tenants/${tenant.id}`, { "if-match": read }), tenant.id);
    expect(await parentOf(tenant.id)).toBe("project_name:meanwhile");
    expect(await env.PAYLOADS.head(`dead-letters/${tenant.id}/0a1b`)).not.toBeNull();

    const deleted = await conditional("DELETE", `/tenants/${tenant.id}`, { "if-match": await etagOf(tenant.id) });
    expect(deleted.status).toBe(204);
    expect((await admin("GET", `/tenants/${tenant.id}`)).status).toBe(404);
  });

  it("says so when its tenant changed while its dead letters were being deleted: those are gone, the tenant is not", async () => {
    const tenant = await createTenant();
    // More than the 1000 a page of them holds: the change comes between two pages.
    const keys = Array.from({ length: 1500 }, (_, i) => `dead-letters/${tenant.id}/${i.toString(16).padStart(4, "0")}`);
    for (let i = 0; i < keys.length; i += 100)
      await Promise.all(keys.slice(i, i + 100).map((k) => env.PAYLOADS.put(k, new Uint8Array([1]))));
    const read = await etagOf(tenant.id);
    // Another admin changes the tenant once the DELETE has deleted its first page of dead letters: made
    // to happen then, rather than raced for, which the DELETE's first check of If-Match could lose.
    let meanwhile: Promise<Response> | undefined;
    const payloads = new Proxy(env.PAYLOADS, {
      get(target, property) {
        if (property === "delete")
          return async (deletedKeys: string | string[]) => {
            await target.delete(deletedKeys);
            meanwhile ??= admin("PUT", `/tenants/${tenant.id}`, tenantBody("project_name:meanwhile"));
            await meanwhile;
          };
        const value: unknown = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });

    const deleted = await adminWith({ PAYLOADS: payloads }, "DELETE", `/tenants/${tenant.id}`, undefined, { "if-match": read });
    expect((await meanwhile)?.status).toBe(200);

    expect(deleted.status).toBe(412);
    expect(((await deleted.json()) as { error: { message: string } }).error.message).toContain(
      "its dead letters were deleted, the tenant was not",
    );
    expect(await parentOf(tenant.id)).toBe("project_name:meanwhile");
  });

  it("reads empty list elements as RFC 9110 has them: ignored, and a list of nothing else is no condition", async () => {
    const tenant = await createTenant();
    const current = await etagOf(tenant.id);

    const stale = await conditional("PUT", `/tenants/${tenant.id}`, { "if-match": ' ,"0000", ,' }, tenantBody("project_name:stale"));
    const matched = await conditional(
      "PUT",
      `/tenants/${tenant.id}`,
      { "if-match": `,"0000", ,${current},` },
      tenantBody("project_name:matched"),
    );
    const parentMatched = await parentOf(tenant.id);
    const unconditional = await conditional("PUT", `/tenants/${tenant.id}`, { "if-match": " , ," }, tenantBody("project_name:any"));

    await expectRefused(stale, tenant.id);
    expect(matched.status).toBe(200);
    expect(parentMatched).toBe("project_name:matched");
    expect(unconditional.status).toBe(200);
    expect(await parentOf(tenant.id)).toBe("project_name:any");
  });

  it.each(["abc", '"unterminated', 'W/"a" "b"', '"a" x', '"a";"b"'])("answers 400 naming the header for If-Match %j", async (value) => {
    const tenant = await createTenant();
    const response = await conditional("PUT", `/tenants/${tenant.id}`, { "if-match": value }, tenantBody("project_name:x"));

    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { field: string } }).error.field).toBe("If-Match");
    expect(await parentOf(tenant.id)).toBe(tenant.parent);
  });
});

describe("admin API: conditional reads (RFC 9110, 13.2.1)", () => {
  it("answers a GET whose If-None-Match holds the tenant's ETag 304, with the ETag and no body, and one that does not 200", async () => {
    const tenant = await createTenant();
    const current = await etagOf(tenant.id);

    const unchanged = await conditional("GET", `/tenants/${tenant.id}`, { "if-none-match": `"0000", ${current}` });
    const stale = await conditional("GET", `/tenants/${tenant.id}`, { "if-none-match": '"0000"' });

    expect(unchanged.status).toBe(304);
    expect(unchanged.headers.get("etag")).toBe(current);
    expect(unchanged.headers.get("cache-control")).toBe("no-store");
    expect(await unchanged.text()).toBe("");
    expect(stale.status).toBe(200);
    expect(((await stale.json()) as { id: string }).id).toBe(tenant.id);
  });

  it("refuses (412) a GET whose If-Match the tenant no longer holds, saying where it is now", async () => {
    const tenant = await createTenant();
    const read = await etagOf(tenant.id);
    await admin("PUT", `/tenants/${tenant.id}`, tenantBody("project_name:meanwhile"));

    const refused = await conditional("GET", `/tenants/${tenant.id}`, { "if-match": read });
    const held = await conditional("GET", `/tenants/${tenant.id}`, { "if-match": await etagOf(tenant.id) });

    expect(refused.status).toBe(412);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("precondition_failed");
    expect(body.error.message).toContain(`tenant ${tenant.id} is at ${await etagOf(tenant.id)}`);
    expect(held.status).toBe(200);
  });

  it("answers 400 naming the header for a GET's malformed If-Match or If-None-Match, as a write's", async () => {
    const tenant = await createTenant();
    for (const header of ["if-match", "if-none-match"]) {
      const response = await conditional("GET", `/tenants/${tenant.id}`, { [header]: "abc" });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { field: string } }).error.field).toBe(
        header === "if-match" ? "If-Match" : "If-None-Match",
      );
    }
  });
});

describe("admin API: conditions on a change that has no ETag", () => {
  it("refuses a dead letter's delete or replay and a reseal sent with If-Match or If-None-Match with 400 naming the header, and does nothing", async () => {
    const tenant = await createTenant();
    const key = `dead-letters/${tenant.id}/0a1b`;
    await env.PAYLOADS.put(key, new Uint8Array([1]), { customMetadata: { parent: tenant.parent, spans: "1" } });

    const refusals = [
      await conditional("DELETE", `/dead-letters/${tenant.id}:0a1b`, { "if-match": '"0000"' }),
      await conditional("POST", "/dead-letters/replay", { "if-none-match": "*" }, { id: `${tenant.id}:0a1b` }),
      await conditional("POST", "/keys/reseal", { "if-match": "*" }, {}),
    ];

    for (const [refused, header] of refusals.map((r, i) => [r, i === 1 ? "If-None-Match" : "If-Match"] as const)) {
      expect(refused.status).toBe(400);
      const body = (await refused.json()) as { error: { field: string; message: string } };
      expect(body.error.field).toBe(header);
      expect(body.error.message).toContain("this call has no ETag to compare it with");
    }
    expect(await env.PAYLOADS.head(key)).not.toBeNull();
    // A list of nothing is no condition, there as on a tenant's calls.
    expect((await conditional("DELETE", `/dead-letters/${tenant.id}:0a1b`, { "if-match": " , " })).status).toBe(204);
    expect(await env.PAYLOADS.head(key)).toBeNull();
  });
});
