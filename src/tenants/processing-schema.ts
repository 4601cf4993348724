import { z } from "zod";
import { sent } from "./issue-text.js";
import { ParentSchema } from "./parent.js";

/**
 * What a tenant's spans go through between decoding and delivery: routes, translation, filtering
 * and redaction. One schema per shape; the stored record and the admin API share them.
 */

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

/**
 * The value a condition looks at: `span_name`, `scope_name`, `resource.<key>` or `attributes.<key>`
 * (the span's). A key may reach into an attribute holding a JSON object or a key-value list:
 * `attributes.tfy.request.metadata.env` reads `env` inside `tfy.request.metadata`.
 */
const FieldSchema = z
  .string()
  .regex(/^(span_name|scope_name|(resource|attributes)\.\S{1,256})$/, "must be span_name, scope_name, resource.<key> or attributes.<key>");

const ConditionSchema = z
  .strictObject({
    field: FieldSchema,
    equals: Scalar.optional(),
    one_of: z.array(Scalar).min(1).max(100).optional(),
    prefix: z.string().optional(),
    exists: z.boolean().optional(),
  })
  .refine(
    (c) => [c.equals, c.one_of, c.prefix, c.exists].filter((t) => t !== undefined).length === 1,
    "needs exactly one of equals, one_of, prefix, exists",
  );

export type Condition = z.infer<typeof ConditionSchema>;
export type Match = Condition | { all: Match[] } | { any: Match[] };

const MatchSchema: z.ZodType<Match> = z.lazy(() =>
  z.union(
    [
      z.strictObject({ all: z.array(MatchSchema).min(1).max(50) }),
      z.strictObject({ any: z.array(MatchSchema).min(1).max(50) }),
      ConditionSchema,
    ],
    { error: matchRefused },
  ),
);

/**
 * Why a match was refused: the refusal of the shape its key chooses (`all`, `any`, or a condition's
 * `field`), in the words of the field it is about, however deep; else what a match must be.
 * Without this, zod's union says only "Invalid input".
 */
function matchRefused(issue: z.core.$ZodRawIssue): string {
  const input = issue.input;
  if (issue.code === "invalid_union" && typeof input === "object" && input !== null && !Array.isArray(input)) {
    // The union's options in order: all, any, a condition.
    const option = "all" in input ? 0 : "any" in input ? 1 : "field" in input ? 2 : undefined;
    const first = option === undefined ? undefined : issue.errors[option]?.[0];
    if (first) return first.path.length > 0 ? `${first.path.join(".")}: ${first.message}` : first.message;
  }
  return 'must be a condition, {"field": …} with one of "equals", "one_of", "prefix", "exists", or {"all": [matches]} or {"any": [matches]}';
}

/**
 * How deep `all` and `any` may nest in a match: past any condition a person writes, and short of
 * the stack that `MatchSchema`, which recurses per level, and matching a span need.
 */
export const MAX_MATCH_NESTING = 16;

/**
 * The index of the first route in a tenant's input whose match nests deeper than
 * `MAX_MATCH_NESTING`, if any: checked before `MatchSchema` would recurse into it.
 */
export function routeNestedTooDeep(input: unknown): number | undefined {
  const routes = typeof input === "object" && input !== null ? (input as { routes?: unknown }).routes : undefined;
  if (!Array.isArray(routes)) return undefined;
  const index = routes.findIndex(
    (route: unknown) => typeof route === "object" && route !== null && !withinMatchNesting((route as { match?: unknown }).match),
  );
  return index === -1 ? undefined : index;
}

/**
 * Whether a match as given nests `all` and `any` at most `MAX_MATCH_NESTING` levels. Walked a level
 * at a time rather than recursively, so a match of any depth is measured without running out of
 * stack, and never past the bound.
 */
function withinMatchNesting(match: unknown): boolean {
  let level: unknown[] = [match];
  for (let depth = 0; level.length > 0; depth++) {
    if (depth > MAX_MATCH_NESTING) return false;
    level = level.flatMap((m) => {
      if (typeof m !== "object" || m === null) return [];
      const { all, any } = m as { all?: unknown; any?: unknown };
      return [all, any].flatMap((list) => (Array.isArray(list) ? list : []));
    });
  }
  return true;
}

/**
 * Where routes compare with an integer past 2^53 written as a number: JSON.parse has already rounded
 * it, and the rounded number would match other ids. Refused when a tenant is saved (schema.ts), so a
 * record stored before the refusal still reads.
 */
export function roundedRouteNumbers(routes: ReadonlyArray<{ match: Match }>): Array<Array<string | number>> {
  const found: Array<Array<string | number>> = [];
  const rounded = (value: unknown) => typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value);
  // Recursive: the schema has bounded the nesting (MAX_MATCH_NESTING) before this reads a match.
  const walk = (match: Match, path: Array<string | number>): void => {
    if ("all" in match || "any" in match) {
      const [key, list] = "all" in match ? ["all", match.all] : ["any", match.any];
      for (const [i, inner] of list.entries()) walk(inner, [...path, key, i]);
      return;
    }
    if (rounded(match.equals)) found.push([...path, "equals"]);
    for (const [i, value] of (match.one_of ?? []).entries()) if (rounded(value)) found.push([...path, "one_of", i]);
  };
  for (const [i, route] of routes.entries()) walk(route.match, ["routes", i, "match"]);
  return found;
}

