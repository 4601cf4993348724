/**
 * Queues deliver at least once, so a message can arrive again after it was delivered (a consumer
 * that stopped before acknowledging, a replay sent twice). A marker per delivered idempotency key,
 * kept longer than a queue keeps messages (4 days), lets the consumer skip and count such repeats.
 * KV is eventually consistent, so a repeat seconds apart may still get through: at least once.
 */
const MARKER_TTL_SECONDS = 5 * 24 * 3600;

export async function wasDelivered(kv: KVNamespace, deliveryId: string): Promise<boolean> {
  return (await kv.get(`delivered:${deliveryId}`)) !== null;
}

export async function markDelivered(kv: KVNamespace, deliveryId: string): Promise<void> {
  await kv.put(`delivered:${deliveryId}`, "1", { expirationTtl: MARKER_TTL_SECONDS });
}
