import { deliveriesAlone } from "../scripts/lib/pipeline.js";
import { tenantRecord } from "../scripts/lib/tenants.js";
import { upstreamBody } from "../src/deliver/braintrust.js";
import { relayConfig } from "../src/env.js";
import type { OtlpFormat, RequestBody } from "../src/otlp/format.js";
import { readBody } from "../src/receive/body.js";
import type { Tenant } from "../src/tenants/schema.js";

/**
 * The relay's own code on one request, as the ingest route runs it up to fetch, and the tenants the
 * benchmarks run it for: shared by the pipeline benchmark (in Node) and the runtimes benchmark (in
 * Node and in workerd). Runs in both: nothing here reads Node's own modules.
 */

const MiB = 1024 * 1024;

/** The relay's defaults, with body limits far over the largest payload the benchmarks send. */
const BENCH_CONFIG = relayConfig({
  MAX_REQUEST_BYTES: String(64 * MiB),
  MAX_DECOMPRESSED_BYTES: String(64 * MiB),
} as unknown as Env);

const BENCH_CREDENTIAL = { mode: "stored_key", apiKey: "sk-bench", trusted: true } as const;

export const SETUPS = {
  "single parent": tenantRecord({ translate: false }),
  translation: tenantRecord({ translate: true }),
  "3 parents": tenantRecord({
    translate: false,
    routes: [
      { match: { field: "attributes.tfy.request.metadata.env", equals: "eval" }, parent: "experiment_id:evals" },
      { match: { field: "attributes.tfy.model.name", prefix: "claude" }, parent: "project_name:claude" },
    ],
  }),
};

export type Coding = "identity" | "gzip";

/** A request carrying its own copy of the bytes: a body is read once. */
function benchRequest(wire: Uint8Array, coding: Coding): Request {
  return new Request("https://relay.test/t/bench/v1/traces", {
    method: "POST",
    body: wire.slice(),
    headers: coding === "gzip" ? { "content-encoding": "gzip" } : {},
  });
}

/** The request's body as the relay reads it: from a request of its own, under the benchmarks' limits. */
export function benchBody(wire: Uint8Array, coding: Coding): Promise<RequestBody> {
  return readBody(benchRequest(wire, coding), coding, BENCH_CONFIG);
}

/** The relay's own code on one protobuf request, up to the bytes handed to fetch; how many bytes those are. */
export async function relayRun(wire: Uint8Array, coding: Coding, setup: Tenant): Promise<number> {
  return relayWork(await benchBody(wire, coding), setup);
}

/** relayRun on a body already read (of either format): what the relay does with the bytes once it has them. */
export function relayWork(body: RequestBody, setup: Tenant, format: OtlpFormat = "protobuf"): number {
  let sent = 0;
  for (const delivery of deliveriesAlone(body, format, setup, BENCH_CREDENTIAL, BENCH_CONFIG))
    sent += upstreamBody(delivery.payload).byteLength;
  return sent;
}
