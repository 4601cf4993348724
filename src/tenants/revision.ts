import { hex } from "../encoding/bytes.js";
import { sha256 } from "../secrets/compare.js";
import type { StoredTenant } from "./schema.js";

/**
 * A tenant record's revision, the admin API's entity tag for it: a digest of the whole record as
 * its Durable Object stores it, so any change (settings, key, tokens) makes another one. Made only
 * by that object, from its own copy, so reads and conditional writes compare the same bytes.
 */
export async function tenantRevision(record: StoredTenant): Promise<string> {
  return hex((await sha256(JSON.stringify(record))).subarray(0, REVISION_BYTES));
}

const REVISION_BYTES = 16;

/**
 * An admin write's HTTP preconditions (RFC 9110, section 13.1): `If-Match` holds when the record
 * exists and, unless it is `*`, its revision is one of the tags; `If-None-Match` holds when the
 * record does not exist or, unless it is `*`, its revision is none of them. A write needs both.
 */
export interface Precondition {
  ifMatch?: "*" | string[];
  ifNoneMatch?: "*" | string[];
}

/** Whether a write may go ahead on the record whose revision is `current` (undefined: no record). */
export function preconditionHolds(precondition: Precondition, current: string | undefined): boolean {
  const { ifMatch, ifNoneMatch } = precondition;
  if (ifMatch !== undefined && !(current !== undefined && (ifMatch === "*" || ifMatch.includes(current)))) return false;
  if (ifNoneMatch !== undefined && !(current === undefined || (ifNoneMatch !== "*" && !ifNoneMatch.includes(current)))) return false;
  return true;
}
