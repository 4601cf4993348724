import { z } from "zod";
import { MAX_QUEUE_DELAY_SECONDS, MAX_WORKER_REQUEST_BYTES } from "./cloudflare/limits.js";
import { RelayError } from "./http/errors.js";
import type { RequestRateLimit } from "./tenants/processing-schema.js";

export const DEFAULT_DEAD_LETTER_QUEUE = "tfy-relay-dead-letters";

const MiB = 1024 * 1024;

const MAX_TENANT_CACHE_TTL_SECONDS = 3600;

/** A var holding a whole number from `min` to `max`, `fallback` when unset; refused in words an operator reads as the fix. */
function wholeNumber(min: number, max: number, fallback: number) {
  const rule = `must be a whole number from ${min} to ${max}`;
  return z.coerce.number({ error: rule }).int(rule).min(min, rule).max(max, rule).default(fallback);
}

const positiveInt = (fallback: number, max: number) => wholeNumber(1, max, fallback);

/**
 * Vars, parsed once per isolate. Defaults leave room inside the 128 MB isolate for a decoded
 * request of the largest size, and stay under Cloudflare's 100 MB request-body limit
 * (docs/cloudflare-limits.md).
 */
const RelayConfigSchema = z.object({
  ALLOW_INSECURE_UPSTREAM: z
    .enum(["true", "false"], { error: 'must be "true" or "false"' })
    .default("false")
    .transform((v) => v === "true"),
  MAX_REQUEST_BYTES: positiveInt(16 * MiB, MAX_WORKER_REQUEST_BYTES),
  MAX_DECOMPRESSED_BYTES: positiveInt(16 * MiB, 64 * MiB),
  // The client waits for the first attempt, and gateways' exporters time out at about 10 s.
  UPSTREAM_TIMEOUT_MS: positiveInt(5_000, 60_000),
  QUEUED_UPSTREAM_TIMEOUT_MS: positiveInt(30_000, 300_000),
  RETRY_BASE_DELAY_SECONDS: positiveInt(5, 3600),
  RETRY_MAX_DELAY_SECONDS: positiveInt(1800, MAX_QUEUE_DELAY_SECONDS),
  MAX_RETRIES: positiveInt(20, 1000),
  MAX_SERVER_ERROR_RETRIES: wholeNumber(0, 1000, 3),
  RATE_LIMIT_REQUESTS_PER_SECOND: positiveInt(100, 100_000),
  RATE_LIMIT_BURST: positiveInt(200, 1_000_000),
  UPSTREAM_COMPRESSION: z.enum(["auto", "gzip"], { error: 'must be "auto" or "gzip"' }).default("auto"),
  // KV's edge cache takes at least 60 s; the in-isolate cache is shorter so deletes apply sooner.
  TENANT_CACHE_TTL_SECONDS: wholeNumber(60, MAX_TENANT_CACHE_TTL_SECONDS, 60),
  // A flush waits in the background of a request, which Cloudflare keeps running up to 30 s.
  STATS_FLUSH_SECONDS: wholeNumber(0, 25, 10),
});

/** How a failed attempt is followed up, while the client waits and in the queue consumer, as data (vars RETRY_BASE_DELAY_SECONDS, RETRY_MAX_DELAY_SECONDS, MAX_RETRIES, MAX_SERVER_ERROR_RETRIES). */
export interface RetryPolicy {
  baseDelaySeconds: number;
  /** Cap on the computed backoff; a longer Retry-After from Braintrust still wins, up to 12 h. */
  maxDelaySeconds: number;
  /** Retries after the first attempt before the spans become a dead letter. */
  maxRetries: number;
  /** Server errors (500, and Cloudflare's 520) are usually intermittent, but a persistent one is a bug retries will not fix. */
  maxServerErrorRetries: number;
}

