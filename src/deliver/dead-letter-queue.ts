import { tenantCacheTtlSeconds } from "../env.js";
import { errorText, logEvent } from "../log/events.js";
import { TenantStore } from "../tenants/store.js";
import { wasDelivered } from "./delivered-markers.js";
import type { DeliveryMessage } from "./message.js";
import {
  deliveryMessages,
  discardOrWait,
  finishDeadLetter,
  keepAsDeadLetter,
  keptAsDeadLetter,
  skipDelivered,
  skipGone,
  tenantReadsGone,
} from "./skip-or-keep.js";
import { loadPayload } from "./spill.js";

/**
 * Messages the delivery consumer failed on again and again (a bug, or storage down), kept as dead
 * letters; but those of a tenant deleted since go nowhere, as in the delivery consumer: a dead letter
 * kept under its id could never be replayed, and would show among the dead letters of a tenant
 * created again under it.
 */
export async function consumeDeadLetterQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const tenants = new TenantStore(env.TENANTS, tenantCacheTtlSeconds(env));
  for (const queued of deliveryMessages(batch)) {
    const message = queued.body;
    try {
      await keepOrDiscard(env, tenants, message);
      queued.ack();
    } catch (err) {
      // Cloudflare redelivers this message alone, after the consumer's retry_delay (15 min), for a
      // day (wrangler.toml), then drops it: each failure is a line. The others go on, so a message
      // that fails every time takes no other's spans with it.
      logEvent({ event: "delivery_consumer_error", tenant: message.tenant, delivery_id: message.id, error: errorText(err) });
      queued.retry();
    }
  }
}

async function keepOrDiscard(env: Env, tenants: TenantStore, message: DeliveryMessage): Promise<void> {
  if (await tenantReadsGone(env, tenants, message)) return discardOrWait(env, tenants, message);
  const protobuf = await loadPayload(env.PAYLOADS, message);
  if (!protobuf) return skipGone(message);
  // Not kept as a dead letter, which a replay would send again once the marker is gone. Storage
  // failing is what brings most messages here: a marker KV cannot read keeps the dead letter, whose
  // replay reads it again.
  if (await wasDelivered(env.TENANTS, message).catch(() => false)) return skipDelivered(env, message);
  // Its dead letter, with the reason it was kept for, stays as it is.
  if (await keptAsDeadLetter(env.PAYLOADS, message)) return finishDeadLetter(env, message);
  const lastError = message.lastError ? `; last Braintrust error: ${message.lastError}` : "";
  await keepAsDeadLetter(env, message, protobuf, `the delivery consumer failed on this message repeatedly${lastError}`);
}
