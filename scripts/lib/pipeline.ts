import type { Delivery } from "../../src/deliver/message.js";
import type { RelayConfig } from "../../src/env.js";
import { batchesByParent, planSettled, prepareDeliveries } from "../../src/ingest/prepare-deliveries.js";
import type { OtlpFormat, RequestBody } from "../../src/otlp/format.js";
import { allAtOnce } from "../../src/receive/turns.js";
import type { BraintrustCredential } from "../../src/tenants/credentials.js";
import type { Tenant } from "../../src/tenants/schema.js";

/**
 * The relay's pipeline run in process, for the benchmark and the tests of what it makes of a request
 * without the network: the same `prepareDeliveries` the ingest route runs.
 */

/**
 * `prepareDeliveries`, with a routing tenant's traces planned as the request alone decides them:
 * what the relay sends the first time it sees a whole trace, with no call to its trace routes.
 */
export function deliveriesAlone(
  body: RequestBody,
  format: OtlpFormat,
  tenant: Tenant,
  credential: BraintrustCredential,
  config: RelayConfig,
): Delivery[] {
  return preparedAlone(body, format, tenant, credential, config).deliveries;
}

/** `deliveriesAlone`, with the spans the relay rejected one by one. */
export function preparedAlone(
  body: RequestBody,
  format: OtlpFormat,
  tenant: Tenant,
  credential: BraintrustCredential,
  config: RelayConfig,
): { deliveries: Delivery[]; rejected: number } {
  // Run without a Worker, the relay has no admin token or ENCRYPTION_KEY for a parent to hold: only ingest tokens are looked for.
  const prepared = allAtOnce(prepareDeliveries(body, format, tenant, credential, config, {}));
  const rejected = Number(prepared.rejections.rejectedSpans);
  if (!prepared.traces) return { deliveries: prepared.deliveries, rejected };
  const processed = batchesByParent(prepared.traces, (t) => t.parent);
  return { deliveries: planSettled(prepared.body, format, prepared.rejections, processed, { tenant, credential, config }), rejected };
}
