import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { DeliveryMessage } from "../src/deliver/message.js";
import { recordingQueue } from "./support/bindings.js";
import { deadLettersOf } from "./support/dead-letters.js";
import { createTenant, sendTraces, sendTracesWith, type TestTenant } from "./support/relay.js";
import { standin } from "./support/standin.js";
import {
  compress,
  exportResponseOf,
  largeRequest,
  requestOf,
  rpcStatusOf,
  spanIdsOf,
  spansOf,
  spanWith,
  toProtobuf,
  trueFoundryTrace,
} from "./support/traces.js";

/**
 * A passthrough tenant takes any key-shaped bearer, and only Braintrust can say whether it is a
 * key. Until Braintrust has accepted a key, its requests draw on a small budget of their own, are
 * held to 1 MiB of body, and nothing of theirs is kept. Accepted keys are remembered per isolate,
 * and the tests share one: each test uses keys of its own.
 */
const body = () => toProtobuf(trueFoundryTrace());

/** Over 1 MiB decompressed, well under the full 16 MiB. */
async function largeGzipBody() {
  const request = largeRequest({ largeSpans: 6, largeSpanBytes: 200_000, smallTraces: 0 });
  return { request, gzipped: await compress(toProtobuf(request), "gzip") };
}

/** Ingest through the Worker with a queue that records what is sent to it. */
async function ingestRecordingQueue(tenant: TestTenant, protobuf: Uint8Array) {
  const queue = recordingQueue<DeliveryMessage>(env.DELIVERY_QUEUE);
  const response = await sendTracesWith(tenant, protobuf, { DELIVERY_QUEUE: queue });
  return { response, queued: queue.sent };
}

describe.concurrent("passthrough keys Braintrust has not accepted", () => {
  it("spend a small budget of their own: strangers never make a client Braintrust accepted hear 429", async () => {
    const tenant = await createTenant({ mode: "passthrough", config: { rate_limit: { requests_per_second: 0.5, burst: 2 } } });
    expect((await sendTraces(tenant, body())).status).toBe(200);

    const strangers: Response[] = [];
    for (let i = 0; i < 10; i++) strangers.push(await sendTraces(tenant, body(), { bearer: `sk-stranger-${crypto.randomUUID()}` }));

    const statuses = strangers.map((r) => r.status);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    const limited = strangers.find((r) => r.status === 429)!;
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await rpcStatusOf(limited)).message).toBe(
      `tenant ${tenant.id}: requests with an API key Braintrust has not yet accepted are limited to 1 per second: retry later`,
    );
    // The tenant's own burst of 2 is whole.
    expect((await sendTraces(tenant, body())).status).toBe(200);
    expect((await sendTraces(tenant, body())).status).toBe(200);
  });

  it("are held to 1 MiB of body, a 413 that names the limit; once Braintrust accepts the key, the same body goes through", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const { request, gzipped } = await largeGzipBody();

    const refused = await sendTraces(tenant, gzipped, { contentEncoding: "gzip" });
    expect((await sendTraces(tenant, body())).status).toBe(200);
    const accepted = await sendTraces(tenant, gzipped, { contentEncoding: "gzip" });

    expect(refused.status).toBe(413);
    expect((await rpcStatusOf(refused)).message).toBe(
      "decompressed request body is larger than the limit of 1048576 bytes for an API key Braintrust has not yet accepted",
    );
    expect(accepted.status).toBe(200);
    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(request));
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);
  });

  it.each([
    ["answers 503", { status: 503 }],
    ["drops the connection", { reset: true }],
  ])("Braintrust %s: 503 with Retry-After and nothing kept; once it accepted the key, its spans are queued", async (_, fault) => {
    const tenant = await createTenant({ mode: "passthrough" });
    await standin.script(tenant.apiKey, [fault]);

    const handedBack = await ingestRecordingQueue(tenant, body());

    expect(handedBack.response.status).toBe(503);
    expect(Number(handedBack.response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await rpcStatusOf(handedBack.response)).message).toMatch(
      /^Braintrust has not yet accepted this API key and did not take the spans \(.+\): retry later$/,
    );
    expect(handedBack.queued).toEqual([]);
    expect(await deadLettersOf(tenant.id)).toEqual([]);

    expect((await ingestRecordingQueue(tenant, body())).response.status).toBe(200);
    await standin.script(tenant.apiKey, [fault]);
    const trace = trueFoundryTrace();
    const queued = await ingestRecordingQueue(tenant, toProtobuf(trace));

    expect(queued.response.status).toBe(200);
    expect(queued.queued).toHaveLength(1);
    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace))).missing).toEqual([]);
  });

  it("a key Braintrust refuses is forgotten: its next request is held to the small limits again", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const { gzipped } = await largeGzipBody();
    expect((await sendTraces(tenant, body())).status).toBe(200);
    await standin.script(tenant.apiKey, [{ status: 403, body: "Forbidden" }]);

    expect((await sendTraces(tenant, body())).status).toBe(403);
    expect((await sendTraces(tenant, gzipped, { contentEncoding: "gzip" })).status).toBe(413);
  });

  it("a key refused for one routed parent but accepted for another stays accepted: the 403 was about that parent", async () => {
    const tenant = await createTenant({
      mode: "passthrough",
      config: { translate: false, routes: [{ match: { field: "span_name", prefix: "eval" }, parent: "project_name:evals" }] },
    });
    const { gzipped } = await largeGzipBody();
    const both = requestOf([...spansOf(trueFoundryTrace()), spanWith("eval: run 1", [])]);
    // Whichever parent's request reaches Braintrust first is the one refused: either way one is taken.
    await standin.script(tenant.apiKey, [{ status: 403, body: "Forbidden" }]);

    const split = await sendTraces(tenant, toProtobuf(both));

    expect(split.status).toBe(200);
    // The gateway trace's 3 spans, or the eval span alone.
    expect([3n, 1n]).toContain((await exportResponseOf(split)).partialSuccess?.rejectedSpans);
    expect((await sendTraces(tenant, gzipped, { contentEncoding: "gzip" })).status).toBe(200);
  });

  it("spans Braintrust refuses outright come back rejected, not as 503: resending the same bytes could not help", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    await standin.script(tenant.apiKey, [{ status: 400, body: '{"error":"project is archived"}' }]);
    const trace = trueFoundryTrace();

    const response = await sendTraces(tenant, toProtobuf(trace));

    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess).toMatchObject({
      rejectedSpans: BigInt(spanIdsOf(trace).length),
      errorMessage: `${spanIdsOf(trace).length} spans for ${tenant.parent} not kept, since Braintrust refused them and has not yet accepted the client's key: Braintrust answered 400: {"error":"project is archived"}`,
    });
    expect(await deadLettersOf(tenant.id)).toEqual([]);
  });
});

describe.concurrent("stored keys, which the relay checks itself", () => {
  it("are trusted from the first request: the full body limit, and spans queued while Braintrust is down", async () => {
    const tenant = await createTenant();
    const { gzipped } = await largeGzipBody();

    expect((await sendTraces(tenant, gzipped, { contentEncoding: "gzip" })).status).toBe(200);
    await standin.script(tenant.apiKey, [{ status: 503 }]);
    const queued = await ingestRecordingQueue(tenant, body());

    expect(queued.response.status).toBe(200);
    expect(queued.queued).toHaveLength(1);
  });
});
