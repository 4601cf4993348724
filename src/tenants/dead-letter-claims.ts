import { isIncarnationOf, type StoredTenant } from "./schema.js";

/**
 * How long a replay's claim on a dead letter holds at most. Past the relay's retries with the
 * default policy (3.1–6.2 hours), so a replay still retrying keeps its dead letter to itself; and
 * a day at most, so a claim whose replay never reached the queue (the Worker stopped between the
 * claim and the send) does not keep its dead letter from being replayed for longer.
 */
export const REPLAY_CLAIM_MS = 24 * 3600 * 1000;

/** A dead letter a replay asks to claim, as R2 holds it now: `version` changes with every write of it. */
export interface DeadLetterToClaim {
  deliveryId: string;
  version: string;
  incarnation: string | undefined;
}

/** What a replay's claim on one dead letter came to. */
export type DeadLetterClaim =
  /**
   * `claim` names this claim; the replay's message carries it, and lets go of this claim only.
   * `rules`: the digest of the tenant's redaction rules as its object held them then (tenant-object.ts).
   */
  | { outcome: "claimed"; claim: string; rules?: string }
  /** Another replay claimed it, at `since`, and has not ended: its spans are on their way. */
  | { outcome: "replaying"; since: string }
  /** Kept for a tenant deleted since (and maybe created again): never replayed, never claimed. */
  | { outcome: "orphaned"; tenant: "deleted" | "created_again" };

/** A claim a replay's message lets go of: its dead letter, and which claim on it. */
export interface ClaimMade {
  deliveryId: string;
  claim: string;
}

/**
 * A tenant's dead letters that a replay has claimed, in its Durable Object's SQLite storage, so
 * that of two replays of one dead letter only one sends its spans. A claim is for the dead letter
 * as R2 held it when it was claimed (its version): once its replay ends, by delivering (the dead
 * letter is deleted) or by failing again (it is written anew, another version), the claim no longer
 * holds, without anyone letting it go. Only a replay that ends leaving the dead letter as it was
 * (the queue refused it, or its message was skipped as a repeat of another copy in its batch) lets
 * its claim go itself: that claim only, by its name, so a claim another replay made since holds
 * while that replay's spans are on their way. A copy of an older replay's message that Cloudflare
 * delivers again and that fails writes the dead letter anew, ending such a claim too: a third replay
 * may then send beside the later one, and the delivered marker skips whichever comes second.
 */
export class DeadLetterClaims {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(
      "CREATE TABLE IF NOT EXISTS dead_letter_claims (delivery_id TEXT PRIMARY KEY, version TEXT NOT NULL, claimed_at INTEGER NOT NULL, claim TEXT NOT NULL)",
    );
  }

  /**
   * Claims each dead letter of `tenant` (undefined: deleted) that is its own and no other replay
   * holds. Synchronous, so it runs in one piece inside the object, however many replays call at once.
   */
  claim(tenant: StoredTenant | undefined, deadLetters: DeadLetterToClaim[], now: number): DeadLetterClaim[] {
    this.sql.exec("DELETE FROM dead_letter_claims WHERE claimed_at <= ?", now - REPLAY_CLAIM_MS);
    return deadLetters.map(({ deliveryId, version, incarnation }): DeadLetterClaim => {
      if (!isIncarnationOf(tenant, incarnation)) return { outcome: "orphaned", tenant: tenant ? "created_again" : "deleted" };
      const held = this.sql
        .exec<{ version: string; claimed_at: number }>(
          "SELECT version, claimed_at FROM dead_letter_claims WHERE delivery_id = ?",
          deliveryId,
        )
        .toArray()[0];
      if (held?.version === version) return { outcome: "replaying", since: new Date(held.claimed_at).toISOString() };
      const claim = crypto.randomUUID();
      this.sql.exec(
        "INSERT OR REPLACE INTO dead_letter_claims (delivery_id, version, claimed_at, claim) VALUES (?, ?, ?, ?)",
        deliveryId,
        version,
        now,
        claim,
      );
      return { outcome: "claimed", claim };
    });
  }

  /** Lets these claims go, those that still hold: each one's dead letter may be replayed again at once. */
  release(claims: ClaimMade[]): void {
    for (const { deliveryId, claim } of claims)
      this.sql.exec("DELETE FROM dead_letter_claims WHERE delivery_id = ? AND claim = ?", deliveryId, claim);
  }

  /** Forgets every claim: the tenant is deleted, and its dead letters with it. */
  clear(): void {
    this.sql.exec("DELETE FROM dead_letter_claims");
  }
}
