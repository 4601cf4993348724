import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/app-env.js";
import { RelayError } from "../http/errors.js";
import { parseOrReject } from "../tenants/schema.js";

/**
 * A whole number in a query parameter, `min` to `max`: decimal digits and nothing else. `Number`
 * also reads `0x10`, `1e2` and ` 5`, spellings no caller means as a page size.
 */
export function queryInteger(min: number, max: number) {
  return z
    .string()
    .regex(/^[0-9]+$/, "must be a whole number in decimal digits only")
    .transform(Number)
    .pipe(z.number().min(min).max(max));
}

/**
 * An admin call's query parameters, as `schema` reads them. One it takes given more than once is a
 * 400 naming it: which of the values was meant is not the relay's to guess. Others are not read.
 */
export function parseQuery<Schema extends z.ZodObject>(c: Context<AppEnv>, schema: Schema): z.output<Schema> {
  const query: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const [value, ...more] = c.req.queries(name) ?? [];
    if (more.length > 0) {
      throw new RelayError("invalid_field", `${name}: given ${more.length + 1} times: give it once`, { field: name });
    }
    if (value !== undefined) query[name] = value;
  }
  return parseOrReject(schema, query);
}
