import type { Context } from "hono";
import type { AppEnv } from "../http/app-env.js";
import { RelayError } from "../http/errors.js";
import type { Precondition } from "../tenants/revision.js";
import type { PreconditionFailed } from "../tenants/tenant-object.js";

/**
 * One element of a list and the comma that ends it: an entity tag, optionally weak (`W/`), an opaque
 * value in quotes (RFC 9110, section 8.8.3), or nothing, as a list may hold empty elements (section
 * 5.6.1.2: `"a", ,"b",` is the list of "a" and "b").
 */
const LIST_ELEMENT = /[ \t]*(?:(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*)?(,|$)/y;

/**
 * A write's `If-Match` and `If-None-Match` headers. `If-Match` compares strongly, so a weak tag in
 * it never matches; `If-None-Match` compares weakly, so it counts as its value. A header that is
 * not `*` or a list of entity tags is a 400, not a condition quietly ignored; one whose list holds
 * no element (empty, or only commas) is no condition, as RFC 9110 has recipients ignore empty elements.
 */
export function preconditionOf(c: Context<AppEnv>): Precondition {
  const ifMatch = entityTags("If-Match", c.req.header("if-match"), (weak) => !weak);
  const ifNoneMatch = entityTags("If-None-Match", c.req.header("if-none-match"), () => true);
  return {
    ...(ifMatch === undefined ? {} : { ifMatch }),
    ...(ifNoneMatch === undefined ? {} : { ifNoneMatch }),
  };
}

function entityTags(header: string, field: string | undefined, counts: (weak: boolean) => boolean): "*" | string[] | undefined {
  const value = field?.trim() ?? "";
  if (value === "*") return "*";
  const tags: string[] = [];
  let elements = 0;
  LIST_ELEMENT.lastIndex = 0;
  while (LIST_ELEMENT.lastIndex < value.length) {
    const element = LIST_ELEMENT.exec(value);
    if (!element) {
      throw new RelayError("invalid_field", `${header}: must be * or a list of entity tags such as "5f1c…", as an ETag header gives them`, {
        field: header,
      });
    }
    if (element[2] === undefined) continue;
    elements++;
    if (counts(element[1] !== undefined)) tags.push(element[2]);
  }
  return elements === 0 ? undefined : tags;
}

/**
 * For a change that has no ETag (a dead letter's delete or replay, a reseal): an If-Match or
 * If-None-Match there could never be compared, and the change made regardless would be one the
 * caller made conditional (RFC 9110, 13.1.1: not performed when the condition fails), so it is a
 * 400 naming the header, before anything is done.
 */
export function refuseConditions(c: Context<AppEnv>): void {
  for (const header of ["If-Match", "If-None-Match"]) {
    // A list of nothing (empty, or only commas) is no condition, as on the calls that take one.
    if (!/[^ \t,]/.test(c.req.header(header) ?? "")) continue;
    throw new RelayError(
      "invalid_field",
      `${header}: this call has no ETag to compare it with: only a tenant (its GET, PUT and DELETE) and its tokens take If-Match and If-None-Match`,
      { field: header },
    );
  }
}

/** A tenant revision as the `ETag` header gives it. */
export function entityTag(revision: string): string {
  return `"${revision}"`;
}

/** A write refused by its If-Match or If-None-Match (412), saying where the tenant is now and what was `done` regardless. */
export function preconditionFailed(id: string, { revision }: PreconditionFailed, done = "nothing was changed"): RelayError {
  const now = revision === undefined ? "does not exist" : `is at ${entityTag(revision)}`;
  return new RelayError(
    "precondition_failed",
    `tenant ${id} ${now}, which the request's If-Match or If-None-Match refuses: ${done}; read the tenant again and reapply the change`,
  );
}