export interface RelayConfig {
  allowInsecureUpstream: boolean;
  maxRequestBytes: number;
  maxDecompressedBytes: number;
  upstreamTimeoutMs: number;
  queuedUpstreamTimeoutMs: number;
  tenantCacheTtlSeconds: number;
  retry: RetryPolicy;
  /** Per tenant, unless its record says otherwise. */
  defaultRateLimit: RequestRateLimit;
  /** The attempt made while the client waits (retries from the queue are always compressed). `auto`: forward the client's own gzip bytes when they did not change, compress nothing else but a span over the upstream cap; `gzip`: compress everything. */
  upstreamCompression: "auto" | "gzip";
  /** How long an isolate gathers statistics before writing them to each tenant's Durable Object (src/stats/flush.ts). */
  statsFlushSeconds: number;
}

const parsed = new WeakMap<Env, RelayConfig>();

/**
 * The relay's vars that hold something: one left empty (`MAX_RETRIES=` in .dev.vars, `""` in
 * wrangler.toml) takes its default, as one left out does, rather than reading as 0 or as no word.
 */
function setVars(env: Env): Record<string, unknown> {
  const vars = env as unknown as Record<string, unknown>;
  return Object.fromEntries(Object.keys(RelayConfigSchema.shape).flatMap((name) => (vars[name] === "" ? [] : [[name, vars[name]]])));
}

export function relayConfig(env: Env): RelayConfig {
  const cached = parsed.get(env);
  if (cached) return cached;
  const result = RelayConfigSchema.safeParse(setVars(env));
  if (!result.success) {
    // Every var at fault, each once (-0.5 breaks two rules with one message): fixed one a deploy, each
    // deploy would leave the relay answering 503 to every tenant until the next.
    const faults = new Map(result.error.issues.map((issue) => [issue.path.join("."), issue.message]));
    const named = [...faults].map(([name, rule]) => `${name}: ${rule}`).join("; ");
    throw new RelayError("misconfigured", `invalid Worker ${faults.size > 1 ? "vars" : "var"} ${named}`);
  }
  const v = result.data;
  const config: RelayConfig = {
    allowInsecureUpstream: v.ALLOW_INSECURE_UPSTREAM,
    maxRequestBytes: v.MAX_REQUEST_BYTES,
    maxDecompressedBytes: v.MAX_DECOMPRESSED_BYTES,
    upstreamTimeoutMs: v.UPSTREAM_TIMEOUT_MS,
    queuedUpstreamTimeoutMs: v.QUEUED_UPSTREAM_TIMEOUT_MS,
    tenantCacheTtlSeconds: v.TENANT_CACHE_TTL_SECONDS,
    defaultRateLimit: { requests_per_second: v.RATE_LIMIT_REQUESTS_PER_SECOND, burst: v.RATE_LIMIT_BURST },
    upstreamCompression: v.UPSTREAM_COMPRESSION,
    statsFlushSeconds: v.STATS_FLUSH_SECONDS,
    retry: {
      baseDelaySeconds: v.RETRY_BASE_DELAY_SECONDS,
      maxDelaySeconds: v.RETRY_MAX_DELAY_SECONDS,
      maxRetries: v.MAX_RETRIES,
      maxServerErrorRetries: v.MAX_SERVER_ERROR_RETRIES,
    },
  };
  parsed.set(env, config);
  return config;
}

/**
 * TENANT_CACHE_TTL_SECONDS even while another var is invalid, for the dead-letter queue's consumer:
 * it keeps the spans the delivery consumer could not work on, an invalid var among the causes, so
 * it must not fail on one too. Itself invalid, the longest it may be: a consumer that waits longest
 * before it calls a tenant gone never drops the spans of one its location has not yet seen.
 */
export function tenantCacheTtlSeconds(env: Env): number {
  const ttl = RelayConfigSchema.shape.TENANT_CACHE_TTL_SECONDS.safeParse(setVars(env).TENANT_CACHE_TTL_SECONDS);
  return ttl.success ? ttl.data : MAX_TENANT_CACHE_TTL_SECONDS;
}
