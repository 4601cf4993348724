import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { ISOLATE_CACHE_MAX_ENTRIES, tenantStoreOf } from "../src/tenants/store.js";
import { failingBinding } from "./support/bindings.js";
import { loggedWhile } from "./support/logs.js";
import { createTenant, sendTracesWith, uniqueTenantId } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { rpcStatusOf, spanIdsOf } from "./support/traces.js";

/** Workers KV failing every read, as in an outage. */
const failingKv = () => ({ TENANTS: failingBinding(env.TENANTS, "get", "KV GET failed: 503 Service Unavailable") });

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a tenant's record while Workers KV fails", () => {
  it("refuses the request as one to send again (503, Retry-After) when the isolate has never read the tenant, forwarding nothing", async () => {
    const tenant = await createTenant();

    const { result: response, events } = await loggedWhile(() => sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), failingKv()));

    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("2");
    expect((await rpcStatusOf(response)).message).toBe(
      "the relay could not read the tenant's configuration (Workers KV failed): retry later",
    );
    expect(events).toContainEqual(expect.objectContaining({ event: "ingest_refused", tenant: tenant.id, status: 503 }));
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(0);
  });

  it("delivers with the copy of the tenant the isolate read last, however old, so a gateway's spans are not lost to a bad minute of KV's", async () => {
    const tenant = await createTenant();
    expect((await sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), {})).status).toBe(200);
    // Past the isolate's few seconds of caching: the record is read from KV again, which fails.
    const later = Date.now() + 60_000;
    vi.spyOn(Date, "now").mockReturnValue(later);
    const trace = trueFoundryTrace();

    const response = await sendTracesWith(tenant, toProtobuf(trace), failingKv());

    expect(response.status).toBe(200);
    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace))).missing).toEqual([]);
  });

  it("keeps the copy that serves while KV fails however many ids no tenant has were asked for since: anyone can ask", async () => {
    const tenant = await createTenant();
    expect((await sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), {})).status).toBe(200);
    // KV answering "no such key" for a flood of made-up ids at once, as it would, only faster.
    const kv = new Proxy(env.TENANTS, {
      get: (target, property) =>
        property === "get"
          ? (key: string, options: unknown) =>
              key.startsWith("tenant:no-such-") ? Promise.resolve(null) : target.get(key, options as KVNamespaceGetOptions<"json">)
          : Reflect.get(target, property),
    });
    const store = tenantStoreOf({ ...env, TENANTS: kv });
    for (let i = 0; i <= ISOLATE_CACHE_MAX_ENTRIES; i++) expect(await store.get(`no-such-${i}`)).toBeUndefined();
    vi.spyOn(Date, "now").mockReturnValue(Date.now() + 60_000);
    const trace = trueFoundryTrace();

    const response = await sendTracesWith(tenant, toProtobuf(trace), failingKv());

    expect(response.status).toBe(200);
    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace))).missing).toEqual([]);
  });

  it("refuses as one to send again (503), not as no such tenant (404), a tenant the isolate last read as missing: it may exist since", async () => {
    const tenant = { id: uniqueTenantId(), bearer: "tbr_whatever" };
    expect((await sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), {})).status).toBe(404);
    vi.spyOn(Date, "now").mockReturnValue(Date.now() + 60_000);

    const response = await sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), failingKv());

    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("2");
  });
});
