import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { attr, spansOf, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import type { DeliveryMessage } from "../src/deliver/message.js";
import { recordingQueue } from "./support/bindings.js";
import { deadLettersOf } from "./support/dead-letters.js";
import { loggedWhile } from "./support/logs.js";
import { admin, createTenant, sendTraces, sendTracesWith, type TestTenant } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { compress, exportResponseOf, largeRequest, requestOf, rpcStatusOf, spanIdsOf, spanWith } from "./support/traces.js";

/**
 * A passthrough tenant takes any key-shaped bearer, and only Braintrust can say whether it is a
 * key. Until Braintrust has accepted a key, its requests draw on a small budget of their own, are
 * held to 1 MiB of body unless Braintrust, asked first, says it takes the key, and nothing of theirs is kept. Accepted keys are remembered per isolate,
 * and the tests share one: each test uses keys of its own.
 */
const body = () => toProtobuf(trueFoundryTrace());

/** Over 1 MiB decompressed, well under the full 16 MiB. */
async function largeGzipBody() {
  const request = largeRequest({ largeSpans: 6, largeSpanBytes: 200_000, smallTraces: 0 });
  return { request, gzipped: await compress(toProtobuf(request), "gzip") };
}

/** The bytes as a body without a declared length, in chunks of 256 KiB, as a streaming client sends them. */
function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(at, at + 256 * 1024));
      at += 256 * 1024;
    },
  });
}

/** Ingest through the Worker with a queue that records what is sent to it. */
async function ingestRecordingQueue(tenant: TestTenant, protobuf: Uint8Array) {
  const queue = recordingQueue<DeliveryMessage>(env.DELIVERY_QUEUE);
  const response = await sendTracesWith(tenant, protobuf, { DELIVERY_QUEUE: queue });
  return { response, queued: queue.sent };
}

