import { z } from "zod";
import { splitsRunsAmongRepetitions } from "./adjacent-runs.js";
import { modifiersSpelledOut } from "./modifier-groups.js";
import { slowRepetitionIn } from "./nested-repetition.js";
import { ParentSchema } from "./parent.js";
import { MAX_MATCH_NESTING, matchesEmptyText, ProcessingSchema, roundedRouteNumbers, routeNestedTooDeep } from "./processing-schema.js";
import { checkBaseUrl } from "./upstream-url.js";

/** Tenant ids name a path segment and a KV key: TENANT_ID_RULE. */
export const TENANT_ID = /^[a-z0-9_-]{1,64}$/;
/** TENANT_ID in words, as every refusal of an id and the console's form say it. */
export const TENANT_ID_RULE = "1-64 characters of a-z, 0-9, - and _";

export const DEFAULT_API_URL = "https://api.braintrust.dev";
const MAX_API_URL_LENGTH = 2048;

/**
 * A tenant's parent is also kept in its KV metadata, for the list (tenants/store.ts), which KV
 * holds to 1024 bytes of JSON: `{"parent":…,"auth":"passthrough"}` leaves the parent 992. Past it,
 * the record could never reach KV, and the tenant, created with a 201, would serve nothing.
 */
const MAX_PARENT_JSON_CHARS = 992;

/** Braintrust API keys go into an Authorization header: one token of printable ASCII. */
export const ApiKeySchema = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces");

const TokenRecordSchema = z.object({
  id: z.string(),
  /** SHA-256 of the whole token, hex; the token itself is never stored. */
  sha256: z.string(),
  created_at: z.string(),
  /**
   * SHA-256 of the issue key the token was issued under, if any, hex: issuing under it again
   * replaces the token (see withToken). Equality is all that is asked of it, and a key made up by
   * the caller may be a secret pasted by a slip (a token, the admin token), so it is not kept.
   */
  issue_key_sha256: z.string().optional(),
});

/** A tenant as kept in KV under `tenant:<id>`. */
export const StoredTenantSchema = z.object({
  ...ProcessingSchema.shape,
  parent: ParentSchema,
  api_url: z.string(),
  /** AES-GCM envelope of the tenant's Braintrust API key; absent in passthrough mode. */
  api_key_sealed: z.string().optional(),
  tokens: z.array(TokenRecordSchema).default([]),
  /**
   * Made when the tenant is created and kept by every PUT that replaces it: a tenant deleted and
   * created again under the same id is another incarnation, and spans accepted for the old one
   * never go out with the new one's key or URL. Records written before incarnations have none.
   */
  incarnation: z.string().optional(),
  /** Set when the tenant stops routing: until then its traces still go through its trace-routes objects (routing.ts). */
  routed_until: z.string().optional(),
  created_at: z.string(),
  updated_at: z.string(),
});

export type StoredTenant = z.infer<typeof StoredTenantSchema>;
export type TokenRecord = z.infer<typeof TokenRecordSchema>;
export type Tenant = StoredTenant & { id: string };

/**
 * Whether spans accepted for `incarnation` may be delivered with this tenant's key and URL, and
 * counts made for it added to its statistics: only when the tenant is the one they were for. A
 * record without an incarnation (written before they existed) matches only spans and counts without
 * one, which is what it was given then.
 */
export function isIncarnationOf<T extends StoredTenant>(tenant: T | undefined, incarnation: string | undefined): tenant is T {
  return tenant !== undefined && tenant.incarnation === incarnation;
}

/** How ingest requests authenticate: with a relay-issued token, or with the client's own Braintrust key. */
export type AuthMode = "stored_key" | "passthrough";

export function authModeOf(tenant: StoredTenant): AuthMode {
  return tenant.api_key_sealed ? "stored_key" : "passthrough";
}

/**
 * The admin API's PUT body. `api_key`: a string stores it, `null` removes it, absent keeps what is
 * stored. A route match nested too deep is refused before the schema reads it, since reading it
 * recurses a level at a time, and a value pattern that matches empty text once it is read; both
 * only here, so records stored before the bounds still read.
 */
export function tenantInputSchema(allowInsecureUpstream: boolean) {
  return z
    .unknown()
    .superRefine((input, ctx) => {
      const route = routeNestedTooDeep(input);
      if (route !== undefined)
        ctx.addIssue({
          code: "custom",
          path: ["routes", route, "match"],
          message: `may nest all and any at most ${MAX_MATCH_NESTING} levels deep`,
        });
    })
    .pipe(tenantFieldsSchema(allowInsecureUpstream));
}

function tenantFieldsSchema(allowInsecureUpstream: boolean) {
  return z
    .strictObject({
      ...ProcessingSchema.shape,
      parent: ParentSchema.refine(
        (parent) => JSON.stringify(parent).length <= MAX_PARENT_JSON_CHARS,
        `must be at most ${MAX_PARENT_JSON_CHARS} characters as JSON writes it, each " and \\ counted twice`,
      ),
      braintrust: z
        .strictObject({
          api_url: z
            .string()
            .default(DEFAULT_API_URL)
            .transform((raw, ctx) => {
              const check = checkBaseUrl(raw, allowInsecureUpstream);
              if (check.ok) return check.url;
              ctx.addIssue({ code: "custom", message: check.reason });
              return z.NEVER;
            })
            // Bounded so a dead letter's R2 metadata (8 KB), which names it beside the parent, a
            // sealed client key and the reason, always fits: as kept, once read as a URL, which
            // percent-encodes a path, so a character sent may be nine kept.
            .pipe(z.string().max(MAX_API_URL_LENGTH)),
          api_key: ApiKeySchema.nullable().optional(),
        })
        .default({ api_url: DEFAULT_API_URL }),
    })
    .superRefine(
      ({ redact, routes }, ctx) => {
        for (const path of roundedRouteNumbers(routes))
          ctx.addIssue({ code: "custom", path, message: "an integer past 2^53 loses digits as a JSON number: write it as a string" });
        redact.values.forEach((value, i) => {
          if (typeof value === "string") return;
          const path = ["redact", "values", i, "pattern"];
          // The checks that read the pattern first: the one that runs it would take as long as the pattern does.
          const readable = modifiersSpelledOut(value.pattern);
          const slow = slowRepetitionIn(readable);
          if (slow === "nested")
            ctx.addIssue({
              code: "custom",
              path,
              message:
                "must not repeat a group that itself repeats, as (a+)+ does: on text that almost matches, that takes time exponential in the text's length; repeat once (a+)",
            });
          else if (slow === "overlapping")
            ctx.addIssue({
              code: "custom",
              path,
              message:
                "must not repeat alternatives that may match the same text, as (.|\\s)* does (a space is either): on text that almost matches, that takes time exponential in the text's length; make them exclusive ([\\s\\S]*)",
            });
          else if (splitsRunsAmongRepetitions(readable))
            ctx.addIssue({
              code: "custom",
              path,
              message:
                "must not let repetitions that share characters split one run before more of the pattern, as \\d+\\d+x does: on a long run without the rest, that takes time a power of the run's length; repeat once (\\d+x)",
            });
          else if (matchesEmptyText(value.pattern))
            ctx.addIssue({ code: "custom", path, message: "must not match empty text: it would put its replacement between characters" });
        });
      },
      // Only once the rest holds: a pattern that is no regular expression is refused already, and cannot be tried.
      { when: (payload) => payload.issues.length === 0 },
    );
}
