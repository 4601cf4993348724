import { DurableObject } from "cloudflare:workers";
import { errorText, logEvent } from "../log/events.js";
import { UnreadableSecret } from "../secrets/seal.js";
import type { StatsDelta } from "../stats/counts.js";
import { type TenantStatsReport, TenantStatsStore } from "../stats/store.js";
import { replaceTenant, type TenantReplacement, type TokenRefusal, withoutToken, withToken } from "./changes.js";
import { storedKeyShownBy } from "./credentials.js";
import { type ClaimMade, type DeadLetterClaim, DeadLetterClaims, type DeadLetterToClaim } from "./dead-letter-claims.js";
import { KvReplica } from "./kv-replica.js";
import { OneAtATime } from "./one-at-a-time.js";
import type { Redact } from "./processing-schema.js";
import { sealedAgainIfPrevious } from "./reseal.js";
import { type Precondition, preconditionHolds, tenantRevision } from "./revision.js";
import { maskingRulesDigest } from "./rules-digest.js";
import { isIncarnationOf, type StoredTenant, StoredTenantSchema } from "./schema.js";
import { type TenantStore, tenantStoreOf } from "./store.js";
import { issueToken } from "./tokens.js";

/** A conditional write refused: the record's revision now, none when there is no record. */
export interface PreconditionFailed {
  refused: "precondition_failed";
  revision: string | undefined;
}

/**
 * A `PUT` that gives another `api_url` and keeps the stored key: the key was given for one Braintrust
 * deployment (an EU or self-hosted one's is no key for the US service, a mistyped host's no one's),
 * so it goes to another only when given again.
 */
interface KeyForAnotherUrl {
  refused: "key_for_another_url";
}

/**
 * A `PUT` whose record would show its own Braintrust key in plaintext, in `field` (its api_url or a
 * parent), where the key or the api_url is kept from before: the admin API checked what the PUT
 * gives against the key it gives, and only the object knows what is kept. `key`: which key it holds.
 */
interface KeyShown {
  refused: "key_shown";
  field: string;
  key: "given" | "stored";
}

/** A `PUT` keeping a stored key that neither ENCRYPTION_KEY nor ENCRYPTION_KEY_PREVIOUS opens: what it holds cannot be told. */
interface KeyUnreadable {
  refused: "key_unreadable";
}

/** Why a `PUT` was not applied. */
export type ReplaceRefusal = PreconditionFailed | KeyForAnotherUrl | KeyShown | KeyUnreadable;

/** Storage keys: the record, the tenant's id (for the alarm), and whether KV's record was adopted. */
const RECORD = "tenant";
const TENANT_ID_KEY = "id";
const ADOPTED = "kv_adopted";
/** How soon a KV write that failed is tried again, and then again while KV refuses it. */
const REPLICA_RETRY_MS = 5_000;
const REPLICA_RETRY_AGAIN_MS = 30_000;

/**
 * One per tenant (named by its id): the authoritative tenant record, the tenant's statistics, and
 * the claims replays hold on its dead letters.
 * Every change is a read-modify-write run one at a time, so concurrent admin calls never lose each
 * other's writes; the record is then copied to KV, the read replica ingest keeps using, so no
 * ingest request ever waits on this object. A change is answered once KV has it; should KV fail,
 * it is still stored here, and an alarm copies it until KV takes it.
 */
export class TenantObject extends DurableObject<Env> {
  private readonly changes = new OneAtATime();
  private readonly replica = new KvReplica(() => this.writeReplica());
  private readonly stats = new TenantStatsStore(this.ctx.storage.sql);
  private readonly deadLetterClaims = new DeadLetterClaims(this.ctx.storage.sql);

  /** The record as it is now; undefined when there is no such tenant. */
  read(tenantId: string): Promise<StoredTenant | undefined> {
    return this.changes.run(() => this.current(tenantId));
  }

  /** The record as it is now with its revision (see revision.ts); undefined when there is no such tenant. */
  readRevision(tenantId: string): Promise<{ tenant: StoredTenant; revision: string } | undefined> {
    return this.changes.run(async () => {
      const tenant = await this.current(tenantId);
      return tenant && { tenant, revision: await tenantRevision(tenant) };
    });
  }

