import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { failingBinding } from "./support/bindings.js";
import { loggedWhile } from "./support/logs.js";
import {
  admin,
  asRecordedBeforeDurableObjects,
  createTenant,
  issueToken,
  sendTraces,
  tokenIdOf,
  uniqueTenantId,
  withObjectKv,
} from "./support/relay.js";
import { standin } from "./support/standin.js";

const body = () => toProtobuf(trueFoundryTrace());

interface TenantJson {
  parent: string;
  tokens: Array<{ id: string }>;
  routes: unknown[];
  redact: unknown;
  drop_non_ai_spans: boolean;
  translate: boolean;
}

async function tenantJson(id: string): Promise<TenantJson> {
  const response = await admin("GET", `/tenants/${id}`);
  expect(response.status).toBe(200);
  return (await response.json()) as TenantJson;
}

/** The record ingest reads: the KV replica. */
async function replicaOf(id: string): Promise<{ parent: string; tokens: Array<{ id: string }> } | null> {
  return env.TENANTS.get(`tenant:${id}`, "json");
}

/** The tenant object's own KV binding refuses writes, as KV does when it is unavailable or over its per-key rate. */
const refusingWrites = failingBinding(env.TENANTS, "put", "KV is unavailable");

describe("concurrent admin calls", () => {
  it("stores every one of ten tokens issued at once, and every one of them works", async () => {
    const tenant = await createTenant();

    const answers = await Promise.all(Array.from({ length: 10 }, () => admin("POST", `/tenants/${tenant.id}/tokens`)));

    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
    const tokens = await Promise.all(answers.map(async (a) => ((await a.json()) as { token: string }).token));
    const stored = (await tenantJson(tenant.id)).tokens.map((t) => t.id).sort();
    expect(stored).toEqual([tokenIdOf(tenant.bearer), ...tokens.map(tokenIdOf)].sort());
    expect((await replicaOf(tenant.id))!.tokens.map((t) => t.id).sort()).toEqual(stored);
    for (const token of tokens) expect((await sendTraces({ id: tenant.id, bearer: token }, body())).status).toBe(200);
    expect(await standin.received(tenant.apiKey)).toHaveLength(10);
  });

  it("never brings back a token revoked while others were being issued", async () => {
    const tenant = await createTenant();
    const revoked = await Promise.all(Array.from({ length: 4 }, () => issueToken(tenant.id)));

    const answers = await Promise.all([
      ...revoked.map((token) => admin("DELETE", `/tenants/${tenant.id}/tokens/${tokenIdOf(token)}`)),
      ...Array.from({ length: 4 }, () => admin("POST", `/tenants/${tenant.id}/tokens`)),
    ]);

    expect(answers.map((a) => a.status)).toEqual([204, 204, 204, 204, 201, 201, 201, 201]);
    const issued = await Promise.all(answers.slice(4).map(async (a) => ((await a.json()) as { token: string }).token));
    const stored = (await tenantJson(tenant.id)).tokens.map((t) => t.id).sort();
    expect(stored).toEqual([tokenIdOf(tenant.bearer), ...issued.map(tokenIdOf)].sort());
    expect((await replicaOf(tenant.id))!.tokens.map((t) => t.id).sort()).toEqual(stored);
    for (const token of revoked) expect((await sendTraces({ id: tenant.id, bearer: token }, body())).status).toBe(401);
    for (const token of issued) expect((await sendTraces({ id: tenant.id, bearer: token }, body())).status).toBe(200);
  });

  it("ends concurrent PUTs with one of the submitted records, whole, in the API and in KV alike", async () => {
    const id = uniqueTenantId();
    const submitted = Array.from({ length: 8 }, (_, i) => ({
      parent: `project_name:p${i}`,
      routes: [{ match: { field: "span_name", equals: `s${i}` }, parent: `experiment_id:e${i}` }],
      redact: { keys: [{ pattern: `k${i}.*` }], values: [] },
      drop_non_ai_spans: i % 2 === 0,
      translate: i % 3 !== 0,
    }));

    const answers = await Promise.all(submitted.map((record) => admin("PUT", `/tenants/${id}`, record)));

    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    const final = await tenantJson(id);
    const winner = submitted.find((record) => record.parent === final.parent)!;
    expect(final).toMatchObject(winner);
    expect(await replicaOf(id)).toMatchObject(winner);
  });

  it("keeps a change KV refused in the tenant's object, and its alarm writes it to KV once KV takes it again", async () => {
    const tenant = await createTenant();
    const stub = env.TENANT_OBJECTS.getByName(tenant.id);
    await withObjectKv(stub, refusingWrites);

    const { result: issued, lines, errors } = await loggedWhile(() => admin("POST", `/tenants/${tenant.id}/tokens`));

    expect(issued.status).toBe(201);
    const { id: tokenId, token } = (await issued.json()) as { id: string; token: string };
    // Written by the object, which is told no request id.
    expect(errors.filter((e) => e.tenant === tenant.id)).toEqual([
      { event: "tenant_replica_failed", tenant: tenant.id, error: "KV is unavailable" },
    ]);
    expect(JSON.stringify([lines, errors])).not.toContain(token);
    expect(JSON.stringify([lines, errors])).not.toContain(tenant.apiKey);
    expect((await tenantJson(tenant.id)).tokens.map((t) => t.id)).toContain(tokenId);
    expect((await replicaOf(tenant.id))!.tokens.map((t) => t.id)).not.toContain(tokenId);

    await withObjectKv(stub, env.TENANTS);
    expect(await runDurableObjectAlarm(stub)).toBe(true);

    expect((await replicaOf(tenant.id))!.tokens.map((t) => t.id)).toContain(tokenId);
    expect((await sendTraces({ id: tenant.id, bearer: token }, body())).status).toBe(200);
  });

  it("keeps trying a write KV refuses, every 30 s past Cloudflare's six alarm retries, until KV takes it", async () => {
    const tenant = await createTenant();
    const stub = env.TENANT_OBJECTS.getByName(tenant.id);
    await withObjectKv(stub, refusingWrites);
    const revoked = tenant.bearer;
    const tokenId = (await tenantJson(tenant.id)).tokens[0]!.id;
    expect((await admin("DELETE", `/tenants/${tenant.id}/tokens/${tokenId}`)).status).toBe(204);

    for (let attempt = 0; attempt < 8; attempt++) {
      const before = Date.now();
      const { result: ran, errors } = await loggedWhile(() => runDurableObjectAlarm(stub));
      expect(ran).toBe(true);
      expect(errors.filter((e) => e.tenant === tenant.id)).toEqual([
        { event: "tenant_replica_failed", tenant: tenant.id, error: "KV is unavailable" },
      ]);
      const next = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
      // 30 s from when the alarm ran: not sooner, and not later.
      expect(next).toBeGreaterThanOrEqual(before + 30_000);
      expect(next).toBeLessThanOrEqual(Date.now() + 30_000);
    }
    expect((await replicaOf(tenant.id))!.tokens.map((t) => t.id)).toContain(tokenId);

    await withObjectKv(stub, env.TENANTS);
    expect(await runDurableObjectAlarm(stub)).toBe(true);

    expect((await replicaOf(tenant.id))!.tokens).toEqual([]);
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).toBeNull();
    expect((await sendTraces({ id: tenant.id, bearer: revoked }, body())).status).toBe(401);
  });

  it("logs a tenant_replica_failed line when the object's storage fails under its alarm, and throws, for Cloudflare to run it again", async () => {
    const tenant = await createTenant();
    const stub = env.TENANT_OBJECTS.getByName(tenant.id);
    // A change KV refused, so the alarm is set.
    await withObjectKv(stub, refusingWrites);
    expect((await admin("POST", `/tenants/${tenant.id}/tokens`)).status).toBe(201);
    await withObjectKv(stub, env.TENANTS);
    // The object's own storage, as its alarm meets it, refuses every read.
    await runInDurableObject(stub, (instance, state) => {
      const storage = failingBinding(state.storage, "get", "Durable Object storage is unavailable");
      Reflect.set(instance, "ctx", new Proxy(state, { get: (target, key) => (key === "storage" ? storage : Reflect.get(target, key)) }));
    });

    const { result: thrown, lines, errors } = await loggedWhile(() => runDurableObjectAlarm(stub).catch((err: unknown) => err));

    expect(thrown).toEqual(new Error("Durable Object storage is unavailable"));
    expect(errors.filter((e) => e.tenant === tenant.id)).toEqual([
      { event: "tenant_replica_failed", tenant: tenant.id, error: "Durable Object storage is unavailable" },
    ]);
    expect(JSON.stringify([lines, errors])).not.toContain(tenant.apiKey);
  });

  it("adopts a tenant written to KV before tenants had a Durable Object, tokens and all", async () => {
    const tenant = await createTenant();
    // As before this change: the record in KV, its Durable Object never run.
    await asRecordedBeforeDurableObjects(tenant.id);

    const before = await tenantJson(tenant.id);
    const token = await issueToken(tenant.id);

    expect(before.parent).toBe(tenant.parent);
    expect(before.tokens.map((t) => t.id)).toEqual([tokenIdOf(tenant.bearer)]);
    expect((await tenantJson(tenant.id)).tokens).toHaveLength(2);
    expect((await sendTraces({ id: tenant.id, bearer: token }, body())).status).toBe(200);
    expect((await sendTraces(tenant, body())).status).toBe(200);
  });

  it("never adopts a deleted tenant's record back from KV", async () => {
    const tenant = await createTenant();
    const record = (await env.TENANTS.get(`tenant:${tenant.id}`))!;
    expect((await admin("DELETE", `/tenants/${tenant.id}`)).status).toBe(204);

    // A stale copy, as another location's KV may still show one for a while.
    await env.TENANTS.put(`tenant:${tenant.id}`, record);

    expect((await admin("GET", `/tenants/${tenant.id}`)).status).toBe(404);
    expect((await admin("POST", `/tenants/${tenant.id}/tokens`)).status).toBe(404);
  });
});

