import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BRAINTRUST_MAX_REQUEST_BYTES } from "../scripts/lib/braintrust-standin-contract.js";
import { deadLettersOf } from "./support/dead-letters.js";
import { createTenant, sendTraces } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { compress, largeRequest, spanIdsOf, toProtobuf } from "./support/traces.js";

describe("an 8 MiB request", () => {
  it("with translation on, is delivered whole, split under Braintrust's 10 MB", async () => {
    const tenant = await createTenant();
    const request = largeRequest({ largeSpans: 34, largeSpanBytes: 250_000, smallTraces: 200 });
    const body = toProtobuf(request);
    expect(body.byteLength).toBeGreaterThan(8 * 1024 * 1024);

    const response = await sendTraces(tenant, await compress(body, "gzip"), { contentEncoding: "gzip" });

    expect(response.status).toBe(200);
    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(request));
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);
    expect(arrival.requests.length).toBeGreaterThan(1);
    for (const r of arrival.requests) expect(r.bytes.byteLength).toBeLessThanOrEqual(BRAINTRUST_MAX_REQUEST_BYTES);
  });
});

describe("a large request that has to wait for Braintrust", () => {
  it("5 MB of long prompts: split into queue messages, single large spans spilled to R2, all delivered, R2 cleaned up", async () => {
    const tenant = await createTenant();
    const request = largeRequest({ largeSpans: 20, largeSpanBytes: 200_000, smallTraces: 400 });
    const body = toProtobuf(request);
    expect(body.byteLength).toBeGreaterThan(5_000_000);
    await standin.script(tenant.apiKey, [{ status: 503 }]);

    const response = await sendTraces(tenant, await compress(body, "gzip"), { contentEncoding: "gzip" });

    expect(response.status).toBe(200);
    const ids = spanIdsOf(request);
    const arrival = await standin.waitForSpans(tenant.apiKey, ids, 45_000);
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);
    // Every piece kept its resource and scope.
    for (const { request: piece } of arrival.requests) {
      for (const rs of piece.resourceSpans) {
        expect(rs.resource?.attributes.find((a) => a.key === "service.name")?.value?.value.value).toBe("tfy-llm-gateway");
        for (const ss of rs.scopeSpans) expect(ss.scope?.name).toBe("tfy-llm-gateway");
      }
    }
    expect(arrival.requests.length).toBeGreaterThan(20);
    const deadline = Date.now() + 10_000;
    let spilled = await env.PAYLOADS.list({ prefix: "spill/" });
    while (spilled.objects.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      spilled = await env.PAYLOADS.list({ prefix: "spill/" });
    }
    expect(spilled.objects).toEqual([]);
    expect(await deadLettersOf(tenant.id)).toEqual([]);
  });
});
