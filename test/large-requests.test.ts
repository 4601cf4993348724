import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BRAINTRUST_MAX_REQUEST_BYTES } from "../scripts/lib/braintrust-standin-contract.js";
import { attr, spansOf, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import type { DeliveryMessage } from "../src/deliver/message.js";
import { MAX_UPSTREAM_REQUEST_BYTES } from "../src/deliver/plan.js";
import { recordingQueue } from "./support/bindings.js";
import { deadLettersOf } from "./support/dead-letters.js";
import { createTenant, sendTraces, sendTracesWith } from "./support/relay.js";
import { largestUncompressedRequest, standin } from "./support/standin.js";
import { attributesOf, compress, exportResponseOf, largeRequest, requestOf, spanIdsOf, spanWith } from "./support/traces.js";

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
    expect(await largestUncompressedRequest(tenant.apiKey)).toBeLessThanOrEqual(MAX_UPSTREAM_REQUEST_BYTES);
  });
});

describe("a single span over the upstream cap", () => {
  it("made so by translation, goes compressed on the first attempt and arrives whole", async () => {
    // Translation restates the prompt as braintrust.input_json, and this tenant keeps the source, so
    // 4.6 MB of prompt makes a span of over 9 MB, which cannot be split; compressed, it is far under the cap.
    const tenant = await createTenant({ config: { keep_source_attributes: true } });
    const prompt = "The quick brown fox jumps over the lazy dog. ".repeat(110_000).slice(0, 4_600_000);
    const trace = trueFoundryTrace({ prompt });
    const [root] = spansOf(trace);
    const input = attributesOf(root!)["tfy.input"];

    const response = await sendTraces(tenant, toProtobuf(trace));

    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess).toBeUndefined();
    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status)).toEqual([200, 200]);
    expect(await largestUncompressedRequest(tenant.apiKey)).toBeLessThanOrEqual(MAX_UPSTREAM_REQUEST_BYTES);
    const received = await standin.received(tenant.apiKey);
    const carrier = received.find((r) => spansOf(r.request).some((s) => s.name === root!.name))!;
    expect(carrier.contentEncoding).toBe("gzip");
    expect(carrier.bytes.byteLength).toBeGreaterThan(MAX_UPSTREAM_REQUEST_BYTES);
    const [delivered] = spansOf(carrier.request);
    const attributes = attributesOf(delivered!);
    // Compared as booleans: a failing diff of two 4.6 MB strings would drown the report.
    expect(attributes["tfy.input"] === input).toBe(true);
    expect(attributes["braintrust.input_json"] === JSON.stringify([{ role: "user", content: prompt }])).toBe(true);
    expect(spanIdsOf(carrier.request)).toEqual(spanIdsOf(trace).slice(0, 1));
    expect(await deadLettersOf(tenant.id)).toEqual([]);
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

describe("a request under a resource too large for a queue message, that has to wait for Braintrust", () => {
  it("goes to R2 in a few objects, each with one copy of the resource, not in one object a span: all delivered", async () => {
    const tenant = await createTenant();
    // 400 small spans under a resource of 150 kB (a process's command line, say): every queue message
    // would carry the resource, so none holds even one span, and one object a span would copy the
    // resource 400 times (60 MB, 400 R2 writes: past a Worker's memory and, with more spans, its subrequests).
    const request = requestOf(Array.from({ length: 400 }, (_, i) => spanWith(`step ${i}`, [attr("i", i)])));
    request.resourceSpans[0]!.resource!.attributes.push(attr("process.command_line", "x".repeat(150_000)));
    const body = toProtobuf(request);
    await standin.script(tenant.apiKey, [{ status: 503 }]);
    const queue = recordingQueue<DeliveryMessage>(env.DELIVERY_QUEUE);

    const response = await sendTracesWith(tenant, body, { DELIVERY_QUEUE: queue });

    expect(response.status).toBe(200);
    const spilled = queue.sent.filter(({ body: message }) => "r2Key" in message.payload).map(({ body: message }) => message.bytes);
    expect(spilled.length).toBeLessThanOrEqual(2);
    expect(spilled.reduce((sum, bytes) => sum + bytes, 0)).toBeLessThan(2 * body.byteLength);
    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(request), 45_000);
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);
  });
});