/** A KV binding whose writes never finish, as one under way when its object is reset (a deploy) never does. */
const writesUnderWay = new Proxy(env.TENANTS, {
  get(target, property) {
    if (property === "put" || property === "delete") return () => new Promise(() => undefined);
    const value: unknown = Reflect.get(target, property);
    return typeof value === "function" ? value.bind(target) : value;
  },
});

/**
 * The object resets (a deploy, Cloudflare moving it) once the change is stored and before KV has it:
 * the caller is answered with an error, and calling again finds nothing left to change, so only the
 * object itself can bring the copy ingest reads in line.
 */
async function resetBeforeKvHasIt(tenantId: string, change: Promise<Response>, stored: () => Promise<void>): Promise<void> {
  const stub = env.TENANT_OBJECTS.getByName(tenantId);
  const answered = change.then((response) => response.status).catch(() => "failed");
  await vi.waitFor(stored, { timeout: 10_000, interval: 50 });
  await runInDurableObject(stub, (_instance, state) => state.abort("reset")).catch(() => undefined);
  expect(await answered).not.toBeLessThan(300);
  // Whatever alarm the object holds, run now rather than seconds later; a stub from before the reset is broken with it.
  await runDurableObjectAlarm(env.TENANT_OBJECTS.getByName(tenantId));
}

