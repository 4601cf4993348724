import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { attr, randomId, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { attemptsDuringRequest, MAX_ATTEMPTS_DURING_REQUEST } from "../src/deliver/during-request.js";
import type { DeliveryMessage } from "../src/deliver/message.js";
import { TRACE_ROUTE_SHARDS } from "../src/deliver/trace-route-shards.js";
import { TRANSIENT_RETRY_AFTER_SECONDS } from "../src/http/retry-after.js";
import { failingBinding, meddlingObjects, recordingQueue } from "./support/bindings.js";
import { deadLettersOf } from "./support/dead-letters.js";
import { tenantSpills } from "./support/queue.js";
import { createTenant, fixedWhileKvLags, sendTraces, sendTracesWith } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { exportResponseOf, requestOf, spanIdsOf, spanWith } from "./support/traces.js";

/**
 * Root spans naming their parents as Braintrust's SDKs do, each its own trace: one per parent, and
 * more for the first parents when there are fewer parents than `shards`. Their trace ids end in
 * each of the first `shards` hex digits in turn, so the request calls that many trace-routes objects.
 */
function spansToParents(count: number, shards = 1) {
  const parents = Array.from({ length: count }, (_, i) => `project_name:p-${String(i).padStart(2, "0")}`);
  const spans = Array.from({ length: Math.max(count, shards) }, (_, i) => {
    const parent = parents[i % count]!;
    const traceId = randomId(16);
    traceId[15] = (traceId[15]! & 0xf0) | (i % shards);
    return spanWith(`call for ${parent}`, [attr("braintrust.parent", parent)], { traceId });
  });
  return { parents, spans, request: requestOf(spans) };
}

describe("a request to more parents than its subrequests allow attempts", () => {
  for (const shards of [1, TRACE_ROUTE_SHARDS.length]) {
    const attempted = attemptsDuringRequest(shards);
    it(`attempts the first ${attempted} parents while the client waits when the request calls ${shards} of its tenant's trace-routes objects, and queues the rest unattempted, in one batch: each span arrives once`, async () => {
      const tenant = await createTenant({ parent: "project_name:default", config: { translate: false, parent_from_attribute: true } });
      // Fewer than the queue's batch, whose consumer would otherwise deliver them before they are read here.
      const queued = 4;
      const { parents, spans, request } = spansToParents(attempted + queued, shards);
      const queue = recordingQueue<DeliveryMessage>(env.DELIVERY_QUEUE);

      const response = await sendTracesWith(tenant, toProtobuf(request), { DELIVERY_QUEUE: queue });
      const whileWaiting = await standin.received(tenant.apiKey);

      expect(response.status).toBe(200);
      expect(whileWaiting.map((r) => r.parent).sort()).toEqual(parents.slice(0, attempted));
      // No attempt made: the queue's consumer makes the first, straight away.
      expect(queue.sent.map(({ body, delaySeconds }) => [body.parent, body.attempts, body.spans, delaySeconds ?? 0])).toEqual(
        parents.slice(attempted).map((parent) => [parent, 0, 1, 0]),
      );
      expect(queue.batches).toEqual([queued]);
      const { missing, duplicates, requests } = await standin.waitForSpans(tenant.apiKey, spanIdsOf(requestOf(spans)));
      expect({ missing, duplicates }).toEqual({ missing: [], duplicates: 0 });
      expect(requests.map((r) => r.parent).sort()).toEqual(parents);
    });
  }

  it("gives two trace-routes calls an attempt's place: every object and half the attempts make as many subrequests as the attempts alone", () => {
    // Sixteen attempts, their sixteen queue sends, and the request's own reads of KV and its objects:
    // within the Free plan's 50 subrequests (docs/cloudflare-limits.md). Written out, so a change to
    // the budget is a change to this test too.
    expect(MAX_ATTEMPTS_DURING_REQUEST).toBe(16);
    expect(attemptsDuringRequest(0)).toBe(16);
    expect(attemptsDuringRequest(1)).toBe(15);
    expect(attemptsDuringRequest(TRACE_ROUTE_SHARDS.length)).toBe(8);
  });

  for (const count of [3, MAX_ATTEMPTS_DURING_REQUEST + 4]) {
    it(`answers Braintrust's 401 and keeps nothing for a passthrough key it has revoked since accepting it, sent to ${count} parents`, async () => {
      const tenant = await createTenant({
        mode: "passthrough",
        parent: "project_name:default",
        config: { translate: false, parent_from_attribute: true },
      });
      expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(200);
      await standin.revokeKey(tenant.apiKey);
      const queue = recordingQueue<DeliveryMessage>(env.DELIVERY_QUEUE);

      const response = await sendTracesWith(tenant, toProtobuf(spansToParents(count).request), { DELIVERY_QUEUE: queue });

      expect(response.status).toBe(401);
      expect(queue.sent).toEqual([]);
    });
  }

  describe("for a passthrough key Braintrust has not accepted yet, which anyone may send, as many as for a trusted key", () => {
    const passthrough = () =>
      createTenant({ mode: "passthrough", parent: "project_name:default", config: { translate: false, parent_from_attribute: true } });
    // Its spans' traces are all of one trace-routes object's, which the request calls.
    const attempted = attemptsDuringRequest(1);
    // Fewer others than the queue's batch, whose consumer would otherwise deliver them before they are read here.
    const { parents, spans, request } = spansToParents(attempted + 4);

    it("and queues the others once Braintrust has taken spans of the request: each span arrives once", async () => {
      const tenant = await passthrough();
      const queue = recordingQueue<DeliveryMessage>(env.DELIVERY_QUEUE);

      const response = await sendTracesWith(tenant, toProtobuf(request), { DELIVERY_QUEUE: queue });
      const whileWaiting = await standin.received(tenant.apiKey);

      expect(response.status).toBe(200);
      expect(whileWaiting.map((r) => r.parent).sort()).toEqual(parents.slice(0, attempted));
      expect(queue.sent.map(({ body }) => body.parent)).toEqual(parents.slice(attempted));
      const { missing, duplicates } = await standin.waitForSpans(tenant.apiKey, spanIdsOf(requestOf(spans)));
      expect({ missing, duplicates }).toEqual({ missing: [], duplicates: 0 });
    });

    it("and queues the others when Braintrust refused the key for one parent attempted but took the spans of the rest: the refusal was about that parent", async () => {
      const tenant = await passthrough();
      await standin.script(tenant.apiKey, [{ parent: parents[0], status: 403 }]);
      const queue = recordingQueue<DeliveryMessage>(env.DELIVERY_QUEUE);

      await sendTracesWith(tenant, toProtobuf(request), { DELIVERY_QUEUE: queue });

      expect((await standin.received(tenant.apiKey)).map((r) => r.parent).sort()).toEqual(parents.slice(1, attempted));
      expect(queue.sent.map(({ body }) => body.parent)).toEqual(parents.slice(attempted));
      const { missing, duplicates } = await standin.waitForSpans(tenant.apiKey, spanIdsOf(requestOf(spans.slice(1))));
      expect({ missing, duplicates }).toEqual({ missing: [], duplicates: 0 });
    });

    it("and refuses the others with the key when Braintrust refused it for every parent attempted", async () => {
      const tenant = await passthrough();
      const stranger = `sk-stranger-${crypto.randomUUID()}`;
      const queue = recordingQueue<DeliveryMessage>(env.DELIVERY_QUEUE);

      const response = await sendTracesWith({ id: tenant.id, bearer: stranger }, toProtobuf(request), { DELIVERY_QUEUE: queue });

      expect(response.status).toBe(401);
      expect(await standin.attempts(stranger)).toHaveLength(attempted);
      expect(queue.sent).toEqual([]);
    });

    it("and neither sends nor keeps the others when Braintrust took none of the spans attempted: 503, for the client to send again", async () => {
      const tenant = await passthrough();
      await standin.script(
        tenant.apiKey,
        parents.map(() => ({ status: 503 })),
      );
      const queue = recordingQueue<DeliveryMessage>(env.DELIVERY_QUEUE);

      const response = await sendTracesWith(tenant, toProtobuf(request), { DELIVERY_QUEUE: queue });

      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe(String(TRANSIENT_RETRY_AFTER_SECONDS));
      expect(await standin.attempts(tenant.apiKey)).toHaveLength(attempted);
      expect(queue.sent).toEqual([]);
    });

    it("and neither sends nor keeps the others when Braintrust refused every span attempted, saying so in a 200: the same request sent again would meet the same refusals", async () => {
      const tenant = await passthrough();
      // A 400 for each: spans Braintrust turns away whoever sends them again, the key neither accepted nor refused.
      await standin.script(
        tenant.apiKey,
        parents.map(() => ({ status: 400 })),
      );
      const queue = recordingQueue<DeliveryMessage>(env.DELIVERY_QUEUE);

      const response = await sendTracesWith(tenant, toProtobuf(request), { DELIVERY_QUEUE: queue });

      expect(response.status).toBe(200);
      const { partialSuccess } = await exportResponseOf(response);
      expect(partialSuccess?.rejectedSpans).toBe(BigInt(spans.length));
      expect(partialSuccess?.errorMessage).toContain(`1 span for ${parents.at(-1)} not sent`);
      expect(await standin.attempts(tenant.apiKey)).toHaveLength(attempted);
      expect(queue.sent).toEqual([]);
    });
  });

  it("rejects, not halves, what a 413 turns away for a key not yet accepted, sent to more parents than three attempts each allow", async () => {
    const tenant = await createTenant({
      mode: "passthrough",
      parent: "project_name:default",
      config: { translate: false, parent_from_attribute: true },
    });
    const { parents, request } = spansToParents(9);
    await standin.script(
      tenant.apiKey,
      parents.map(() => ({ status: 413 })),
    );

    const response = await sendTraces(tenant, toProtobuf(request));

    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess?.rejectedSpans).toBe(9n);
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(9);
  });

  describe("for a stored key rotated while KV's copy of the tenant still holds the revoked one", () => {
    const routing = { translate: false, parent_from_attribute: true };

    it("sends again at once, with the key the tenant's Durable Object holds, what Braintrust refused for each of eight parents: three attempts each stay within the subrequests", async () => {
      const tenant = await createTenant({ parent: "project_name:default", config: routing });
      const rotated = await fixedWhileKvLags(tenant, "stored key", routing);
      const { parents, request } = spansToParents(8);
      const queue = recordingQueue<DeliveryMessage>(env.DELIVERY_QUEUE);
      let objectReads = 0;
      const objects = meddlingObjects(env.TENANT_OBJECTS, "read", "before", async () => {
        objectReads += 1;
      });

      const response = await sendTracesWith(tenant, toProtobuf(request), { DELIVERY_QUEUE: queue, TENANT_OBJECTS: objects });

      expect(response.status).toBe(200);
      expect((await exportResponseOf(response)).partialSuccess).toBeUndefined();
      expect((await standin.received(rotated)).map((r) => r.parent).sort()).toEqual(parents);
      // One read of the tenant's object for the request, however many of its deliveries Braintrust refused.
      expect(objectReads).toBe(1);
      expect(queue.sent).toEqual([]);
      expect(await deadLettersOf(tenant.id)).toEqual([]);
    });

    it("queues at once, not as dead letters, what Braintrust refused for each of more parents than that: the consumer sends them with the rotated key", async () => {
      const tenant = await createTenant({ parent: "project_name:default", config: routing });
      const rotated = await fixedWhileKvLags(tenant, "stored key", routing);
      const { parents, spans, request } = spansToParents(9);
      const queue = recordingQueue<DeliveryMessage>(env.DELIVERY_QUEUE);

      const response = await sendTracesWith(tenant, toProtobuf(request), { DELIVERY_QUEUE: queue });

      expect(response.status).toBe(200);
      expect((await exportResponseOf(response)).partialSuccess).toBeUndefined();
      expect(queue.sent.map(({ body, delaySeconds }) => [body.parent, body.attempts, delaySeconds ?? 0]).sort()).toEqual(
        parents.map((parent) => [parent, 1, 0]),
      );
      const { missing, duplicates } = await standin.waitForSpans(rotated, spanIdsOf(requestOf(spans)));
      expect({ missing, duplicates }).toEqual({ missing: [], duplicates: 0 });
      expect(await deadLettersOf(tenant.id)).toEqual([]);
    });
  });

  it("attempts the others after all when the queue takes none of them, so Braintrust up is enough for a 200", async () => {
    const tenant = await createTenant({ parent: "project_name:default", config: { translate: false, parent_from_attribute: true } });
    const { parents, request } = spansToParents(MAX_ATTEMPTS_DURING_REQUEST + 2);
    const refusing = failingBinding(env.DELIVERY_QUEUE, "sendBatch", "Queue sendBatch failed: queue unavailable");

    const response = await sendTracesWith(tenant, toProtobuf(request), { DELIVERY_QUEUE: refusing });

    expect(response.status).toBe(200);
    expect((await standin.received(tenant.apiKey)).map((r) => r.parent).sort()).toEqual(parents);
  });

  it("removes the spans it spilled for the others when R2 refuses the spill of one of them, and attempts them after all: no spill is left that no message names", async () => {
    const tenant = await createTenant({ parent: "project_name:default", config: { translate: false, parent_from_attribute: true } });
    const attempted = attemptsDuringRequest(1);
    const parents = Array.from({ length: attempted + 2 }, (_, i) => `project_name:p-${String(i).padStart(2, "0")}`);
    // One trace-routes object for all; the two parents past the attempts have a span too large for a queue message, spilled to R2.
    const large = "The quick brown fox jumps over the lazy dog. ".repeat(3500);
    const spans = parents.map((parent, i) => {
      const traceId = randomId(16);
      traceId[15] = traceId[15]! & 0xf0;
      return spanWith(`call for ${parent}`, [attr("braintrust.parent", parent), ...(i >= attempted ? [attr("prompt", large)] : [])], {
        traceId,
      });
    });
    let spills = 0;
    const bucket = failingBinding(
      env.PAYLOADS,
      "put",
      "R2 put failed: unavailable",
      (key) => String(key).startsWith(`spill/${tenant.id}/`) && ++spills === 2,
    );

    const response = await sendTracesWith(tenant, toProtobuf(requestOf(spans)), { PAYLOADS: bucket });

    expect(response.status).toBe(200);
    expect(spills).toBe(2);
    expect((await standin.received(tenant.apiKey)).map((r) => r.parent).sort()).toEqual(parents);
    expect(await tenantSpills(tenant.id)).toEqual([]);
  });

  it("answers 503, attempting none of the others, when the queue takes some of them and refuses the rest: those it took are on their way", async () => {
    const tenant = await createTenant({ parent: "project_name:default", config: { translate: false, parent_from_attribute: true } });
    // More others than one queue batch holds (100 messages): the queue takes the first batch and refuses the next.
    const { parents, request } = spansToParents(MAX_ATTEMPTS_DURING_REQUEST + 101);
    let batches = 0;
    const taken: DeliveryMessage[] = [];
    const partial: Queue<DeliveryMessage> = {
      send: () => Promise.reject(new Error("Queue send failed: queue unavailable")),
      sendBatch: async (messages) => {
        if (batches++ >= 1) throw new Error("Queue sendBatch failed: queue unavailable");
        taken.push(...[...messages].map((m) => m.body));
        return { metadata: { metrics: { backlogCount: taken.length, backlogBytes: 0 } } };
      },
      metrics: () => Promise.reject(new Error("queue unavailable")),
    };

    const response = await sendTracesWith(tenant, toProtobuf(request), { DELIVERY_QUEUE: partial });

    expect(response.status).toBe(503);
    expect(taken.length).toBeGreaterThan(0);
    // The spans' traces are of one trace-routes object, which the request calls: one attempt fewer.
    expect((await standin.received(tenant.apiKey)).map((r) => r.parent).sort()).toEqual(parents.slice(0, attemptsDuringRequest(1)));
  });

  it("answers 503 when neither the queue nor Braintrust takes one of the others: the client sends the whole request again", async () => {
    const tenant = await createTenant({ parent: "project_name:default", config: { translate: false, parent_from_attribute: true } });
    const { parents, request } = spansToParents(MAX_ATTEMPTS_DURING_REQUEST + 2);
    const last = parents.at(-1)!;
    await standin.script(tenant.apiKey, [{ parent: last, status: 503 }]);
    const refusing = failingBinding(env.DELIVERY_QUEUE, "sendBatch", "Queue sendBatch failed: queue unavailable");

    const response = await sendTracesWith(tenant, toProtobuf(request), { DELIVERY_QUEUE: refusing });

    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe(String(TRANSIENT_RETRY_AFTER_SECONDS));
    expect(await response.text()).toContain("could not queue them");
    expect((await standin.received(tenant.apiKey)).map((r) => r.parent).sort()).toEqual(parents.filter((parent) => parent !== last));
  });
});
