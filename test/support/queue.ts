import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { spansOf, toProtobuf, trueFoundryTrace } from "../../scripts/lib/traces.js";
import { sealClientKey } from "../../src/deliver/client-key.js";
import { type DeadLetter, DeadLetterStore } from "../../src/deliver/dead-letters.js";
import type { DeliveryMessage } from "../../src/deliver/message.js";
import { spillPayload } from "../../src/deliver/spill.js";
import worker from "../../src/index.js";
import { admin, createTenant, createTenantAgain, type TestTenant } from "./relay.js";
import { standin } from "./standin.js";

interface Consumed {
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
  return consumeBodies(
    queue,
    messages.map((body) => ({ id: body.id, timestamp: body.receivedAt, body })),
    bindings,
  );
}

/** `consume` for bodies of any kind, as anyone with access to a queue can send (the dashboard, another producer). */
export async function consumeBodies(
  queue: string,
  entries: { id: string; timestamp: number; body: unknown }[],
  bindings: Partial<typeof env> = {},
): Promise<Consumed> {
  const batch = createMessageBatch<unknown>(
    queue,
    entries.map(({ id, timestamp, body }) => ({ id, timestamp: new Date(timestamp), attempts: 1, body })),
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

/** The queues of wrangler.toml: the Worker's queue() tells them apart by name. */
export const DELIVERIES = "tfy-relay-deliveries";
export const DEAD_LETTERS = "tfy-relay-dead-letters";

/** What the consumer's failure path asks of Cloudflare (CONSUMER_FAILURE_DELAY_SECONDS). */
export const CONSUMER_RETRY = 30;

/** When a message queued long enough for any tenant change to have applied everywhere was accepted. */
export const LONG_AGO = Date.now() - 10 * 60_000;

/** Deletes the tenant, and creates another under its id when asked: then the new owner's key. */
export async function deleteTenant(tenantId: string, { recreate }: { recreate: boolean }): Promise<string | undefined> {
  expect((await admin("DELETE", `/tenants/${tenantId}`)).status).toBe(204);
  return recreate ? createTenantAgain(tenantId) : undefined;
}

/** A queued message with a gateway trace for `tenant`, as the ingest route makes it after a first failed attempt. */
export function queuedMessage(tenant: TestTenant, protobuf: Uint8Array, overrides: Partial<DeliveryMessage> = {}): DeliveryMessage {
  return {
    id: crypto.randomUUID(),
    tenant: tenant.id,
    incarnation: tenant.incarnation,
    parent: tenant.parent,
    payload: { inline: protobuf },
    spans: 3,
    bytes: protobuf.byteLength,
    attempts: 1,
    serverErrors: 0,
    receivedAt: Date.now(),
    ...overrides,
  };
}

/** A passthrough tenant, and a dead letter of its spans holding its client's key, sealed as the queue carries it. */
export async function passthroughDeadLetter(): Promise<{ tenant: TestTenant; deadLetter: DeadLetter }> {
  const tenant = await createTenant({ mode: "passthrough" });
  const protobuf = toProtobuf(trueFoundryTrace());
  const deadLetter = await new DeadLetterStore(env.PAYLOADS).put(
    queuedMessage(tenant, protobuf, await sealClientKey(tenant.apiKey, env, tenant.id, standin.url)),
    protobuf,
    "archived",
  );
  return { tenant, deadLetter };
}

/** The same message with its spans spilled to R2, as a message too large for the queue carries them. */
export async function spilled(message: DeliveryMessage, protobuf: Uint8Array): Promise<DeliveryMessage & { payload: { r2Key: string } }> {
  return { ...message, payload: { r2Key: await spillPayload(env.PAYLOADS, message.tenant, message.id, protobuf) } };
}

/** The line a consumer writes for a message of a tenant gone since, which it drops. */
export function discardedLine(message: DeliveryMessage) {
  return {
    event: "tenant_gone_discarded",
    tenant: message.tenant,
    delivery_id: message.id,
    spans: message.spans,
    request_id: expect.stringMatching(/^queue-/),
  };
}

export async function inR2(key: string): Promise<boolean> {
  return (await env.PAYLOADS.head(key)) !== null;
}

/**
 * The R2 keys spans of the delivery were spilled to (`spill/<tenant>/<id>.…`), in key order: its
 * pieces' spans a request kept, or its halves' when a split kept them.
 */
export async function spillsOf(delivery: Pick<DeliveryMessage, "tenant" | "id">): Promise<string[]> {
  return spillKeys(`spill/${delivery.tenant}/${delivery.id}.`);
}

/** Every R2 key the tenant's spans were spilled to, in key order. */
export function tenantSpills(tenantId: string): Promise<string[]> {
  return spillKeys(`spill/${tenantId}/`);
}

async function spillKeys(prefix: string): Promise<string[]> {
  return (await env.PAYLOADS.list({ prefix })).objects.map((object) => object.key);
}

/** A tenant, one of its traces (or the request given), and a message carrying it spilled to R2. */
export async function spilledDelivery(trace = trueFoundryTrace()) {
  const tenant = await createTenant();
  const protobuf = toProtobuf(trace);
  const message = await spilled(queuedMessage(tenant, protobuf, { spans: spansOf(trace).length }), protobuf);
  return { tenant, trace, protobuf, message, key: message.payload.r2Key };
}
