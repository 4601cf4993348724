import type { KeptCandidate, StoredCandidate } from "./trace-wait-store.js";

/** How a waiting trace's candidates (the parents routes named for it, ranked) are kept and compared, for the trace-routes object. */

/** The candidate a waiting trace's earlier requests left, if any. */
export function storedCandidate(known: StoredCandidate | undefined): KeptCandidate | undefined {
  if (known?.candidate == null || known.candidate_rank == null) return undefined;
  return {
    parent: known.candidate,
    rank: known.candidate_rank,
    routesAt: known.candidate_routes_at ?? undefined,
    route: known.candidate_route ?? undefined,
  };
}

/**
 * A waiting trace's candidate as the tenant's routes rank it now: changing routes applies to decisions
 * not made yet. The route that named it, found by its match (`routeKeys`, when the routes are not older
 * than the candidate), sends it where that route now says: moved, it ranks where it stands, and with
 * its parent changed, the spans that matched it go to the new one. A candidate whose route is gone
 * ranks where a route to its parent stands now (routes to one parent send spans to the same place),
 * and names nothing when none does.
 */
export function currentCandidate(
  stored: KeptCandidate | undefined,
  routeParents: string[] | undefined,
  routeKeys?: string[],
): KeptCandidate | undefined {
  if (!stored || routeParents === undefined) return stored;
  const route = stored.route === undefined ? -1 : (routeKeys?.indexOf(stored.route) ?? -1);
  if (route >= 0) return { ...stored, parent: routeParents[route]!, rank: route };
  if (routeParents[stored.rank] === stored.parent) return stored;
  const rank = routeParents.indexOf(stored.parent);
  return rank < 0 ? undefined : { ...stored, rank };
}

/**
 * The candidate as `currentCandidate` weighed it by routes saved at `routesAt`: sent by its route to
 * another parent, it is those routes' candidate, so routes older than them (KV still propagating the
 * change to another isolate) leave it, as they leave any candidate of newer routes, and do not send
 * it back to the parent it had before.
 */
export function reweighedAt(
  stored: KeptCandidate | undefined,
  current: KeptCandidate | undefined,
  routesAt: string | undefined,
): KeptCandidate | undefined {
  if (!stored || !current || current.parent === stored.parent || routesAt === undefined) return current;
  return { ...current, routesAt };
}

/** The lower rank; on a tie the one seen first, as the first `braintrust.parent` wins. */
export function betterCandidate(first: KeptCandidate | undefined, later: KeptCandidate | undefined): KeptCandidate | undefined {
  if (!first || !later) return first ?? later;
  return later.rank < first.rank ? later : first;
}
