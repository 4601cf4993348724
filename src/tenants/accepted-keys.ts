import { sha256Hex } from "../secrets/compare.js";

/**
 * Passthrough keys Braintrust has accepted, per isolate: what earns a passthrough client the
 * tenant's budget, full limits and durable delivery, since the relay cannot check such a key
 * itself. Held as SHA-256 of tenant (the incarnation of it: one deleted and created again under its
 * id is another owner's, whose Braintrust has accepted none of its clients yet), Braintrust URL and
 * key, never the key. A key enters when
 * Braintrust takes spans with it and leaves when Braintrust refuses it, or after IDLE_MS without a
 * request: each request that finds it renews it, so a client keeps its standing through a
 * Braintrust outage, when nothing is delivered to renew it. Only holders of the key can renew it.
 */
const IDLE_MS = 10 * 60_000;
const MAX_KEYS = 10_000;

/** Digest → when it lapses. A Map iterates in insertion order and renewing re-inserts, so the first entry is the idlest. */
const accepted = new Map<string, number>();

/** A passthrough key as offered to one tenant's Braintrust. */
export interface OfferedKey {
  tenantId: string;
  /** The tenant's incarnation (tenants/schema.ts); none for a tenant recorded before incarnations. */
  incarnation: string | undefined;
  apiUrl: string;
  apiKey: string;
}

/** An array, so no field's text can pass for another's. */
function digestOf({ tenantId, incarnation, apiUrl, apiKey }: OfferedKey): Promise<string> {
  return sha256Hex(JSON.stringify([tenantId, incarnation ?? null, apiUrl, apiKey]));
}

/** Whether Braintrust has accepted this key, recently enough; renews it if so. */
export async function isAcceptedKey(key: OfferedKey, now: number = Date.now()): Promise<boolean> {
  const digest = await digestOf(key);
  const lapsesAt = accepted.get(digest);
  if (lapsesAt === undefined) return false;
  accepted.delete(digest);
  if (lapsesAt <= now) return false;
  accepted.set(digest, now + IDLE_MS);
  return true;
}

/** Braintrust's answer to an attempt with a passthrough key: it took the spans, or refused the key. */
export async function recordBraintrustVerdict(key: OfferedKey, keyAccepted: boolean, now: number = Date.now()): Promise<void> {
  const digest = await digestOf(key);
  accepted.delete(digest);
  if (!keyAccepted) return;
  // Only keys Braintrust accepted get here, so a full memory means many real clients: the idlest goes.
  if (accepted.size >= MAX_KEYS) accepted.delete(accepted.keys().next().value!);
  accepted.set(digest, now + IDLE_MS);
}
