import { z } from "zod";
import type { TenantStats } from "./stats-table.js";

/**
 * What the admin API answers, as far as the CLI reads it. `--url` can name any server, so an answer
 * is checked before it is used: one of another shape is a clear error, never a crash halfway through
 * printing it. Objects are loose, so `--json` prints everything the relay sent. Each is checked
 * against the type src gives its answer at compile time, in admin-answers-match.ts.
 */

const cursor = z.string().nullable();

export const TenantSummary = z.looseObject({ id: z.string(), parent: z.string(), auth: z.string() });

export const TenantView = z.looseObject({
  id: z.string(),
  parent: z.string(),
  auth: z.string(),
  braintrust: z.looseObject({ api_url: z.string() }),
  tokens: z.array(z.looseObject({ id: z.string(), created_at: z.string() })),
  routes: z.array(z.unknown()),
  parent_from_attribute: z.boolean(),
  trace_wait_seconds: z.number(),
  translate: z.boolean(),
  keep_source_attributes: z.boolean(),
  keep_caller_parent: z.boolean(),
  drop_non_ai_spans: z.boolean(),
  redact: z.looseObject({ keys: z.array(z.unknown()), values: z.array(z.unknown()) }),
  rate_limit: z.looseObject({ requests_per_second: z.number(), burst: z.number() }).optional(),
  routed_until: z.string().optional(),
  updated_at: z.string(),
});
export type TenantView = z.infer<typeof TenantView>;

export const DeadLetter = z.looseObject({
  id: z.string(),
  tenant: z.string(),
  parent: z.string(),
  reason: z.string(),
  attempts: z.number(),
  spans: z.number(),
  dead_lettered_at: z.string(),
});

export const IssuedToken = z.looseObject({ id: z.string(), token: z.string() });

export const ReplayAnswer = z.looseObject({
  replayed: z.array(z.string()),
  orphaned: z.array(z.string()),
  replaying: z.array(z.string()),
  // A relay from before tenants whose object did not answer were named leaves it out.
  unavailable: z.array(z.string()).default([]),
  cursor,
});
export type ReplayAnswer = z.infer<typeof ReplayAnswer>;

/** POST /admin/keys/reseal: a page of tenants by what sealing their key again came to (README, "Rotating ENCRYPTION_KEY"). */
export const ResealAnswer = z.looseObject({
  resealed: z.array(z.string()),
  current: z.array(z.string()),
  unreadable: z.array(z.string()),
  changed: z.array(z.string()),
  replica_behind: z.array(z.string()),
  // A relay from before tenants whose object did not answer were named leaves it out.
  failed: z.array(z.string()).default([]),
  cursor,
});
export type ResealAnswer = z.infer<typeof ResealAnswer>;

/** GET /admin/tenants/:tenant/waiting-traces: spans of routed traces waiting for their parent (README, "Routing by trace"). */
export const WaitingTraces = z.looseObject({
  tenant: z.string(),
  traces: z.number(),
  spans: z.number(),
  bytes: z.number(),
  // A relay from before it said whether the tenant holds traces back leaves it out.
  routes_traces: z.boolean().optional(),
});

const count = z.number();
export const StatsSummary = z.looseObject({
  requests: z.record(z.string(), count),
  spans: z.looseObject({
    received: count,
    accepted: count,
    // A relay from before Braintrust's partial rejections were counted leaves by_braintrust out.
    rejected: z.looseObject({ invalid: count, refused_upstream: count, by_braintrust: count.default(0) }),
    delivered: count,
    retried: count,
    dead_lettered: count,
  }),
  // errors: read only to say a last upstream error is behind the tenant; without it, that is not said.
  upstream: z.looseObject({ errors: count.optional(), latency_ms: z.looseObject({ p50: count.nullable(), p99: count.nullable() }) }),
  llm_usage: z.record(
    z.string(),
    z.looseObject({ calls: count, prompt_tokens: count, completion_tokens: count, cost_usd: count, unpriced_calls: count.optional() }),
  ),
});

/** GET /admin/tenants/:tenant/stats; TenantStatsAnswer is the same schema typed as the stats table reads it. */
export const TenantStatsObject = z.looseObject({
  tenant: z.string(),
  as_of: z.string(),
  waiting_in_queue: count,
  last_delivered_at: z.string().nullable().optional(),
  last_upstream_error: z
    .looseObject({ at: z.string(), status: count.nullable(), reason: z.string(), spans_delivered_since: count.optional() })
    .nullable(),
  last_5m: StatsSummary,
  last_1h: StatsSummary,
  last_24h: StatsSummary,
  total: StatsSummary,
});
export const TenantStatsAnswer: z.ZodType<TenantStats> = TenantStatsObject;

/** A page of each listing, and where the next page starts. */
export const TenantPage = z.looseObject({ tenants: z.array(TenantSummary), cursor });
export const DeadLetterPage = z.looseObject({ dead_letters: z.array(DeadLetter), cursor });
export const StatsPage = z.looseObject({
  tenants: z.array(TenantStatsAnswer),
  // Tenants whose object did not answer; a relay from before they were named leaves it out.
  unavailable: z.array(z.string()).default([]),
  cursor,
});

/**
 * A refusal's body (src/http/errors.ts); `field`, of a 400, the input at fault; `reason`, of one over
 * the tenant's stored key, why (RefusalReason): text, as a relay of another version may give another.
 */
export const ErrorAnswer = z.object({
  error: z.object({ message: z.string(), field: z.string().optional(), reason: z.string().optional() }),
});
