import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { DeliveryMessage } from "../../src/deliver/message.js";
import worker from "../../src/index.js";

export interface Consumed {
  /** Messages acknowledged one by one: Cloudflare forgets them. */
  acked: string[];
  /** Messages handed back with message.retry(), and the delay asked for. */
  retried: { id: string; delaySeconds: number | undefined }[];
  /** What the handler threw: Cloudflare then redelivers every message it did not acknowledge. */
  threw: unknown;
}

/**
 * Runs the Worker's queue() on one batch of `messages` from `queue`, with the real bindings except
 * those in `bindings`, and reports what became of each message.
 */
export async function consume(queue: string, messages: DeliveryMessage[], bindings: Partial<typeof env> = {}): Promise<Consumed> {
  const batch = createMessageBatch<DeliveryMessage>(
    queue,
    messages.map((body) => ({ id: body.id, timestamp: body.receivedAt, attempts: 1, body })),
  );
  // getQueueResult reports which messages were retried but not the delay they asked for. Wrapped
  // per message: the method lives on the platform's shared prototype.
  const delays = new Map<string, number | undefined>();
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (options) => {
      delays.set(message.id, options?.delaySeconds);
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  const threw = await worker.queue(batch, { ...env, ...bindings }).then(
    () => undefined,
    (error: unknown) => error,
  );
  const result = await getQueueResult(batch, ctx);
  // Both consumers settle messages one by one; a batch-wide ack or retry would make `acked` and `retried` meaningless.
  if (result.ackAll || result.retryBatch.retry) throw new Error("the handler acked or retried the whole batch");
  return {
    acked: result.explicitAcks,
    retried: result.retryMessages.map(({ msgId }) => ({ id: msgId, delaySeconds: delays.get(msgId) })),
    threw,
  };
}