  /** Replaces the record, or creates it, when `precondition` holds for the record as it is when the change's turn comes. */
  async replace(
    tenantId: string,
    change: TenantReplacement,
    precondition: Precondition,
  ): Promise<{ tenant: StoredTenant; created: boolean; revision: string; replicated: boolean } | ReplaceRefusal> {
    const replaced = await this.changes.run(async () => {
      const existing = await this.current(tenantId);
      const refused = await this.refusal(existing, precondition);
      if (refused) return refused;
      const keyKept = existing?.api_key_sealed !== undefined && change.sealedKey === undefined;
      const replacement = replaceTenant(existing, change, new Date().toISOString());
      // First: an api_url holding the kept key is refused for that, not for going elsewhere, which giving the key again would not mend.
      const shown = existing && (keyKept || change.apiUrl === undefined) ? await this.keyShown(tenantId, replacement, keyKept) : undefined;
      if (shown) return shown;
      // Both URLs are as checkUpstreamUrl writes them, as every stored one has been: one spelling each.
      if (keyKept && change.apiUrl !== undefined && existing.api_url !== change.apiUrl) return { refused: "key_for_another_url" } as const;
      const tenant = await this.store(tenantId, replacement);
      await this.replicateLater();
      return { tenant, created: existing === undefined, revision: await tenantRevision(tenant) };
    });
    if (replaced.refused !== undefined) return replaced;
    // Whether KV, the copy ingest reads, took the change now (else the alarm writes it again).
    return { ...replaced, replicated: await this.replicate(tenantId) };
  }

  /**
   * Where the record a change makes holds its own key (KeyShown), the key opened here, where the
   * change is applied: a key put meanwhile is the one checked. `keyKept`: whether it is the stored one.
   */
  private async keyShown(tenantId: string, replacement: StoredTenant, keyKept: boolean): Promise<KeyShown | KeyUnreadable | undefined> {
    try {
      const field = await storedKeyShownBy({ ...replacement, id: tenantId }, this.env);
      return field === undefined ? undefined : { refused: "key_shown", field, key: keyKept ? "stored" : "given" };
    } catch (err) {
      // Sealed under an ENCRYPTION_KEY the relay no longer has, the key is still a live Braintrust key:
      // refused rather than kept beside settings unchecked. The tenant delivers nothing with it anyway,
      // and a PUT that gives the key again, or makes the tenant passthrough, keeps nothing to open.
      if (err instanceof UnreadableSecret) return { refused: "key_unreadable" } as const;
      throw err;
    }
  }

  /** Deletes the record, the tenant's statistics and its replays' claims, when `precondition` holds; false when there was no such tenant. */
  async remove(tenantId: string, precondition: Precondition = {}): Promise<boolean | PreconditionFailed> {
    const removed = await this.changes.run(async () => {
      const existing = await this.current(tenantId);
      const refused = await this.refusal(existing, precondition);
      if (refused) return refused;
      if (!existing) return false;
      await this.ctx.storage.delete(RECORD);
      await this.replicateLater();
      this.stats.clear();
      this.deadLetterClaims.clear();
      return true;
    });
    if (removed === true) await this.replicate(tenantId);
    return removed;
  }

  /**
   * A new ingest token, the only time it exists in plaintext, when `precondition` holds; or why none
   * can be added. Under an `issueKey`, it replaces the token issued under the same key, named as
   * `replaced`. `revision`: the record's after the change.
   */
  async addToken(
    tenantId: string,
    issueKey?: string,
    precondition: Precondition = {},
  ): Promise<
    | { token: string; id: string; created_at: string; replaced: string | undefined; revision: string }
    | { refused: TokenRefusal }
    | PreconditionFailed
  > {
    const issued = await this.changes.run(async () => {
      const existing = await this.current(tenantId);
      const { token, record } = await issueToken(new Date(), issueKey);
      const changed = withToken(existing, record);
      // What the call would be refused without a condition (no tenant, no room for a token) comes
      // first: RFC 9110 (section 13.2.1) has such a failure take precedence over the condition.
      if (typeof changed === "string") return { refused: changed };
      const refused = await this.refusal(existing, precondition);
      if (refused) return refused;
      const stored = await this.store(tenantId, changed.tenant);
      await this.replicateLater();
      return {
        token,
        id: record.id,
        created_at: record.created_at,
        replaced: changed.replaced,
        revision: await tenantRevision(stored),
      };
    });
    if (!("refused" in issued)) await this.replicate(tenantId);
    return issued;
  }

