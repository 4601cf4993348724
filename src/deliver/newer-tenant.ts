import { authoritativeTenant } from "../tenants/authoritative.js";
import { isIncarnationOf, type Tenant } from "../tenants/schema.js";
import type { DeliveryOutcome } from "./outcome.js";

/**
 * When Braintrust refuses what a tenant's record says, the copy read may be old: the ingest route
 * and the queue's consumer read KV's, which lags a change by minutes (its propagation is "60 s or
 * more", and each location caches it), and an operator who rotated a revoked key or corrected a
 * wrong api_url would see spans kept as dead letters for what is fixed. The tenant's Durable Object,
 * whose record KV only copies, is asked then, and only then.
 */

/** Whether Braintrust refused what the tenant's record says (its stored key, its api_url), not the spans. */
export function refusedTenantSettings(outcome: DeliveryOutcome): boolean {
  return outcome.kind === "rejected" && (outcome.fault === "credentials" || outcome.fault === "config");
}

/**
 * How long this isolate takes the object's word that it holds what a copy holds. A key that stays
 * revoked is refused on every request and every retry: asked each time, the one object would take
 * them all, and on the Free plan its 100,000 requests a day, which the admin API's change that fixes
 * the key needs too. As long as the tenant store's own isolate cache, so a fix is seen as soon; a
 * replayed dead letter asks whatever the object said, as it is made right after a fix.
 */
const SAME_AS_OBJECT_MS = 5_000;
const SAME_AS_OBJECT_MAX_ENTRIES = 1_000;
const sameAsObject = new Map<string, number>();

/**
 * The tenant as its Durable Object holds it now, when that holds another stored key or api_url than
 * `used`, the copy an attempt was refused with. Undefined when it holds the same (as it did within
 * SAME_AS_OBJECT_MS, unless for a `replay`), is another incarnation, or cannot be read (the refusal stands).
 */
export async function tenantChangedSince(env: Env, used: Tenant, replay = false): Promise<Tenant | undefined> {
  const copy = JSON.stringify([used.id, used.incarnation, used.api_key_sealed ?? null, used.api_url]);
  if (!replay && (sameAsObject.get(copy) ?? 0) > Date.now()) return undefined;
  const owner = await authoritativeTenant(env, used.id).catch(() => undefined);
  if (!isIncarnationOf(owner, used.incarnation)) return undefined;
  if (owner.api_key_sealed !== used.api_key_sealed || owner.api_url !== used.api_url) return owner;
  if (sameAsObject.size >= SAME_AS_OBJECT_MAX_ENTRIES) sameAsObject.clear();
  sameAsObject.set(copy, Date.now() + SAME_AS_OBJECT_MS);
  return undefined;
}
