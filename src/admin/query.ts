import type { Context } from "hono";
import { z } from "zod";
import { quotedUnlessSecret } from "../http/caller-text.js";
import { RelayError } from "../http/errors.js";
import { calledRoute } from "./called-route.js";
import { parseOrReject } from "./parse.js";

/**
 * A whole number in a query parameter, 1 to `max`: decimal digits and nothing else. `Number`
 * also reads `0x10`, `1e2` and ` 5`, spellings no caller means as a page size.
 */
export function positiveQueryInteger(max: number) {
  const range = `must be from 1 to ${max}`;
  return z
    .string()
    .regex(/^[0-9]+$/, "must be a whole number in decimal digits only")
    .transform(Number)
    .pipe(z.number().min(1, range).max(max, range));
}

/**
 * The query of a call that lists a page at a time: how many (`limit`, 1 to `max`, else
 * `defaultLimit`) and where the page before ended (`cursor`, as that page gave it).
 */
export function pageQuery(max: number, defaultLimit: number) {
  return z.object({
    limit: positiveQueryInteger(max).default(defaultLimit),
    cursor: z.string().min(1).optional(),
  });
}

/** The query of a call that reads none: any parameter given is refused. */
export const NO_QUERY = z.object({});

/**
 * The request's query, one value for each parameter given, every one among `names`. A parameter
 * given twice is a 400 naming it: which of the values was meant is not the relay's to guess. So is
 * one not among `names`: left unread, a misspelt `tenant` would widen a list, or a bulk replay, to
 * every tenant's.
 */
export function singleValuedQuery(c: Context, names: readonly string[]): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [name, values] of Object.entries(c.req.queries())) {
    if (!names.includes(name)) throw unknownParameter(c, name, names);
    const [value = "", ...more] = values;
    if (more.length > 0) {
      throw new RelayError("invalid_field", `${name}: given ${more.length + 1} times: give it once`, { field: name });
    }
    query[name] = value;
  }
  return query;
}

function unknownParameter(c: Context, name: string, names: readonly string[]): RelayError {
  const given = quotedUnlessSecret(name, false);
  const takes = `${calledRoute(c)}, which takes ${names.length > 0 ? names.join(", ") : "none"}`;
  return given
    ? new RelayError("invalid_field", `${given}: not a query parameter of ${takes}`, { field: name })
    : new RelayError("invalid_field", `a query parameter of ${name.length} characters: not one of ${takes}`);
}

/** An admin call's query parameters, as `schema` reads them; any other, or one given twice, is a 400 naming it. */
export function parseQuery<Schema extends z.ZodObject>(c: Context, schema: Schema): z.output<Schema> {
  return parseOrReject(schema, singleValuedQuery(c, Object.keys(schema.shape)));
}
