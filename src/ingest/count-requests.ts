import type { MiddlewareHandler } from "hono";
import { relayConfig } from "../env.js";
import type { AppEnv } from "../http/app-env.js";
import { RelayError } from "../http/errors.js";
import { flushStatsLater } from "../stats/flush.js";
import { countRequest } from "../stats/recorder.js";

/**
 * Counts each ingest request by the status it was answered with, errors included (a misconfigured
 * relay's 503 apart from an outage's, so the statistics say whose to fix), once the route
 * has found its tenant (a path naming no tenant counts nowhere, so strangers cannot make objects
 * for made-up ids), and arms the flush of this isolate's counts, which runs after the response.
 */
export function countRequests(): MiddlewareHandler<AppEnv> {
  return async function countRequestStatus(c, next) {
    await next();
    const tenant = c.get("countedTenant");
    if (tenant === undefined) return;
    countRequest(tenant, c.res.status, c.error instanceof RelayError && c.error.code === "misconfigured");
    flushStatsLater(c.env, c.executionCtx, relayConfig(c.env).statsFlushSeconds);
  };
}
