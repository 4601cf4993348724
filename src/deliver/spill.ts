import type { DeliveryMessage } from "./message.js";

/** R2 keys: spans too large for a queue message wait under `spill/`, dead letters under `dead-letters/`. */
export const SPILL_PREFIX = "spill/";

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

/** Removes the R2 objects of messages that will never be sent: each tried, one failing not stopping the others. */
export async function releasePayloads(bucket: R2Bucket, messages: DeliveryMessage[]): Promise<void> {
  await Promise.allSettled(messages.map((message) => releasePayload(bucket, message)));
}
