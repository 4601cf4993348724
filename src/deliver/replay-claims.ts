import { tenantObject } from "../tenants/authoritative.js";
import type { DeadLetterClaim } from "../tenants/dead-letter-claims.js";
import type { Replay } from "./dead-letters.js";
import type { DeliveryMessage } from "./message.js";

/**
 * Claims a tenant's dead letters for a replay before it sends any, at the tenant's Durable Object,
 * in the call that also says whether each is still the tenant's. The object runs one call at a
 * time, wherever the replays come from (the API, the console, the CLI, any location), so of two
 * replays of one dead letter exactly one claims it and queues its spans. R2's conditional writes
 * would decide as surely, but an object's metadata changes only by writing its spans again, one
 * call per dead letter on top of the list: more than a page's subrequests allow.
 */
export async function claimTenantReplays(env: Env, tenant: string, replays: Replay[]): Promise<Array<[Replay, DeadLetterClaim]>> {
  const deadLetters = replays.map(({ message, version }) => ({ deliveryId: message.id, version, incarnation: message.incarnation }));
  const claims = await tenantObject(env, tenant).claimDeadLetters(tenant, deadLetters);
  return replays.map((replay, i) => [replay, claims[i]!]);
}

/** The messages of the replays that claimed their dead letters, in the replays' order, each carrying its claim and the tenant's rules then. */
export function claimedMessages(replays: Replay[], claims: Map<Replay, DeadLetterClaim>): DeliveryMessage[] {
  return replays.flatMap((replay) => {
    const claim = claims.get(replay);
    if (claim?.outcome !== "claimed") return [];
    return [{ ...replay.message, replayClaim: claim.claim, ...(claim.rules ? { rulesAtReplay: claim.rules } : {}) }];
  });
}

/**
 * Lets go of the claims these replays' messages carry, their dead letters left as they were, so the
 * next replay sends them; a claim made since by another replay holds. Each tenant's are let go on
 * their own: one object failing keeps only its own claims, which then lapse within REPLAY_CLAIM_MS.
 */
export async function releaseReplays(env: Env, messages: DeliveryMessage[]): Promise<void> {
  // A replay queued before replays claimed their dead letters carries no claim, and holds none.
  const claims = messages.flatMap(({ tenant, id, replayClaim }) =>
    replayClaim === undefined ? [] : [{ tenant, deliveryId: id, claim: replayClaim }],
  );
  const byTenant = Map.groupBy(claims, (claim) => claim.tenant);
  await Promise.allSettled(
    [...byTenant].map(([tenant, group]) =>
      tenantObject(env, tenant).releaseDeadLetters(group.map(({ deliveryId, claim }) => ({ deliveryId, claim }))),
    ),
  );
}
