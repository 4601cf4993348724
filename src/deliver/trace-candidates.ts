import type { KeptCandidate, StoredTrace } from "./trace-wait-store.js";

/** How a waiting trace's candidates (the parents routes named for it, ranked) are kept and compared, for the trace-routes object. */

/** The candidate a waiting trace's earlier requests left, if any. */
export function storedCandidate(known: StoredTrace | undefined): KeptCandidate | undefined {
  if (known?.candidate == null || known.candidate_rank == null) return undefined;
  return { parent: known.candidate, rank: known.candidate_rank, routesAt: known.candidate_routes_at ?? undefined };
}

/**
 * A waiting trace's candidate as the tenant's routes rank it now: changing routes applies to decisions
 * not made yet, so a candidate whose route was removed since names nothing, and one whose route
 * moved ranks where a route to its parent stands now (routes to one parent send spans to the same place).
 */
export function currentCandidate(stored: KeptCandidate | undefined, routeParents: string[] | undefined): KeptCandidate | undefined {
  if (!stored || routeParents === undefined || routeParents[stored.rank] === stored.parent) return stored;
  const rank = routeParents.indexOf(stored.parent);
  return rank < 0 ? undefined : { ...stored, rank };
}

/** The lower rank; on a tie the one seen first, as the first `braintrust.parent` wins. */
export function betterCandidate(first: KeptCandidate | undefined, later: KeptCandidate | undefined): KeptCandidate | undefined {
  if (!first || !later) return first ?? later;
  return later.rank < first.rank ? later : first;
}
