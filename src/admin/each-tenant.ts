import { RelayError } from "../http/errors.js";
import { errorText, logEvent } from "../log/events.js";

/**
 * `work` for each tenant of a page, each on its own: one whose call throws (its object overloaded,
 * reset by a deploy) is logged as `failure` and named apart, so one tenant's trouble does not take
 * every tenant's page down (a page of tenants, or of everyone's dead letters). The relay's own
 * refusal (a RelayError, such as ENCRYPTION_KEY_PREVIOUS malformed) is the operator's to fix, for
 * every tenant alike: it is thrown, as it was made.
 */
export async function eachTenantOnItsOwn<T>(
  tenants: readonly string[],
  work: (tenantId: string) => Promise<T>,
  failure: "stats_read_failed" | "key_reseal_failed" | "replay_claim_failed",
): Promise<{ answered: Array<{ tenant: string; answer: T }>; failed: string[] }> {
  const settled = await Promise.allSettled(tenants.map((id) => work(id)));
  const refused = settled.find((result) => result.status === "rejected" && result.reason instanceof RelayError);
  if (refused?.status === "rejected") throw refused.reason;
  const answered: Array<{ tenant: string; answer: T }> = [];
  const failed: string[] = [];
  settled.forEach((result, i) => {
    const tenant = tenants[i]!;
    if (result.status === "fulfilled") answered.push({ tenant, answer: result.value });
    else {
      failed.push(tenant);
      logEvent({ event: failure, tenant, error: errorText(result.reason) });
    }
  });
  return { answered, failed };
}
