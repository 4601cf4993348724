import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { meddlingObjects } from "./support/bindings.js";
import { deadLettersOf } from "./support/dead-letters.js";
import { loggedWhile } from "./support/logs.js";
import { createTenant, fixedWhileKvLags, sendTraces, sendTracesWith } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { exportResponseOf, spanIdsOf } from "./support/traces.js";

describe.concurrent("an ingest request while KV's copy of a stored-key tenant lags a fix", () => {
  it.each([
    ["revoked key", "stored key"],
    ["wrong api_url", "api_url"],
  ] as const)(
    "delivers the spans with the tenant as its Durable Object holds it when Braintrust refuses the %s KV's copy still holds, rather than keep them as a dead letter behind a 200",
    async (_change, stale) => {
      const tenant = await createTenant();
      const key = await fixedWhileKvLags(tenant, stale);
      const trace = trueFoundryTrace();

      const { result: response, events } = await loggedWhile(() => sendTraces(tenant, toProtobuf(trace)));

      expect(response.status).toBe(200);
      expect((await exportResponseOf(response)).partialSuccess).toBeUndefined();
      expect((await standin.received(key)).map((r) => spanIdsOf(r.request))).toEqual([spanIdsOf(trace)]);
      expect(await deadLettersOf(tenant.id)).toEqual([]);
      // The refused attempt's line says what followed, a retry at once, not a dead letter that was never made.
      const lines = events.filter((e) => e.tenant === tenant.id);
      expect(lines.map((e) => [e.event, e.attempt, e.outcome, e.next, e.retry_in_s])).toEqual([
        ["delivery_attempt", 1, "rejected", "retry", 0],
        ["delivery_attempt", 2, "delivered", "done", undefined],
      ]);
    },
  );

  it("keeps the spans as a dead letter, said so in the 200, when the tenant's Durable Object holds the key Braintrust refused", async () => {
    const tenant = await createTenant();
    await standin.revokeKey(tenant.apiKey);
    const trace = trueFoundryTrace();

    const response = await sendTraces(tenant, toProtobuf(trace));

    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess?.errorMessage).toContain("Braintrust refused the tenant's stored API key");
    expect((await deadLettersOf(tenant.id)).map((d) => d.spans)).toEqual([spanIdsOf(trace).length]);
    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status)).toEqual([401]);
  });

  it("keeps the spans as a dead letter behind the 200 when the tenant's Durable Object, asked after Braintrust refused the key, does not answer", async () => {
    const tenant = await createTenant();
    await fixedWhileKvLags(tenant, "stored key");
    const objects = meddlingObjects(env.TENANT_OBJECTS, "read", "before", async () => {
      throw new Error("Durable Object unavailable");
    });
    const trace = trueFoundryTrace();

    const response = await sendTracesWith(tenant, toProtobuf(trace), { TENANT_OBJECTS: objects });

    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess?.errorMessage).toContain("Braintrust refused the tenant's stored API key");
    expect((await deadLettersOf(tenant.id)).map((d) => d.spans)).toEqual([spanIdsOf(trace).length]);
  });

  it("asks the tenant's Durable Object only when Braintrust refuses the tenant's key, and once in a few seconds while the key stays revoked", async () => {
    const tenant = await createTenant();
    let objectReads = 0;
    const objects = meddlingObjects(env.TENANT_OBJECTS, "read", "before", async () => {
      objectReads += 1;
    });

    expect((await sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), { TENANT_OBJECTS: objects })).status).toBe(200);
    expect(objectReads).toBe(0);
    await standin.revokeKey(tenant.apiKey);
    for (let i = 0; i < 3; i++)
      expect((await sendTracesWith(tenant, toProtobuf(trueFoundryTrace()), { TENANT_OBJECTS: objects })).status).toBe(200);

    expect(objectReads).toBe(1);
    expect(await deadLettersOf(tenant.id)).toHaveLength(3);
  });
});
