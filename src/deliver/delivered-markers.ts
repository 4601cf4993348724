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

/**
 * Whether the message's spans were delivered: under its own id, or under the id of a delivery it is
 * a piece or half of (`<id>.a.0` of `<id>.a` and `<id>`), which held them all. A split the queue took
 * only part of hands its message back, and the message may then be delivered whole while the pieces
 * taken are still queued. One read for all of them: KV counts a bulk read as one operation.
 */
export async function wasDelivered(kv: KVNamespace, message: Pick<DeliveryMessage, "tenant" | "id">): Promise<boolean> {
  const keys = idsHolding(message.id).map((id) => markerKey({ tenant: message.tenant, id }));
  const markers = await kv.get(keys, "text");
  return [...markers.values()].some((marker) => marker !== null);
}

/** KV's most keys in one bulk read. */
const MAX_KEYS_READ = 100;

/** The id and the ids it was split from, nearest first; past KV's most, the first delivery's id still among them. */
function idsHolding(id: string): string[] {
  const ids = [id];
  for (let end = id.lastIndexOf("."); end > 0; end = id.lastIndexOf(".", end - 1)) ids.push(id.slice(0, end));
  return ids.length <= MAX_KEYS_READ ? ids : [...ids.slice(0, MAX_KEYS_READ - 1), ids.at(-1)!];
}

export async function markDelivered(kv: KVNamespace, message: Pick<DeliveryMessage, "tenant" | "id">): Promise<void> {
  await kv.put(markerKey(message), "1", { expirationTtl: MARKER_TTL_SECONDS });
}
