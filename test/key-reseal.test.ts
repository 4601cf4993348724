import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { resealStoredKey } from "../src/tenants/reseal.js";
import { failingBinding, failingObject, meddlingObjects } from "./support/bindings.js";
import {
  admin,
  adminWith,
  createTenant,
  issueToken,
  sendTracesWith,
  type TestTenant,
  uniqueTenantId,
  withObjectBindings,
  withObjectKv,
} from "./support/relay.js";
import { standin } from "./support/standin.js";
import { spanIdsOf } from "./support/traces.js";

/** ENCRYPTION_KEY rotated: a new key, and the test's own as the previous one. */
const NEXT_KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(9)));
const rotating = { ...env, ENCRYPTION_KEY: NEXT_KEY, ENCRYPTION_KEY_PREVIOUS: env.ENCRYPTION_KEY };

/** The tenant's stored key as KV's copy of its record, the one ingest reads, has it sealed. */
async function sealedInKv(tenantId: string): Promise<string | undefined> {
  return ((await env.TENANTS.get(`tenant:${tenantId}`, "json")) as { api_key_sealed?: string } | null)?.api_key_sealed;
}

/** A trace sent by the relay once the previous key is gone, ENCRYPTION_KEY alone opening keys: the key it reached Braintrust with. */
async function deliveredWithNextKeyOnly(tenant: Pick<TestTenant, "id" | "bearer">, apiKey: string): Promise<void> {
  const trace = trueFoundryTrace();
  expect((await sendTracesWith(tenant, toProtobuf(trace), { ENCRYPTION_KEY: NEXT_KEY, ENCRYPTION_KEY_PREVIOUS: "" })).status).toBe(200);
  expect((await standin.waitForSpans(apiKey, spanIdsOf(trace))).missing).toEqual([]);
}

