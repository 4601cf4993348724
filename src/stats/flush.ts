import { errorText, logEvent } from "../log/events.js";
import { hasPendingCounts, restorePendingCounts, takePendingCounts } from "./recorder.js";

/**
 * When the delayed flush waiting in this isolate was armed: one carries everything counted until it
 * runs. One that has not run long after its time (its request's background work was cut short) no
 * longer holds off the next.
 */
let armedAt: number | undefined;
const WAIT_UNTIL_LIMIT_MS = 30_000;

/**
 * Whether the tenant's object threw this itself (`remote`, as Cloudflare marks such errors) rather
 * than its platform failing to run it (unavailable, overloaded, reset): the object would then throw
 * the same at every flush given the same counts, as it did for a row too large for SQLite.
 */
function failsAgain(err: unknown): boolean {
  return err instanceof Error && Reflect.get(err, "remote") === true && Reflect.get(err, "retryable") !== true;
}

/**
 * Writes this isolate's counts to each tenant's Durable Object, a call per incarnation counted (one,
 * but for a tenant deleted and created again since the last flush). Counts whose object could not
 * take them are kept here for the next flush, unless it refused them itself: those are dropped,
 * not sent again forever. Nothing is thrown, so a failing stats store never fails whatever flushed.
 */
export async function flushStats(env: Env): Promise<void> {
  const taken = takePendingCounts();
  await Promise.all(
    taken.map(async (counted) => {
      const { tenant, delta } = counted;
      try {
        await env.TENANT_OBJECTS.getByName(tenant).recordStats(tenant, delta);
      } catch (err) {
        const dropped = failsAgain(err);
        if (!dropped) restorePendingCounts(counted);
        logEvent({ event: "stats_flush_failed", tenant, error: errorText(err), dropped });
      }
    }),
  );
}

/**
 * Flushes `delaySeconds` from now, in the background of the request that arms it (`waitUntil`, which
 * Cloudflare keeps running up to 30 s after the response), so that one write per tenant carries
 * every request this isolate answers meanwhile. Counts of an isolate evicted before then are lost.
 */
export function flushStatsLater(env: Env, ctx: Pick<ExecutionContext, "waitUntil">, delaySeconds: number): void {
  const now = Date.now();
  if (!hasPendingCounts() || (armedAt !== undefined && now - armedAt < delaySeconds * 1000 + WAIT_UNTIL_LIMIT_MS)) return;
  armedAt = now;
  ctx.waitUntil(
    new Promise((resolve) => setTimeout(resolve, delaySeconds * 1000)).then(() => {
      armedAt = undefined;
      return flushStats(env);
    }),
  );
}
