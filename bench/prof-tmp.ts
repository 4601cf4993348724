import { upstreamBody } from "../src/deliver/braintrust.js";
import { relayConfig } from "../src/env.js";
import { prepareDeliveries } from "../src/ingest/prepare-deliveries.js";
import { tenantRecord } from "../test/support/tenants.js";
import { gatewayBatch } from "./payloads.js";

const config = relayConfig({} as Env);
const bytes = gatewayBatch(1024 * 1024);
const tenant = tenantRecord(
  process.argv[2] === "plain" ? { translate: false, routes: [{ match: { field: "span_name", equals: "x" }, parent: "project_id:p" }] } : {},
);
const credential = { mode: "stored_key", apiKey: "k", trusted: true } as const;
const run = () => {
  for (const d of prepareDeliveries({ wire: bytes, coding: "identity", bytes }, "protobuf", tenant, credential, config).deliveries)
    upstreamBody(d.payload);
};
for (let i = 0; i < 20; i++) run();
const t = performance.now();
for (let i = 0; i < 100; i++) run();
console.log("ms/MiB", (performance.now() - t) / 100 / (bytes.byteLength / 2 ** 20));
