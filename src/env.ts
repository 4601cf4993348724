import { z } from "zod";
import { RelayError } from "./http/errors.js";

/** Bindings, secrets and vars the Worker receives (wrangler.toml, `wrangler secret put`, `--var`). */
export interface Env {
  TENANTS: KVNamespace;
  ADMIN_TOKEN?: string;
  ENCRYPTION_KEY?: string;
  ALLOW_INSECURE_UPSTREAM?: string;
  MAX_REQUEST_BYTES?: string;
  MAX_DECOMPRESSED_BYTES?: string;
  UPSTREAM_TIMEOUT_MS?: string;
  TENANT_CACHE_TTL_SECONDS?: string;
}

const MiB = 1024 * 1024;

const positiveInt = (fallback: number, max: number) =>
  z.coerce.number().int().positive().max(max).default(fallback);

/**
 * Vars, parsed once per isolate. Defaults leave room inside the 128 MB isolate for a decoded
 * request of the largest size, and stay under Cloudflare's 100 MB request-body limit.
 */
const RelayConfigSchema = z.object({
  ALLOW_INSECURE_UPSTREAM: z
    .enum(["true", "false", ""])
    .default("false")
    .transform((v) => v === "true"),
  MAX_REQUEST_BYTES: positiveInt(16 * MiB, 100 * MiB),
  MAX_DECOMPRESSED_BYTES: positiveInt(16 * MiB, 64 * MiB),
  UPSTREAM_TIMEOUT_MS: positiveInt(10_000, 60_000),
  // KV's edge cache takes at least 60 s; the in-isolate cache is shorter so deletes apply sooner.
  TENANT_CACHE_TTL_SECONDS: positiveInt(60, 3600).refine((s) => s >= 60, "must be at least 60"),
});

export interface RelayConfig {
  allowInsecureUpstream: boolean;
  maxRequestBytes: number;
  maxDecompressedBytes: number;
  upstreamTimeoutMs: number;
  tenantCacheTtlSeconds: number;
}

const parsed = new WeakMap<Env, RelayConfig>();

export function relayConfig(env: Env): RelayConfig {
  const cached = parsed.get(env);
  if (cached) return cached;
  const result = RelayConfigSchema.safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new RelayError("misconfigured", `invalid Worker var ${issue?.path.join(".")}: ${issue?.message}`);
  }
  const v = result.data;
  const config: RelayConfig = {
    allowInsecureUpstream: v.ALLOW_INSECURE_UPSTREAM,
    maxRequestBytes: v.MAX_REQUEST_BYTES,
    maxDecompressedBytes: v.MAX_DECOMPRESSED_BYTES,
    upstreamTimeoutMs: v.UPSTREAM_TIMEOUT_MS,
    tenantCacheTtlSeconds: v.TENANT_CACHE_TTL_SECONDS,
  };
  parsed.set(env, config);
  return config;
}