describe.concurrent("passthrough keys Braintrust has not accepted", () => {
  it("with a body over 1 MiB, are checked with Braintrust first, with an export of no spans; a key it takes gets the whole body read and delivered", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const { request, gzipped } = await largeGzipBody();

    const { result: response, events } = await loggedWhile(() => sendTraces(tenant, gzipped, { contentEncoding: "gzip" }));

    expect(response.status).toBe(200);
    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(request));
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(0);
    // The empty export first, then the spans.
    expect((await standin.attempts(tenant.apiKey)).map(({ status, bytes }) => ({ status, bytes }))).toEqual([
      { status: 200, bytes: 0 },
      { status: 200, bytes: expect.any(Number) },
    ]);
    expect(events.filter((e) => e.event === "client_key_checked" && e.tenant === tenant.id)).toEqual([
      {
        event: "client_key_checked",
        tenant: tenant.id,
        parent: tenant.parent,
        outcome: "delivered",
        upstream_status: 200,
        latency_ms: expect.any(Number),
        request_id: expect.any(String),
      },
    ]);
    // Trusted from then on: the next large body is read without asking again.
    expect((await sendTraces(tenant, gzipped, { contentEncoding: "gzip" })).status).toBe(200);
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(3);
  });

  it.each([
    ["declared by Content-Length", "declared"],
    ["streamed without a length", "streamed"],
  ] as const)("with a body over 1 MiB on the wire, %s, are checked before the rest is read", async (_, framing) => {
    const tenant = await createTenant({ mode: "passthrough", config: { translate: false } });
    const request = largeRequest({ largeSpans: 6, largeSpanBytes: 200_000, smallTraces: 0 });
    const protobuf = toProtobuf(request);
    const sent = framing === "declared" ? protobuf : streamOf(protobuf);

    const response = await sendTraces(tenant, sent);

    expect(response.status).toBe(200);
    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(request))).missing).toEqual([]);
    expect((await standin.attempts(tenant.apiKey))[0]).toMatchObject({ status: 200, bytes: 0 });
  });

  it("with a body over 1 MiB and a key Braintrust refuses, hear its 401 and nothing of the body is read or sent", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const { gzipped } = await largeGzipBody();

    const refused = await sendTraces(tenant, gzipped, { contentEncoding: "gzip", bearer: `sk-stranger-${crypto.randomUUID()}` });

    expect(refused.status).toBe(401);
    expect((await rpcStatusOf(refused)).message).toBe('Braintrust answered 401: {"error":"Invalid API key"}');
  });

  it.each([
    ["answers 503", { status: 503 }],
    ["answers 530 (its Cloudflare Tunnel down)", { status: 530 }],
    ["drops the connection", { reset: true }],
  ])(
    "with a body over 1 MiB, when Braintrust %s to the check: 503 with Retry-After, nothing kept, and the next try goes through",
    async (_, fault) => {
      const tenant = await createTenant({ mode: "passthrough" });
      const { request, gzipped } = await largeGzipBody();
      await standin.script(tenant.apiKey, [fault]);

      const handedBack = await sendTraces(tenant, gzipped, { contentEncoding: "gzip" });

      expect(handedBack.status).toBe(503);
      expect(Number(handedBack.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect((await rpcStatusOf(handedBack)).message).toMatch(
        /^the body is over what an API key Braintrust has not yet accepted may send, and Braintrust, asked whether it takes the key, did not answer \(.+\): retry later$/,
      );
      expect(await deadLettersOf(tenant.id)).toEqual([]);
      expect((await sendTraces(tenant, gzipped, { contentEncoding: "gzip" })).status).toBe(200);
      expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(request))).missing).toEqual([]);
    },
  );

  it("declaring a body over the tenant's full limit, get 413 without the relay asking Braintrust anything", async () => {
    const tenant = await createTenant({ mode: "passthrough", config: { translate: false } });

    const response = await sendTraces(tenant, new Uint8Array(17 * 1024 * 1024));

    expect(response.status).toBe(413);
    expect((await rpcStatusOf(response)).message).toBe("request body is larger than the limit of 16777216 bytes");
    expect(await standin.attempts(tenant.apiKey)).toEqual([]);
  });

  it("with a body over 1 MiB that Braintrust's answer to no spans lets be read, earn no trust from that answer: a key it then refuses decides no trace", async () => {
    const tenant = await createTenant({
      mode: "passthrough",
      parent: "project_name:default",
      config: {
        translate: false,
        routes: [{ match: { field: "span_name", equals: "claim" }, parent: "experiment_id:claimed" }],
        trace_wait_seconds: 3600,
      },
    });
    const trace = trueFoundryTrace();
    const [top, ...children] = spansOf(trace);
    expect((await sendTraces(tenant, body())).status).toBe(200);
    expect((await sendTraces(tenant, toProtobuf(requestOf(children)))).status).toBe(200);
    // An upstream that answers an export of no spans before it looks at the key, and refuses spans.
    const stranger = `sk-stranger-${crypto.randomUUID()}`;
    await standin.script(stranger, [{ beforeChecks: true, status: 200, body: "{}" }]);
    const claim = spanWith("claim", [], { traceId: top!.traceId });
    const filler = spanWith("filler", [attr("note", "x".repeat(1_200_000))]);

    expect((await sendTraces(tenant, toProtobuf(requestOf([claim, filler])), { bearer: stranger })).status).toBe(401);
    expect((await sendTraces(tenant, toProtobuf(requestOf([top!])))).status).toBe(200);

    const arrival = await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace));
    expect(arrival.missing).toEqual([]);
    expect(new Set(arrival.requests.map((r) => r.parent))).toEqual(new Set([tenant.parent]));
  });

  it("with a body over 1 MiB, when Braintrust refuses the empty export itself, a 413 that names the limit", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const { gzipped } = await largeGzipBody();
    await standin.script(tenant.apiKey, [{ status: 400, body: '{"error":"no spans"}' }]);

    const refused = await sendTraces(tenant, gzipped, { contentEncoding: "gzip" });

    expect(refused.status).toBe(413);
    expect((await rpcStatusOf(refused)).message).toBe(
      "decompressed request body is larger than the limit of 1048576 bytes for an API key Braintrust has not yet accepted",
    );
  });

  it.each([
    ["answers 503", { status: 503 }],
    ["answers 530 (its Cloudflare Tunnel down)", { status: 530 }],
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

  it("a key Braintrust refuses is forgotten: its next large body is checked with Braintrust again", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const { gzipped } = await largeGzipBody();
    expect((await sendTraces(tenant, body())).status).toBe(200);
    await standin.script(tenant.apiKey, [{ status: 403, body: "Forbidden" }]);

    expect((await sendTraces(tenant, body())).status).toBe(403);
    // Asked again before the large body is read: Braintrust's refusal is the answer.
    await standin.script(tenant.apiKey, [{ status: 403, body: "Forbidden" }]);
    expect((await sendTraces(tenant, gzipped, { contentEncoding: "gzip" })).status).toBe(403);
    expect((await standin.attempts(tenant.apiKey)).at(-1)).toMatchObject({ status: 403, bytes: 0 });
  });

  it("a key Braintrust accepted stays accepted after a request with no spans to deliver: Braintrust said nothing of it", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const { gzipped } = await largeGzipBody();
    expect((await sendTraces(tenant, body())).status).toBe(200);
    // An export of no spans: no delivery, so no verdict from Braintrust.
    expect((await sendTraces(tenant, new Uint8Array(0))).status).toBe(200);
    const before = (await standin.attempts(tenant.apiKey)).length;

    expect((await sendTraces(tenant, gzipped, { contentEncoding: "gzip" })).status).toBe(200);
    // Still accepted: the large body is read and delivered at once, without asking Braintrust first with an export of no spans.
    expect((await standin.attempts(tenant.apiKey)).slice(before).map(({ status, bytes }) => ({ status, bytes }))).toEqual([
      { status: 200, bytes: expect.any(Number) },
    ]);
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

  it("spans a 413 turned away are halved and sent again while the client waits, as a trusted key's would be from the queue", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    // A body limit in front of the tenant's api_url (a proxy's) refuses the whole request once.
    await standin.script(tenant.apiKey, [{ status: 413, body: '{"error":"Request too large"}' }]);
    const trace = trueFoundryTrace();

    const response = await sendTraces(tenant, toProtobuf(trace));

    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess).toBeUndefined();
    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace))).missing).toEqual([]);
    expect((await standin.attempts(tenant.apiKey)).map((attempt) => attempt.status)).toEqual([413, 200, 200]);
  });

  it("a single span a 413 turned away uncompressed goes again compressed while the client waits", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    await standin.script(tenant.apiKey, [{ status: 413, body: '{"error":"Request too large"}' }]);
    const request = requestOf([spanWith("llm", [attr("gen_ai.prompt", "p".repeat(50_000))])]);

    const response = await sendTraces(tenant, toProtobuf(request));

    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess).toBeUndefined();
    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(request))).missing).toEqual([]);
  });

  it("pieces a 413 turns away again are rejected, not halved again: three attempts at most, nothing kept", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    await standin.script(tenant.apiKey, [{ status: 413 }, { status: 413 }, { status: 413 }]);
    const trace = trueFoundryTrace();

    const response = await sendTraces(tenant, toProtobuf(trace));

    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess?.rejectedSpans).toBe(BigInt(spanIdsOf(trace).length));
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(3);
    expect(await deadLettersOf(tenant.id)).toEqual([]);
  });

  it("accepted for a tenant since deleted are strangers to one created again under its id: nothing of theirs is queued while Braintrust is down", async () => {
    const first = await createTenant({ mode: "passthrough" });
    expect((await sendTraces(first, body())).status).toBe(200);
    expect((await admin("DELETE", `/tenants/${first.id}`)).status).toBe(204);
    // Another owner, the same id and Braintrust URL, passthrough too.
    const again = await admin("PUT", `/tenants/${first.id}`, {
      parent: "project_name:the-next-owner",
      braintrust: { api_url: env.STANDIN_URL },
    });
    expect(again.status).toBe(201);

    await standin.script(first.apiKey, [{ status: 503 }]);
    const { response, queued } = await ingestRecordingQueue(first, body());

    expect(response.status).toBe(503);
    expect(queued).toEqual([]);
  });
});