// `keys reseal` a tenant at a time, as `POST /admin/keys/reseal` does each of its page: the route
// pages through every tenant, and other test files' tenants must keep the test's key.
describe("keys reseal", () => {
  it("names a tenant whose key was put while it was being sealed again as changed, and keeps the key put", async () => {
    const tenant = await createTenant();
    const putMeanwhile = await standin.issueKey();
    const changeKey = async () => {
      const put = await admin("PUT", `/tenants/${tenant.id}`, {
        parent: tenant.parent,
        braintrust: { api_url: env.STANDIN_URL, api_key: putMeanwhile },
      });
      expect(put.status).toBe(200);
    };

    expect(
      await resealStoredKey(
        { ...rotating, TENANT_OBJECTS: meddlingObjects(env.TENANT_OBJECTS, "readRevision", "after", changeKey) },
        tenant.id,
      ),
    ).toBe("changed");

    // Run again, it seals the key that was put, not the one it had read.
    expect(await resealStoredKey(rotating, tenant.id)).toBe("resealed");
    expect(await resealStoredKey(rotating, tenant.id)).toBe("current");
    await deliveredWithNextKeyOnly(tenant, putMeanwhile);
    expect(await standin.attempts(tenant.apiKey)).toEqual([]);
  });

  it("writes a key sealed again to KV on the next run while KV's copy is behind, never counting it sealed until KV has it", async () => {
    const tenant = await createTenant();
    const sealedBefore = await sealedInKv(tenant.id);
    const stub = env.TENANT_OBJECTS.getByName(tenant.id);
    await withObjectKv(stub, failingBinding(env.TENANTS, "put", "KV is unavailable"));

    // Sealed again in the tenant's object, the truth; KV, its copy, refuses the write: not yet sealed for ingest.
    expect(await resealStoredKey(rotating, tenant.id)).toBe("replica_behind");
    expect(await sealedInKv(tenant.id)).toBe(sealedBefore);
    // Run again while KV still refuses: not current, since ingest reads what only the previous key opens.
    expect(await resealStoredKey(rotating, tenant.id)).toBe("replica_behind");
    expect(await sealedInKv(tenant.id)).toBe(sealedBefore);

    // KV back: the next run writes the object's record to it, then finds both sealed under the new key.
    await withObjectKv(stub, env.TENANTS);
    expect(await resealStoredKey(rotating, tenant.id)).toBe("resealed");
    expect(await sealedInKv(tenant.id)).not.toBe(sealedBefore);
    expect(await resealStoredKey(rotating, tenant.id)).toBe("current");
    await deliveredWithNextKeyOnly(tenant, tenant.apiKey);
  });

  // The route itself, every page: run with ENCRYPTION_KEY unchanged, it seals nothing again, so other files' tenants keep their key.
  it("names a tenant whose object does not answer as failed and still gives the page's cursor: one tenant does not stop a rotation", async () => {
    const healthy = await createTenant();
    const overloaded = await createTenant();
    const bindings = { TENANT_OBJECTS: failingObject(env.TENANT_OBJECTS, overloaded.id, "readRevision", "Durable Object is overloaded") };

    const outcomes = new Map<string, string>();
    let cursor: string | null = null;
    do {
      const response = await adminWith(bindings, "POST", "/keys/reseal", cursor ? { cursor } : {});
      expect(response.status).toBe(200);
      const { cursor: next, ...page } = (await response.json()) as Record<string, string[]> & { cursor: string | null };
      for (const [outcome, ids] of Object.entries(page)) for (const id of ids) outcomes.set(id, outcome);
      cursor = next;
    } while (cursor);

    expect(outcomes.get(overloaded.id)).toBe("failed");
    expect(outcomes.get(healthy.id)).toBe("current");
  });

  it("seals again the key of a tenant KV did not hold when it ran, as the tenant's object writes it to KV", async () => {
    const id = uniqueTenantId();
    const apiKey = await standin.issueKey();
    const stub = env.TENANT_OBJECTS.getByName(id);
    // Created before the rotation, its write to KV refused: `keys reseal` finds tenants by KV's list.
    await withObjectKv(stub, failingBinding(env.TENANTS, "put", "KV is unavailable"));
    const put = await admin("PUT", `/tenants/${id}`, {
      parent: `project_name:${id}`,
      braintrust: { api_url: env.STANDIN_URL, api_key: apiKey },
    });
    expect(put.status).toBe(201);
    const bearer = await issueToken(id);
    expect(await sealedInKv(id)).toBeUndefined();

    // The rotation under way, KV back: the object's alarm writes the record, the key sealed under the new key.
    await withObjectBindings(stub, { ENCRYPTION_KEY: NEXT_KEY, ENCRYPTION_KEY_PREVIOUS: env.ENCRYPTION_KEY });
    expect(await runDurableObjectAlarm(stub)).toBe(true);

    expect(await sealedInKv(id)).toBeDefined();
    expect(await resealStoredKey(rotating, id)).toBe("current");
    await deliveredWithNextKeyOnly({ id, bearer }, apiKey);
  });

  it("answers a write during the rotation with the ETag the tenant then has, its key sealed again as the write stored it", async () => {
    const tenant = await createTenant();
    const sealedBefore = await sealedInKv(tenant.id);
    await withObjectBindings(env.TENANT_OBJECTS.getByName(tenant.id), {
      ENCRYPTION_KEY: NEXT_KEY,
      ENCRYPTION_KEY_PREVIOUS: env.ENCRYPTION_KEY,
    });
    const read = await adminWith(rotating, "GET", `/tenants/${tenant.id}`);

    const put = await adminWith(
      rotating,
      "PUT",
      `/tenants/${tenant.id}`,
      { parent: tenant.parent, braintrust: { api_url: env.STANDIN_URL } },
      { "if-match": read.headers.get("etag")! },
    );
    expect(put.status).toBe(200);
    // A write conditional on the ETag the PUT answered goes ahead.
    const issued = await adminWith(rotating, "POST", `/tenants/${tenant.id}/tokens`, undefined, { "if-match": put.headers.get("etag")! });

    expect(issued.status).toBe(201);
    expect((await adminWith(rotating, "GET", `/tenants/${tenant.id}`)).headers.get("etag")).toBe(issued.headers.get("etag"));
    expect(await sealedInKv(tenant.id)).not.toBe(sealedBefore);
    await deliveredWithNextKeyOnly(tenant, tenant.apiKey);
  });

  // An operator's misconfiguration is no tenant's object failing: it is said as it is, for every tenant alike.
  it("answers a malformed ENCRYPTION_KEY_PREVIOUS with 503 naming it, not every tenant as failed for its object", async () => {
    await createTenant();
    const response = await adminWith({ ENCRYPTION_KEY: NEXT_KEY, ENCRYPTION_KEY_PREVIOUS: "not-a-key" }, "POST", "/keys/reseal", {});
    const answer = (await response.json()) as { failed?: string[]; error?: { message: string } };
    expect(answer.failed ?? []).toEqual([]);
    expect(response.status).toBe(503);
    expect(answer.error?.message).toContain("ENCRYPTION_KEY_PREVIOUS");
  });
});
