import { sha256Hex } from "../secrets/compare.js";
import type { StoredTenant } from "./schema.js";

type Routes = StoredTenant["routes"];

/** The hex digits of SHA-256 that name a route's match: 64 bits, so no two of a tenant's routes share one by chance. */
const MATCH_KEY_DIGITS = 16;
// Weak: a tenant's routes are let go with the record read; each read is worked out once.
const matchKeys = new WeakMap<Routes, Promise<string[]>>();

/**
 * Each route's match as a short key, in the routes' order: what tells a route whose parent was
 * changed from one removed, so the candidate a waiting trace's spans named by it follows it to its
 * new parent (deliver/trace-candidates.ts). A digest, since a match may be large and every call to a
 * trace-routes object carries them all; of the stored match, whose members the schema wrote in its
 * own order, so a PUT that lists them otherwise keeps the key.
 */
export function routeMatchKeys(routes: Routes): Promise<string[]> {
  let keys = matchKeys.get(routes);
  if (!keys) {
    keys = Promise.all(routes.map(async (route) => (await sha256Hex(JSON.stringify(route.match))).slice(0, MATCH_KEY_DIGITS)));
    matchKeys.set(routes, keys);
  }
  return keys;
}