// One test at a time: the limiter's clock, held still, is the isolate's.
describe("passthrough keys Braintrust has not accepted, on a clock held still", () => {
  afterEach(() => vi.restoreAllMocks());

  it("spend a small budget of their own: strangers never make a client Braintrust accepted hear 429", async () => {
    const tenant = await createTenant({ mode: "passthrough", config: { rate_limit: { requests_per_second: 0.5, burst: 2 } } });
    // How fast the machine sends changes nothing: no token comes back meanwhile.
    vi.spyOn(Date, "now").mockReturnValue(Date.now());
    expect((await sendTraces(tenant, body())).status).toBe(200);

    const strangers: Response[] = [];
    for (let i = 0; i < 10; i++) strangers.push(await sendTraces(tenant, body(), { bearer: `sk-stranger-${crypto.randomUUID()}` }));

    // A burst of three, of which the client's own first request took one, before Braintrust had
    // accepted its key: two strangers, then 429 for the others.
    expect(strangers.map((r) => r.status)).toEqual([401, 401, ...Array(8).fill(429)]);
    const limited = strangers[2]!;
    expect(limited.headers.get("retry-after")).toBe("1");
    expect((await rpcStatusOf(limited)).message).toBe(
      `tenant ${tenant.id}: requests with an API key Braintrust has not yet accepted are limited to 1 per second: retry later`,
    );
    // The tenant's own burst of 2 is whole.
    expect((await sendTraces(tenant, body())).status).toBe(200);
    expect((await sendTraces(tenant, body())).status).toBe(200);
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
