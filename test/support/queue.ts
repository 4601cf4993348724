import { createExecutionContext, createMessageBatch, getQueueResult, type QueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { DeliveryMessage } from "../../src/deliver/message.js";
import worker from "../../src/index.js";
import type { TestTenant } from "./relay.js";

/** What the relay asked a queue to hold: the message and the delay it was scheduled with. */
export interface Enqueued {
  body: DeliveryMessage;
  delaySeconds: number | undefined;
}

/**
 * A delivery queue that takes every message and keeps it here instead of delivering it, so a test
 * can read the delay each retry was scheduled with rather than time the wait.
 */
export function recordingQueue(): Queue<DeliveryMessage> & { enqueued: Enqueued[] } {
  const enqueued: Enqueued[] = [];
  return {
    enqueued,
    send: async (body, options) => {
      enqueued.push({ body, delaySeconds: options?.delaySeconds });
      return { metadata: { metrics: { backlogCount: enqueued.length, backlogBytes: 0 } } };
    },
    sendBatch: async (messages, options) => {
      for (const m of messages) enqueued.push({ body: m.body, delaySeconds: m.delaySeconds ?? options?.delaySeconds });
      return { metadata: { metrics: { backlogCount: enqueued.length, backlogBytes: 0 } } };
    },
    metrics: async () => ({ backlogCount: enqueued.length, backlogBytes: 0 }),
  };
}

/** An ingest request served with `queue` as the delivery queue; every other binding is the test's own. */
export async function ingestWithQueue(
  tenant: Pick<TestTenant, "id" | "bearer">,
  body: Uint8Array,
  queue: Queue<DeliveryMessage>,
): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`https://relay.test/t/${tenant.id}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf", authorization: `Bearer ${tenant.bearer}` },
      body,
    }),
    { ...env, DELIVERY_QUEUE: queue },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

/** Runs the delivery queue's consumer on these messages, re-enqueueing into `queue`. */
export async function consumeWithQueue(messages: DeliveryMessage[], queue: Queue<DeliveryMessage>): Promise<QueueResult> {
  const batch = createMessageBatch<DeliveryMessage>(
    "tfy-relay-deliveries",
    messages.map((body, n) => ({ id: `${body.id}-${n}`, timestamp: Date.now(), attempts: 1, body })),
  );
  // The consumer takes no execution context: it finishes its work before it returns.
  await worker.queue(batch, { ...env, DELIVERY_QUEUE: queue });
  return getQueueResult(batch, createExecutionContext());
}