  /**
   * Revokes a token when `precondition` holds: whether the tenant exists, whether it had the token,
   * and the record's revision after the change.
   */
  async revokeToken(
    tenantId: string,
    tokenId: string,
    precondition: Precondition = {},
  ): Promise<{ tenant: boolean; found: false } | { tenant: true; found: true; revision: string } | PreconditionFailed> {
    const outcome = await this.changes.run(async () => {
      const tenant = await this.current(tenantId);
      const changed = tenant && withoutToken(tenant, tokenId, new Date().toISOString());
      // No tenant, or no such token, is a 404 whatever the condition, as in addToken.
      if (!changed) return { tenant: tenant !== undefined, found: false as const };
      const refused = await this.refusal(tenant, precondition);
      if (refused) return refused;
      const stored = await this.store(tenantId, changed);
      await this.replicateLater();
      return { tenant: true as const, found: true as const, revision: await tenantRevision(stored) };
    });
    if ("found" in outcome && outcome.found) await this.replicate(tenantId);
    return outcome;
  }

  /**
   * Counts an isolate gathered for this tenant (src/stats/flush.ts); dropped once the tenant is gone,
   * and when they were counted for another incarnation: deleting a tenant deletes its statistics, and
   * one created again under its id starts from nothing, whatever its predecessor's isolates flush later.
   */
  recordStats(tenantId: string, delta: StatsDelta): Promise<void> {
    return this.changes.run(async () => {
      if (isIncarnationOf(await this.current(tenantId), delta.incarnation)) this.stats.add(delta, Date.now());
    });
  }

  /**
   * The tenant's statistics, with its minutes of the last day when `perMinute`, and the masking rules
   * in force as they were read, by which the admin API names models; undefined when there is no such
   * tenant. The rules ride beside the report so either side of a deploy reads the other's answer.
   */
  statsReport(tenantId: string, perMinuteFor: number): Promise<(TenantStatsReport & { redact: Redact }) | undefined> {
    return this.changes.run(async () => {
      const tenant = await this.current(tenantId);
      return tenant && { ...this.stats.report(Date.now(), perMinuteFor), redact: tenant.redact };
    });
  }

  /**
   * Claims the tenant's dead letters for a replay (dead-letter-claims.ts), in the same turn as it
   * reads whose they are: of two replays of one dead letter, from whichever isolates, one claims it.
   */
  claimDeadLetters(tenantId: string, deadLetters: DeadLetterToClaim[]): Promise<DeadLetterClaim[]> {
    return this.changes.run(async () => {
      const tenant = await this.current(tenantId);
      const claims = this.deadLetterClaims.claim(tenant, deadLetters, Date.now());
      // The rules an operator just added, which KV's copy may not name yet when the replay is delivered.
      const rules = tenant && (await maskingRulesDigest(tenant.redact));
      return claims.map((claim) => (claim.outcome === "claimed" && rules ? { ...claim, rules } : claim));
    });
  }

  /** Lets go of these claims replays made, when the replays left their dead letters as they were. */
  releaseDeadLetters(claims: ClaimMade[]): Promise<void> {
    return this.changes.run(async () => this.deadLetterClaims.release(claims));
  }

  /**
   * Writes the record to KV again unless KV's copy carries the stored key as sealed here: a write KV
   * refused leaves that copy behind until the alarm's retry gets through. `held`, `written` now, or
   * `refused` again.
   */
  async replicateSealedKey(tenantId: string): Promise<"held" | "written" | "refused"> {
    const held = await this.changes.run(async () => this.kv().holdsSealedKey(tenantId, (await this.current(tenantId))?.api_key_sealed));
    if (held) return "held";
    return (await this.replicate(tenantId)) ? "written" : "refused";
  }

  /**
   * Has the alarm copy the record to KV shortly, set in the same storage turn as a change, so the
   * change reaches KV even should this object be reset (a deploy, Cloudflare moving it) before its own
   * KV write: nothing else would make it, since the record says the change is done, and the caller,
   * answered with an error, finds nothing left to change when it tries again. Once KV has taken the
   * change, the alarm writes it once more, a write per burst of changes.
   */
  private async replicateLater(): Promise<void> {
    await this.ctx.storage.setAlarm(Date.now() + REPLICA_RETRY_MS);
  }

  /** Why a write may not go ahead on the record as it is; undefined when it may. */
  private async refusal(existing: StoredTenant | undefined, precondition: Precondition): Promise<PreconditionFailed | undefined> {
    if (precondition.ifMatch === undefined && precondition.ifNoneMatch === undefined) return undefined;
    const revision = existing && (await tenantRevision(existing));
    return preconditionHolds(precondition, revision) ? undefined : { refused: "precondition_failed", revision };
  }

