import { logEvent } from "../log/events.js";
import { countSpans } from "../stats/recorder.js";
import { authoritativeTenant } from "../tenants/authoritative.js";
import { isIncarnationOf, type Tenant } from "../tenants/schema.js";
import type { TenantStore } from "../tenants/store.js";
import { DeadLetterStore, deadLetterKey } from "./dead-letters.js";
import { type DeliveryMessage, isDeliveryMessage } from "./message.js";
import { enqueue } from "./queue.js";
import { releaseEnded } from "./spill.js";

/**
 * How a queued message ends other than by a delivery, in either queue's consumer: skipped as a
 * repeat, discarded with its tenant, or kept as a dead letter.
 */

/**
 * The batch's delivery messages. Any other body is acked, with a line: not made by the relay, it
 * cannot be delivered or kept (nothing says where its spans are, or whose they are), and handed
 * back it would come again with the batch's other messages, and take them to the dead-letter queue.
 */
export function deliveryMessages(batch: MessageBatch<unknown>): Message<DeliveryMessage>[] {
  const messages: Message<DeliveryMessage>[] = [];
  for (const queued of batch.messages) {
    if (isDeliveryMessage(queued.body)) messages.push(queued as Message<DeliveryMessage>);
    else {
      logEvent({ event: "malformed_queue_message", queue: batch.queue, message_id: queued.id });
      queued.ack();
    }
  }
  return messages;
}

/**
 * A message not to send. A replay was counted entering the queue when it was replayed, so it is
 * counted leaving it; any other repeat (Cloudflare redelivering a message already done) was counted
 * leaving when its first copy was done.
 */
export function skipRepeat(message: DeliveryMessage, why: string): void {
  if (isReplay(message)) countSpans(message, "left_queue", message.spans);
  logEvent({ event: "duplicate_delivery_skipped", tenant: message.tenant, delivery_id: message.id, spans: message.spans, why });
}

/**
 * A message whose spans Braintrust took already, let go of: a repeat whose R2 object is still there
 * follows a delete that failed after delivery (each time, for a message that reached the
 * dead-letter queue so).
 */
export async function skipDelivered(env: Env, message: DeliveryMessage): Promise<void> {
  await releaseEnded(env.PAYLOADS, message);
  skipRepeat(message, "its spans were delivered");
}

/**
 * A message whose spans are gone from R2: released once delivered, or by a send that failed, which
 * told its client to send them again (it may have queued the message all the same), or a replayed
 * dead letter deleted since.
 */
export function skipGone(message: DeliveryMessage): void {
  skipRepeat(
    message,
    isReplay(message) ? "its dead letter was deleted" : "its spans were released: delivered, or given back to the client that sent them",
  );
}

/** A dead letter's spans sent again: the message carries the dead letter itself. */
export function isReplay(message: DeliveryMessage): boolean {
  return "r2Key" in message.payload && message.payload.r2Key === deadLetterKey(message.tenant, message.id);
}

/** Whether a replay's dead letter was deleted since its spans were read (by an operator, or with its tenant): they stay deleted. */
export async function replayedDeadLetterGone(bucket: R2Bucket, message: DeliveryMessage): Promise<boolean> {
  return isReplay(message) && (await bucket.head(deadLetterKey(message.tenant, message.id))) === null;
}

/**
 * A message whose tenant reads as deleted, or as another tenant created since under the same id, in
 * KV and its object alike (tenantOfMessage). A read can lag a change, so a message younger than that
 * lag waits it out all the same: its tenant may only be too new to show here. After that its tenant
 * is surely gone and its spans go nowhere: never with another tenant's key or URL, nor into a dead
 * letter, as a deleted tenant's are deleted with it.
 */
export async function discardOrWait(env: Env, tenants: TenantStore, message: DeliveryMessage): Promise<void> {
  const waitSeconds = Math.ceil(tenants.changeAppliesWithinSeconds - (Date.now() - message.receivedAt) / 1000);
  if (waitSeconds > 0) return enqueue(env.DELIVERY_QUEUE, [message], waitSeconds);
  // A replay's spans are its dead letter: left for an operator to delete, not deleted here.
  await releaseEnded(env.PAYLOADS, message, deadLetterKey(message.tenant, message.id));
  // Counted for the incarnation they were queued for, as every count is: its statistics went with
  // it, so the tenant's object drops the count, and one created again under the id never sees it.
  countSpans(message, "left_queue", message.spans);
  logEvent({ event: "tenant_gone_discarded", tenant: message.tenant, delivery_id: message.id, spans: message.spans });
}

/**
 * The tenant whose spans the message carries, as it is now; undefined when it is deleted, or another
 * was created since under its id. KV's copy, unless it reads as another: then the tenant's Durable
 * Object, whose record KV only copies. KV's copy can lag it past the time a change is taken to apply
 * (KV's propagation is "60 s or more", and a copy KV refused is written again only by the object's
 * alarm), and spans dropped on a stale read are gone; the object is asked only on that rare path.
 */
export async function tenantOfMessage(env: Env, tenants: TenantStore, message: DeliveryMessage): Promise<Tenant | undefined> {
  const replica = await tenants.getCurrent(message.tenant);
  if (isIncarnationOf(replica, message.incarnation)) return replica;
  const owner = await authoritativeTenant(env, message.tenant);
  return isIncarnationOf(owner, message.incarnation) ? owner : undefined;
}

/**
 * Whether a message's tenant reads as deleted, or as another created since under its id. One that
 * cannot be read is not: storage failing is what brings messages here, and a dead letter kept by
 * mistake can be deleted, where spans dropped by mistake are gone.
 */
export async function tenantReadsGone(env: Env, tenants: TenantStore, message: DeliveryMessage): Promise<boolean> {
  try {
    return (await tenantOfMessage(env, tenants, message)) === undefined;
  } catch {
    return false;
  }
}

/**
 * Moves a queued message's spans to a dead letter, then lets go of its R2 object unless that is the
 * dead letter itself (a replay): written anew with why the replay failed, unless it was deleted
 * while the replay was under way, which it stays.
 */
export async function keepAsDeadLetter(env: Env, message: DeliveryMessage, protobuf: Uint8Array, reason: string): Promise<void> {
  const deadLetters = new DeadLetterStore(env.PAYLOADS);
  if (!isReplay(message)) await deadLetters.put(message, protobuf, reason);
  else if (!(await deadLetters.putAgain(message, protobuf, reason))) return skipGone(message);
  await finishDeadLetter(env, message);
}

/** A dead letter kept: the message's spilled spans are let go of, and it leaves the queue. */
export async function finishDeadLetter(env: Env, message: DeliveryMessage): Promise<void> {
  await releaseEnded(env.PAYLOADS, message, deadLetterKey(message.tenant, message.id));
  countSpans(message, "left_queue", message.spans);
}

/**
 * Whether a message with spans spilled apart from a dead letter (not a replay, which carries its dead
 * letter) was kept as one already: R2 then failed to let go of the spill, and the message came again.
 * Sent again, Braintrust might take spans a dead letter also holds, which a replay would send twice.
 */
export async function keptAsDeadLetter(bucket: R2Bucket, message: DeliveryMessage): Promise<boolean> {
  const kept = deadLetterKey(message.tenant, message.id);
  if (!("r2Key" in message.payload) || message.payload.r2Key === kept) return false;
  return (await bucket.head(kept)) !== null;
}
