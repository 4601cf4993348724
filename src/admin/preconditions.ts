import type { Context } from "hono";
import type { AppEnv } from "../http/app-env.js";
import { RelayError } from "../http/errors.js";
import type { Precondition } from "../tenants/revision.js";

/** One entity tag of a list and what ends it: optionally weak (`W/`), an opaque value in quotes (RFC 9110, section 8.8.3). */
const ENTITY_TAG = /[ \t]*(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(,|$)/y;

/**
 * A write's `If-Match` and `If-None-Match` headers. `If-Match` compares strongly, so a weak tag in
 * it never matches; `If-None-Match` compares weakly, so it counts as its value. A header that is
 * not `*` or a list of entity tags is a 400, not a condition quietly ignored.
 */
export function preconditionOf(c: Context<AppEnv>): Precondition {
  // An empty field is an empty list, which RFC 9110 has recipients ignore: no condition.
  const ifMatch = c.req.header("if-match")?.trim() || undefined;
  const ifNoneMatch = c.req.header("if-none-match")?.trim() || undefined;
  return {
    ...(ifMatch === undefined ? {} : { ifMatch: entityTags("If-Match", ifMatch, (weak) => !weak) }),
    ...(ifNoneMatch === undefined ? {} : { ifNoneMatch: entityTags("If-None-Match", ifNoneMatch, () => true) }),
  };
}

function entityTags(header: string, value: string, counts: (weak: boolean) => boolean): "*" | string[] {
  if (value === "*") return "*";
  const refused = new RelayError(
    "invalid_field",
    `${header}: must be * or a list of entity tags such as "5f1c…", as an ETag header gives them`,
    {
      field: header,
    },
  );
  const tags: string[] = [];
  ENTITY_TAG.lastIndex = 0;
  while (ENTITY_TAG.lastIndex < value.length) {
    const tag = ENTITY_TAG.exec(value);
    // A list does not end in a comma.
    if (!tag || (tag[3] === "," && ENTITY_TAG.lastIndex === value.length)) throw refused;
    if (counts(tag[1] !== undefined)) tags.push(tag[2]!);
  }
  return tags;
}

/** A tenant revision as the `ETag` header gives it. */
export function entityTag(revision: string): string {
  return `"${revision}"`;
}
