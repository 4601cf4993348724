import type { DeliveryMessage } from "./message.js";

/** R2 keys: spans too large for a queue message wait under `spill/`, dead letters under `dead-letters/`. */
const SPILL_PREFIX = "spill/";

/** Under the tenant's own prefix, as dead letters are: no id another tenant's delivery can have names the same object. */
export async function spillPayload(bucket: R2Bucket, tenant: string, pieceId: string, protobuf: Uint8Array): Promise<string> {
  const key = `${SPILL_PREFIX}${tenant}/${pieceId}`;
  await bucket.put(key, protobuf);
  return key;
}

/** The message's ExportTraceServiceRequest bytes; undefined when its R2 object is gone (already delivered). */
export async function loadPayload(bucket: R2Bucket, message: DeliveryMessage): Promise<Uint8Array | undefined> {
  if ("inline" in message.payload) return message.payload.inline;
  const object = await bucket.get(message.payload.r2Key);
  return object ? new Uint8Array(await object.arrayBuffer()) : undefined;
}

/** Removes the message's R2 object once its spans are safely elsewhere (delivered, split or dead-lettered). */
export async function releasePayload(bucket: R2Bucket, message: DeliveryMessage, keep?: string): Promise<void> {
  if ("r2Key" in message.payload && message.payload.r2Key !== keep) await bucket.delete(message.payload.r2Key);
}

/**
 * Removes the R2 object of a message that has ended (delivered, kept as a dead letter, or dropped
 * with its tenant) unless it is `keep` (a replay's dead letter), and first what a split of it left
 * there: halves spilled (`<id>.a…`, `<id>.b…`) that the queue then refused, the message coming again
 * to go whole, which nothing else would ever read or remove. A half an earlier attempt did queue then
 * finds its object gone and is skipped: its spans went with the whole message, into Braintrust, a dead
 * letter or nowhere. Only a message too large for a queue message, so in R2, has halves that spill.
 */
export async function releaseEnded(bucket: R2Bucket, message: DeliveryMessage, keep?: string): Promise<void> {
  if ("r2Key" in message.payload) await removeAllUnder(bucket, `${SPILL_PREFIX}${message.tenant}/${message.id}.`);
  await releasePayload(bucket, message, keep);
}

async function removeAllUnder(bucket: R2Bucket, prefix: string): Promise<void> {
  for (;;) {
    const listed = await bucket.list({ prefix });
    if (listed.objects.length > 0) await bucket.delete(listed.objects.map((object) => object.key));
    if (!listed.truncated) return;
  }
}

/** Removes the R2 objects of messages that will never be sent: each tried, one failing not stopping the others. */
export async function releasePayloads(bucket: R2Bucket, messages: DeliveryMessage[]): Promise<void> {
  await Promise.allSettled(messages.map((message) => releasePayload(bucket, message)));
}