describe("a tenant's object reset between storing a change and copying it to KV", () => {
  it("still takes a revoked token out of the copy ingest reads: revoking again answers 404", async () => {
    const tenant = await createTenant();
    const tokenId = tokenIdOf(tenant.bearer);
    await withObjectKv(env.TENANT_OBJECTS.getByName(tenant.id), writesUnderWay);

    await resetBeforeKvHasIt(tenant.id, admin("DELETE", `/tenants/${tenant.id}/tokens/${tokenId}`), async () =>
      expect((await tenantJson(tenant.id)).tokens).toEqual([]),
    );

    expect((await admin("DELETE", `/tenants/${tenant.id}/tokens/${tokenId}`)).status).toBe(404);
    expect((await replicaOf(tenant.id))!.tokens).toEqual([]);
    expect((await sendTraces(tenant, body())).status).toBe(401);
  });

  it("still deletes the copy ingest reads of a deleted tenant: deleting again answers 404", async () => {
    const tenant = await createTenant();
    await withObjectKv(env.TENANT_OBJECTS.getByName(tenant.id), writesUnderWay);

    await resetBeforeKvHasIt(tenant.id, admin("DELETE", `/tenants/${tenant.id}`), async () =>
      expect((await admin("GET", `/tenants/${tenant.id}`)).status).toBe(404),
    );

    expect((await admin("DELETE", `/tenants/${tenant.id}`)).status).toBe(404);
    expect(await replicaOf(tenant.id)).toBeNull();
    expect((await sendTraces(tenant, body())).status).toBe(404);
  });
});
