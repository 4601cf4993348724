/**
 * The relay's rate limits, lifted for the load benchmarks so they measure the relay's work, never
 * its 429s: the per-tenant limit through its vars, the per-location ceiling through its binding
 * (and bench/local-ceiling/worker.ts, which counts the same ceiling in memory).
 */
export const LIFTED_CEILING = { limit: 1_000_000, period: 10 } as const;

export const RELAY_VARS = { RATE_LIMIT_REQUESTS_PER_SECOND: "100000", RATE_LIMIT_BURST: "100000" };

export const RELAY_BINDINGS = {
  TENANT_RATE_CEILING: { type: "ratelimit", namespace_id: "7801", simple: LIFTED_CEILING },
} as const;
