import { openSecretUnder, type SealingKeys, sealSecret, UnreadableSecret } from "../secrets/seal.js";
import { tenantObject } from "./authoritative.js";
import { storedKeyContext } from "./credentials.js";

/**
 * What sealing a tenant's stored key again under the current ENCRYPTION_KEY came to:
 * - `resealed`: the previous key had sealed it; the current one now does (or KV's copy, which was
 *   behind the tenant's object, now has it as the object does);
 * - `current`: the current key sealed it already, in the tenant's object and in KV's copy alike;
 * - `replica_behind`: the current key sealed it in the tenant's object, but KV, whose copy ingest
 *   reads, refused it (this run's write, or again): that copy may still be as the previous key sealed it;
 * - `no_key`: the tenant is gone, or forwards its clients' keys;
 * - `unreadable`: neither key opens it (its key must be put again);
 * - `changed`: someone changed the tenant meanwhile; sealing it again is left to the next run.
 */
export type ResealOutcome = "resealed" | "current" | "replica_behind" | "no_key" | "unreadable" | "changed";

/**
 * Seals a tenant's stored key again under ENCRYPTION_KEY, so ENCRYPTION_KEY_PREVIOUS can be
 * dropped. Opened and sealed here, in the Worker, as the admin API seals a key it is given; the
 * record is written only if it is still the one read, so a key put meanwhile is never overwritten.
 */
export async function resealStoredKey(env: Env & SealingKeys, tenantId: string): Promise<ResealOutcome> {
  const object = tenantObject(env, tenantId);
  const read = await object.readRevision(tenantId);
  const sealed = read?.tenant.api_key_sealed;
  if (!read || !sealed) return "no_key";
  let opened: Awaited<ReturnType<typeof openSecretUnder>>;
  try {
    opened = await openSecretUnder(sealed, env, storedKeyContext(tenantId));
  } catch (err) {
    // ENCRYPTION_KEY missing or malformed is thrown on: the operator's to fix, not this tenant's.
    if (err instanceof UnreadableSecret) return "unreadable";
    throw err;
  }
  if (opened.under === "current") {
    // The object is the truth, but ingest reads KV's copy, which a refused write leaves behind until
    // the object's alarm gets through: the previous key may go only once KV holds the key sealed again.
    const replica = await object.replicateSealedKey(tenantId);
    return replica === "held" ? "current" : replica === "written" ? "resealed" : "replica_behind";
  }
  const { api_url, api_key_sealed, tokens, incarnation, created_at, updated_at, ...config } = read.tenant;
  const replaced = await object.replace(
    tenantId,
    { config, apiUrl: api_url, sealedKey: await sealSecret(opened.plaintext, env, storedKeyContext(tenantId)) },
    { ifMatch: [read.revision] },
  );
  if ("refused" in replaced) return "changed";
  return replaced.replicated ? "resealed" : "replica_behind";
}

/**
 * The stored key sealed again under ENCRYPTION_KEY when only ENCRYPTION_KEY_PREVIOUS opens it, for
 * the tenant's object to store with each change and before each copy to KV: a tenant KV does not
 * hold yet is one `keys reseal` cannot find by KV's list. Undefined when there is nothing to do (the
 * current key sealed it) or nothing can be done here (neither key opens it, ENCRYPTION_KEY is missing
 * or malformed: the record goes to KV as it is, and each is answered where the key is used).
 */
export async function sealedAgainIfPrevious(env: SealingKeys, tenantId: string, sealed: string): Promise<string | undefined> {
  // No rotation under way: nothing the previous key sealed can be opened, so nothing is opened at all.
  if (!env.ENCRYPTION_KEY_PREVIOUS) return undefined;
  try {
    const opened = await openSecretUnder(sealed, env, storedKeyContext(tenantId));
    return opened.under === "previous" ? await sealSecret(opened.plaintext, env, storedKeyContext(tenantId)) : undefined;
  } catch {
    return undefined;
  }
}
