/**
 * The relay as the load benchmark's "in-memory ceiling" runs measure it: the same Worker, with the
 * per-location ceiling (TENANT_RATE_CEILING) counted in this isolate's memory instead.
 *
 * Under wrangler dev, Cloudflare's rate-limiting binding is emulated by a fetch to a Durable Object
 * for every `limit()` call, run on the same workerd thread as the relay: 0.5 ms of CPU per request or
 * more on this project's machine, as much as the relay's own work on a 100 KB batch. Deployed, the
 * binding answers from counters cached on the machine the Worker runs on, a cheap call but not a
 * free one, so these runs are a lower bound on what a deployed relay pays; the runs of the
 * unmodified relay beside them show the emulator's cost.
 */
import type { DeliveryMessage } from "../../src/deliver/message.js";
import relay from "../../src/index.js";
import { LIFTED_CEILING } from "../lifted-limits.js";

export { TenantObject, TraceRoutes } from "../../src/index.js";

/** The ceiling the benchmark sets for the unmodified relay too. */
const PERIOD_MS = LIFTED_CEILING.period * 1000;

const windows = new Map<string, { startedAt: number; count: number }>();

const ceiling: RateLimit = {
  async limit({ key }) {
    const now = Date.now();
    let window = windows.get(key);
    if (!window || now - window.startedAt >= PERIOD_MS) {
      window = { startedAt: now, count: 0 };
      windows.set(key, window);
    }
    window.count += 1;
    return { success: window.count <= LIFTED_CEILING.limit };
  },
};

/** One wrapped env per isolate's env, as workerd passes the same env to every request: the relay caches its parsed vars by it. */
const wrapped = new WeakMap<Env, Env>();

function withLocalCeiling(env: Env): Env {
  let local = wrapped.get(env);
  if (!local) {
    local = { ...env, TENANT_RATE_CEILING: ceiling };
    wrapped.set(env, local);
  }
  return local;
}

export default {
  fetch: (request, env, ctx) => relay.fetch(request, withLocalCeiling(env), ctx),
  queue: relay.queue,
} satisfies ExportedHandler<Env, DeliveryMessage>;
