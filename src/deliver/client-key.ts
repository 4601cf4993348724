import { openSecretUnder, type SealedUnder, type SealingKeys, sealSecret, UnreadableSecret } from "../secrets/seal.js";

/**
 * A passthrough client's Braintrust key while its spans wait for a later attempt (queued, waiting
 * for their trace's parent, dead-lettered): sealed, and bound to the tenant and to the api_url the
 * client sent it for. An admin may change the tenant's api_url meanwhile; the client never sent its
 * key there, so it does not go there (README, "Delivery").
 */
export interface QueuedClientKey {
  sealedClientKey: string;
  /** The tenant's api_url when the key was accepted: the only one the sealed key opens for. */
  clientKeyApiUrl: string;
}

/** What a waiting delivery holds of a client's key: no api_url when an older relay queued it. */
type HeldClientKey = Pick<QueuedClientKey, "sealedClientKey"> & Partial<Pick<QueuedClientKey, "clientKeyApiUrl">>;

export async function sealClientKey(apiKey: string, sealing: SealingKeys, tenantId: string, apiUrl: string): Promise<QueuedClientKey> {
  return { sealedClientKey: await sealSecret(apiKey, sealing, contextOf(tenantId, apiUrl)), clientKeyApiUrl: apiUrl };
}

/**
 * The client's key, when `apiUrl`, the tenant's now, is the one it was sent for; else that one, for
 * the dead letter's reason, which keeps the key for a replay once the tenant's api_url is back. A
 * key held without its api_url was sealed by an older relay, which sent it to the tenant's api_url,
 * as this does; or by this one and kept by a trace-routes object still running older code while a
 * deploy rolls out, which dropped the api_url beside it: such a key opens only under the api_url it
 * was sealed for, so it is tried under the tenant's.
 *
 * `resealed`: the key sealed again under the current ENCRYPTION_KEY, when only ENCRYPTION_KEY_PREVIOUS
 * opened it, for whatever holds the spans next (a retry, a dead letter): a rotation may end before they leave.
 */
export async function openClientKey(
  held: HeldClientKey,
  sealing: SealingKeys,
  tenantId: string,
  apiUrl: string,
): Promise<{ apiKey: string; resealed?: QueuedClientKey } | { sentFor: string; resealed?: QueuedClientKey }> {
  const sentFor = held.clientKeyApiUrl;
  if (sentFor !== undefined && sentFor !== apiUrl) {
    // Opened only to be sealed again, for the dead letter: one that does not open (no key opens it any
    // more, or the keys are misconfigured) is kept as it came, with the reason it was kept for.
    const opened = await openUnderEither(held.sealedClientKey, sealing, tenantId, sentFor, false).catch(() => undefined);
    return { sentFor, ...(await resealedIfOld(opened, sealing, tenantId, sentFor)) };
  }
  const opened = await openUnderEither(held.sealedClientKey, sealing, tenantId, sentFor ?? apiUrl, sentFor === undefined);
  return { apiKey: opened.plaintext, ...(await resealedIfOld(opened, sealing, tenantId, sentFor ?? apiUrl)) };
}

async function resealedIfOld(
  opened: { plaintext: string; under: SealedUnder } | undefined,
  sealing: SealingKeys,
  tenantId: string,
  apiUrl: string,
): Promise<{ resealed?: QueuedClientKey }> {
  if (opened?.under !== "previous") return {};
  return { resealed: await sealClientKey(opened.plaintext, sealing, tenantId, apiUrl) };
}

/** The key, opened under its api_url's context or, for a key an older relay sealed (`legacy`), first under none. */
async function openUnderEither(sealed: string, sealing: SealingKeys, tenantId: string, apiUrl: string, legacy: boolean) {
  if (!legacy) return openSecretUnder(sealed, sealing, contextOf(tenantId, apiUrl));
  try {
    return await openSecretUnder(sealed, sealing, contextOf(tenantId, undefined));
  } catch (err) {
    if (!(err instanceof UnreadableSecret)) throw err;
    return openSecretUnder(sealed, sealing, contextOf(tenantId, apiUrl));
  }
}

/** A tenant id has no `:`, so the api_url after it cannot be read as part of another tenant's context. */
function contextOf(tenantId: string, apiUrl: string | undefined): string {
  return apiUrl === undefined ? `queued-client-key:${tenantId}` : `queued-client-key:${tenantId}:${apiUrl}`;
}
