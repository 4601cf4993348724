import { env } from "cloudflare:workers";
import { create } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SpanSchema } from "../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { randomId, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import type { DeliveryMessage } from "../src/deliver/message.js";
import { failingBinding } from "./support/bindings.js";
import { loggedWhile } from "./support/logs.js";
import { spillsOf } from "./support/queue.js";
import { createTenant, sendTracesWith, type TestTenant } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { largeRequest, rpcStatusOf } from "./support/traces.js";

/** A queue that takes the first `accepted` batches, then refuses every send, as Cloudflare's does when it is unavailable or over its rate limit. */
function refusingQueue(accepted = 0): Queue<DeliveryMessage> & { taken: DeliveryMessage[] } {
  const taken: DeliveryMessage[] = [];
  let batches = 0;
  return {
    taken,
    send: () => Promise.reject(new Error("Queue send failed: queue unavailable")),
    sendBatch: async (messages) => {
      if (batches++ >= accepted) throw new Error("Queue sendBatch failed: queue unavailable");
      taken.push(...[...messages].map((m) => m.body));
      return { metadata: { metrics: { backlogCount: taken.length, backlogBytes: 0 } } };
    },
    metrics: () => Promise.reject(new Error("queue unavailable")),
  };
}

/** Sends `body` while Braintrust answers 503 and the queue is `queue`; returns the response and the delivery's id. */
function sendWhileQueueRefuses(
  tenant: TestTenant,
  body: Uint8Array,
  queue: Queue<DeliveryMessage>,
): Promise<{ response: Response; deliveryId: string }> {
  return sendWhileBraintrustRetries(tenant, body, { DELIVERY_QUEUE: queue });
}

/** Sends `body` while Braintrust answers 503, with `bindings` in place of the test's own; returns the response and the delivery's id. */
async function sendWhileBraintrustRetries(
  tenant: TestTenant,
  body: Uint8Array,
  bindings: Partial<Env>,
): Promise<{ response: Response; deliveryId: string }> {
  await standin.script(tenant.apiKey, [{ status: 503 }]);
  const lines: string[] = [];
  vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
  const response = await sendTracesWith(tenant, body, bindings);
  const attempt = lines
    .map((line) => JSON.parse(line) as { event?: string; delivery_id?: string })
    .find((l) => l.event === "delivery_attempt");
  return { response, deliveryId: attempt!.delivery_id! };
}

describe("when the queue itself refuses", () => {
  afterEach(() => vi.restoreAllMocks());

  it("answers 503 with Retry-After: the client keeps its spans", async () => {
    const tenant = await createTenant();

    const { response } = await sendWhileQueueRefuses(tenant, toProtobuf(trueFoundryTrace()), refusingQueue());

    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("2");
    expect((await rpcStatusOf(response)).message).toBe("Braintrust did not take the spans and the relay could not queue them: retry later");
  });

  it("writes no ingest_spans_rejected line for spans with bad ids in the request it answers 503: the client sends them again, and that answer is the one to log", async () => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();
    trace.resourceSpans[0]!.scopeSpans[0]!.spans.push(
      create(SpanSchema, { traceId: randomId(8), spanId: randomId(8), name: "short trace id" }),
    );

    await standin.script(tenant.apiKey, [{ status: 503 }]);

    const { result: response, events } = await loggedWhile(() =>
      sendTracesWith(tenant, toProtobuf(trace), { DELIVERY_QUEUE: refusingQueue() }),
    );

    expect(response.status).toBe(503);
    expect(events.filter((e) => e.event === "ingest_spans_rejected" && e.tenant === tenant.id)).toEqual([]);
  });

  it("leaves nothing in R2: the spans it spilled for the queue are removed again", async () => {
    const tenant = await createTenant();

    const { response, deliveryId } = await sendWhileQueueRefuses(
      tenant,
      toProtobuf(largeRequest({ largeSpans: 3, largeSpanBytes: 150_000, smallTraces: 0 })),
      refusingQueue(),
    );

    expect(response.status).toBe(503);
    expect(await spillsOf({ tenant: tenant.id, id: deliveryId })).toEqual([]);
  });

  it("keeps the spilled spans of the batches the queue did take, and only those", async () => {
    const tenant = await createTenant();
    // More spilled messages than one send batch holds, so the queue takes one batch and refuses the next.
    const queue = refusingQueue(1);

    const { response, deliveryId } = await sendWhileQueueRefuses(
      tenant,
      toProtobuf(largeRequest({ largeSpans: 40, largeSpanBytes: 130_000, smallTraces: 0 })),
      queue,
    );

    expect(response.status).toBe(503);
    const takenKeys = queue.taken.flatMap((m) => ("r2Key" in m.payload ? [m.payload.r2Key] : [])).sort();
    expect(takenKeys.length).toBeGreaterThan(0);
    expect(takenKeys.length).toBeLessThan(40);
    expect(await spillsOf({ tenant: tenant.id, id: deliveryId })).toEqual(takenKeys);
    await env.PAYLOADS.delete(takenKeys);
  });
});

describe("when R2 refuses one of a delivery's spilled spans", () => {
  afterEach(() => vi.restoreAllMocks());

  it("answers 503 and leaves nothing in R2: the spans it did spill are removed again, as no message refers to them", async () => {
    const tenant = await createTenant();
    const bucket = failingBinding(env.PAYLOADS, "put", "R2 put failed: unavailable", (key) => String(key).endsWith(".1"));

    const { response, deliveryId } = await sendWhileBraintrustRetries(
      tenant,
      toProtobuf(largeRequest({ largeSpans: 3, largeSpanBytes: 150_000, smallTraces: 0 })),
      { PAYLOADS: bucket },
    );

    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("2");
    expect(await spillsOf({ tenant: tenant.id, id: deliveryId })).toEqual([]);
  });
});

describe("when R2 refuses one of the spilled spans of a delivery Braintrust found too large", () => {
  it("answers 503 and leaves nothing in R2: the other half's spilled spans are removed too, as no message refers to them", async () => {
    const tenant = await createTenant();
    await standin.script(tenant.apiKey, [{ status: 413 }]);
    // A gateway trace's three spans and nine large ones halve into six and six, each half with large spans to spill: one of the second half's fails.
    const bucket = failingBinding(env.PAYLOADS, "put", "R2 put failed: unavailable", (key) => String(key).endsWith(".b.0"));

    const { result: response, events } = await loggedWhile(() =>
      sendTracesWith(tenant, toProtobuf(largeRequest({ largeSpans: 9, largeSpanBytes: 150_000, smallTraces: 0 })), { PAYLOADS: bucket }),
    );

    expect(response.status).toBe(503);
    const attempt = events.find((e) => e.event === "delivery_attempt" && e.tenant === tenant.id);
    expect(attempt).toMatchObject({ outcome: "rejected", next: "split" });
    // The first half's puts may still be under way when the second's fails: what is left shows once they are done.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await spillsOf({ tenant: tenant.id, id: String(attempt!.delivery_id) })).toEqual([]);
  });
});
