import { type DeliveryMessage, deliveryIdentity } from "./message.js";

/**
 * Queues deliver at least once, so a message can arrive again after it was delivered (a consumer
 * that stopped before acknowledging, a replay sent twice). A marker per delivered idempotency key,
 * kept longer than a queue keeps messages (4 days), lets the consumer skip and count such repeats.
 * KV is eventually consistent, so a repeat seconds apart may still get through: at least once.
 * Markers are the tenant's own (see deliveryIdentity): another tenant's delivery never counts as this one's.
 */
const MARKER_TTL_SECONDS = 5 * 24 * 3600;

function markerKey(message: Pick<DeliveryMessage, "tenant" | "id">): string {
  return `delivered:${deliveryIdentity(message)}`;
}

export async function wasDelivered(kv: KVNamespace, message: Pick<DeliveryMessage, "tenant" | "id">): Promise<boolean> {
  return (await kv.get(markerKey(message))) !== null;
}

export async function markDelivered(kv: KVNamespace, message: Pick<DeliveryMessage, "tenant" | "id">): Promise<void> {
  await kv.put(markerKey(message), "1", { expirationTtl: MARKER_TTL_SECONDS });
}