const RouteSchema = z.strictObject({ match: MatchSchema, parent: ParentSchema });

/** Built-in value patterns for redaction, by name (process/redact.ts says what each matches). */
const BUILTIN_VALUE_PATTERNS = ["api_keys", "emails"] as const;
export type BuiltinValuePattern = (typeof BUILTIN_VALUE_PATTERNS)[number];

const RegexSchema = z
  .string()
  .min(1)
  .max(500)
  .refine((source) => {
    try {
      new RegExp(source, "g");
      return true;
    } catch {
      return false;
    }
  }, "must be a valid regular expression");

/**
 * Text a value pattern is tried on when a tenant is saved. A pattern that matches empty text (`\d*`,
 * `x?`, `\b`) puts its replacement between characters of every string it masks, each such pattern
 * multiplying a span by the replacement's length: a client's ordinary prompt could then fill an
 * isolate that serves every tenant. A line break, space, letters, digits and punctuation give a
 * pattern the places it could match nothing at.
 */
const EMPTY_MATCH_PROBE = "\n aZ0_@.-:/";

/** Whether a value pattern matches empty text anywhere in the probe: what the admin API refuses to save. */
export function matchesEmptyText(pattern: string): boolean {
  return Array.from(EMPTY_MATCH_PROBE.matchAll(new RegExp(pattern, "g")), (match) => match[0]).includes("");
}

/** What replaces what a rule matches, unless the rule says otherwise, and text masked whole. */
export const REDACTED = "[REDACTED]";

export const RedactSchema = z.strictObject({
  /** Attribute keys by glob (`*` matches any run of characters; a key nested in a key-value list or JSON text by its dotted path), removed or their value replaced. */
  keys: z
    .array(
      z.strictObject(
        {
          pattern: z.string().min(1).max(256),
          action: z.enum(["remove", "replace"]).default("remove"),
          replacement: z.string().max(100).default(REDACTED),
        },
        // A glob given alone, as a value rule's built-in name is, hears the rule's shape: "an object" would not say it.
        {
          error: (issue) =>
            issue.code === "invalid_type" && issue.input !== undefined
              ? `must be a rule, {"pattern": "<glob>"}, "action" and "replacement" optional, not ${sent(issue.input)}`
              : undefined,
        },
      ),
    )
    .max(100)
    .default([]),
  /** Text masked wherever it appears in a string value, translated JSON included. */
  values: z
    .array(
      z.union([
        z.enum(BUILTIN_VALUE_PATTERNS),
        z.strictObject({ pattern: RegexSchema, replacement: z.string().max(100).default(REDACTED) }),
      ]),
    )
    .max(50)
    .default([]),
});
export type Redact = z.infer<typeof RedactSchema>;

/** Requests per second a tenant may send, and how many at once. */
const RequestRateLimitSchema = z.strictObject({
  requests_per_second: z.number().positive().max(100_000),
  burst: z.number().int().min(1).max(1_000_000),
});
export type RequestRateLimit = z.infer<typeof RequestRateLimitSchema>;

export const ProcessingSchema = z.strictObject({
  /** Tried in order; a trace goes to the first route any of its spans matches, else the default parent. */
  routes: z.array(RouteSchema).max(100).default([]),
  /** A span's own `braintrust.parent` attribute decides its trace's parent, ahead of routes. */
  parent_from_attribute: z.boolean().default(false),
  /**
   * How long spans of a trace nothing has decided yet (no route matched, no top span) wait for the
   * span that decides it, before going to the default parent (README, "Routing by trace").
   */
  trace_wait_seconds: z.number().int().min(1).max(3600).default(600),
  /** Add the braintrust.* attributes Braintrust reads to spans carrying tfy.* (or Traceloop gen_ai.prompt.*) attributes. */
  translate: z.boolean().default(true),
  /**
   * Keep the attributes translation restated (`tfy.input`, `tfy.output`, Traceloop messages, token
   * and cost metrics) beside their braintrust.* form. Off: Braintrust would show and bill them twice.
   */
  keep_source_attributes: z.boolean().default(false),
  /**
   * Keep a gateway request span's parent when it is not among the request's spans (the caller's span,
   * when the gateway continues a W3C traceparent). Off: translation makes such a span its trace's
   * root, or Braintrust would hide the trace; on, for callers whose own spans reach the same parent.
   */
  keep_caller_parent: z.boolean().default(false),
  /** Drop spans that are not about AI, by Braintrust's own rule (roots always kept). */
  drop_non_ai_spans: z.boolean().default(false),
  redact: RedactSchema.default({ keys: [], values: [] }),
  /** This tenant's ingest rate limit; absent means the Worker's defaults (RATE_LIMIT_* vars). */
  rate_limit: RequestRateLimitSchema.optional(),
});

/**
 * A tenant's processing settings as the admin API shows them (a tenant view, or any object holding
 * them), by the schema's own fields: what a form or the CLI puts back unchanged, so a setting added
 * to the schema is never dropped by saving.
 */
export function processingSettingsOf(view: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(ProcessingSchema.shape)
      .filter((field) => view[field] !== undefined)
      .map((field) => [field, view[field]]),
  );
}