  /**
   * Copies the record to KV after each change (`replicateLater`), and retries a KV write that failed,
   * every 30 s until KV takes it. Not by throwing: Cloudflare
   * retries a throwing alarm six times, about two minutes, then drops it, and ingest would read
   * the old record (a revoked token, a replaced key) until the tenant's next change. The object's
   * own storage failing (reading the record, setting the next alarm) is logged and thrown all the
   * same: only Cloudflare's retries run the alarm again then.
   */
  override async alarm(): Promise<void> {
    try {
      await this.replicate((await this.ctx.storage.get<string>(TENANT_ID_KEY)) ?? "", REPLICA_RETRY_AGAIN_MS);
    } catch (err) {
      // Named by its tenant's id (tenantObject), a name Cloudflare gives the object in its alarm too, and unread from the storage that failed.
      logEvent({ event: "tenant_replica_failed", tenant: this.ctx.id.name ?? "(unknown)", error: errorText(err) });
      throw err;
    }
  }

  /**
   * The stored record. The first time this object runs for a tenant made before tenants had one,
   * it adopts the record from KV; after that, what it stores is the truth, so a deleted tenant's
   * stale KV copy is never adopted back.
   */
  private async current(tenantId: string): Promise<StoredTenant | undefined> {
    const stored = await this.ctx.storage.get<unknown>(RECORD);
    if (stored) return asReadNow(stored);
    if (await this.ctx.storage.get<boolean>(ADOPTED)) return undefined;
    const fromKv = await this.kv().getFresh(tenantId);
    const record: StoredTenant | undefined = fromKv && (({ id: _id, ...rest }) => rest)(fromKv);
    await this.ctx.storage.put({ [TENANT_ID_KEY]: tenantId, [ADOPTED]: true, ...(record ? { [RECORD]: record } : {}) });
    return record;
  }

  /**
   * Copies the record to KV: whether KV took it. A failure is logged and left to the alarm,
   * `retryInMs` later, since the change itself is stored.
   */
  private async replicate(tenantId: string, retryInMs = REPLICA_RETRY_MS): Promise<boolean> {
    try {
      await this.replica.sync();
      return true;
    } catch (err) {
      logEvent({ event: "tenant_replica_failed", tenant: tenantId, error: errorText(err) });
      await this.ctx.storage.setAlarm(Date.now() + retryInMs);
      return false;
    }
  }

  /** Copies the record as stored now to KV: written, or deleted when there is none. */
  private async writeReplica(): Promise<void> {
    const tenantId = await this.ctx.storage.get<string>(TENANT_ID_KEY);
    if (!tenantId) return;
    // A record stored before the rotation began (its first copy to KV refused, so a tenant `keys
    // reseal` cannot find by KV's list: reseal.ts) is sealed again here, before KV takes it. Its
    // other fields, `updated_at` among them, stay as they are: only its revision changes.
    const record = await this.changes.run(async () => {
      const stored = await this.ctx.storage.get<StoredTenant>(RECORD);
      const resealed = stored && (await this.withKeySealedAgain(tenantId, stored));
      if (resealed) await this.ctx.storage.put(RECORD, resealed);
      return resealed ?? stored;
    });
    if (record) await this.kv().put(tenantId, record);
    else await this.kv().delete(tenantId);
  }

  /**
   * Stores a changed record, its key sealed again first should only ENCRYPTION_KEY_PREVIOUS open it:
   * the revision a change answers during a rotation is the one it stored. What is stored.
   */
  private async store(tenantId: string, record: StoredTenant): Promise<StoredTenant> {
    // As `current` reads it back, so the revision made now is the one a read makes.
    const stored = asReadNow((await this.withKeySealedAgain(tenantId, record)) ?? record);
    await this.ctx.storage.put(RECORD, stored);
    return stored;
  }

  /**
   * The record with its key sealed again under ENCRYPTION_KEY, when only ENCRYPTION_KEY_PREVIOUS opens
   * it (reseal.ts), so every copy KV takes during a rotation holds the key as the new key sealed it;
   * undefined when there is nothing to seal again.
   */
  private async withKeySealedAgain(tenantId: string, record: StoredTenant): Promise<StoredTenant | undefined> {
    const sealed = record.api_key_sealed && (await sealedAgainIfPrevious(this.env, tenantId, record.api_key_sealed));
    return sealed ? { ...record, api_key_sealed: sealed } : undefined;
  }

  private kv(): TenantStore {
    return tenantStoreOf(this.env);
  }
}

/**
 * A stored record as the schema reads it now, as KV's copy is read: one an older relay stored lacks
 * the settings added since, which then have their defaults (shown by the admin API and the console
 * as ingest applies them). One the schema no longer reads is taken as it was stored, so an admin can
 * still replace or delete it.
 */
function asReadNow(stored: unknown): StoredTenant {
  const read = StoredTenantSchema.safeParse(stored);
  return read.success ? read.data : (stored as StoredTenant);
}
