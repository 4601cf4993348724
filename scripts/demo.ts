/**
 * `npm run demo [-- --keep]`: the relay under wrangler dev (local KV, Queues and R2) in front of the
 * local Braintrust stand-in, fed TrueFoundry-shaped traces by the real OpenTelemetry exporter. The
 * stand-in fails for a while so a retry through the queue is visible. Loopback only.
 */

import { parseArgs } from "node:util";
import { trace } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { CompressionAlgorithm } from "@opentelemetry/otlp-exporter-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { hex } from "../src/encoding/bytes.js";
import { BraintrustStandIn } from "./lib/braintrust-standin.js";
import { recordGatewayTraces } from "./lib/gateway-traces.js";
import { type TenantStats, tenantStatsOutput } from "./lib/stats-table.js";
import { formatTraces } from "./lib/trace-tree.js";
import { ADMIN_TOKEN, adminCall, startRelay } from "./lib/wrangler-dev.js";

const USAGE = "usage: npm run demo -- [--keep] [--port <1-65535>]";
const options = demoOptions();
const TENANT = "demo";
const ROUNDS = 3;
const FAILURES = 2;

const delivered = new Set<string>();
/** The demo's own traces are printed as they arrive; once it is done, what others send is not, so its summary stays on screen. */
let printing = true;
const standin = new BraintrustStandIn({
  onAccepted: (received, request) => {
    for (const rs of request.resourceSpans) for (const ss of rs.scopeSpans) for (const span of ss.spans) delivered.add(hex(span.spanId));
    if (printing) console.log(`\n${formatTraces(received.parent, request)}`);
  },
});
const standinUrl = await standin.start();
console.log(`Braintrust stand-in on ${standinUrl}; starting the relay under wrangler dev…`);
// Statistics flushed after every request, so the demo's own show at its end without waiting.
const relay = await startRelay(
  { RETRY_BASE_DELAY_SECONDS: "1", STATS_FLUSH_SECONDS: "0" },
  options.port === undefined ? {} : { port: options.port },
).catch(async (err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  await standin.stop();
  process.exit(1);
});
const shutdown = async (code: number) => {
  await relay.stop();
  await standin.stop();
  process.exit(code);
};
// However the demo is stopped (Ctrl-C, kill, its terminal closed), the relay's wrangler and workerd go with it.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void shutdown(0));

try {
  const apiKey = standin.issueKey();
  const put = await adminCall(relay, "PUT", `/tenants/${TENANT}`, {
    parent: "project_name:tfy-demo",
    braintrust: { api_url: standinUrl, api_key: apiKey },
    routes: [{ match: { field: "attributes.tfy.request.metadata.env", equals: "eval" }, parent: "experiment_id:demo-evals" }],
  });
  if (put.status >= 300) throw new Error(`creating the demo tenant: ${put.status} ${await put.text()}`);
  const { token } = (await (await adminCall(relay, "POST", `/tenants/${TENANT}/tokens`)).json()) as { token: string };
  console.log(`Relay on ${relay.url}; tenant "${TENANT}" sends eval traces to an experiment, the rest to a project.`);
  console.log(`Braintrust will answer 503 to the first ${FAILURES} requests: the relay queues them and retries.\n`);
  await fetch(`${standinUrl}/_standin/faults?key=${apiKey}`, {
    method: "POST",
    body: JSON.stringify(Array.from({ length: FAILURES }, () => ({ status: 503 }))),
  });

  const exporter = new OTLPTraceExporter({
    url: `${relay.url}/t/${TENANT}/v1/traces`,
    headers: { Authorization: `Bearer ${token}` },
    compression: CompressionAlgorithm.GZIP,
  });
  const sent = new Set<string>();
  for (let round = 1; round <= ROUNDS; round++) {
    const memory = new InMemorySpanExporter();
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ "service.name": "tfy-llm-gateway" }),
      spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
    });
    recordGatewayTraces(provider.getTracer("tfy-llm-gateway"), round === 1 ? "" : ` (round ${round})`);
    const spans = memory.getFinishedSpans();
    const result = await new Promise<{ code: ExportResultCode; error?: Error }>((resolve) => exporter.export(spans, resolve));
    if (result.code !== ExportResultCode.SUCCESS) throw new Error(`export ${round} failed: ${result.error?.message}`);
    for (const span of spans) sent.add(span.spanContext().spanId);
    console.log(`sent round ${round}: ${spans.length} spans in ${new Set(spans.map((s) => s.spanContext().traceId)).size} traces`);
  }

  const deadline = Date.now() + 60_000;
  while ([...sent].some((id) => !delivered.has(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const attempts = (await (await fetch(`${standinUrl}/_standin/attempts?key=${apiKey}`)).json()) as Array<{ status: number }>;
  const deadLetters = ((await (await adminCall(relay, "GET", `/dead-letters?tenant=${TENANT}`)).json()) as { dead_letters: unknown[] })
    .dead_letters;
  const deliveredCount = [...sent].filter((id) => delivered.has(id)).length;
  // Counted in upstream attempts, as Braintrust saw them; the statistics below count retries in spans.
  const failedAttempts = attempts.filter((a) => a.status !== 200).length;
  console.log(
    `\ndemo: sent ${sent.size} spans, delivered ${deliveredCount}, upstream attempts failed and retried ${failedAttempts}, dead-lettered ${deadLetters.length}`,
  );
  console.log(
    `\nThe relay's statistics for tenant "${TENANT}" (as tfy-relay stats ${TENANT} prints them):\n${tenantStatsOutput(await demoStats(deliveredCount))}`,
  );

  /** The demo tenant's statistics once they count every span delivered: they reach its Durable Object just after each request. */
  async function demoStats(spansDelivered: number): Promise<TenantStats> {
    const until = Date.now() + 10_000;
    for (;;) {
      const stats = (await (await adminCall(relay, "GET", `/tenants/${TENANT}/stats`)).json()) as TenantStats;
      if (stats.total.spans.delivered >= spansDelivered || Date.now() > until) return stats;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  if (options.keep) {
    printing = false;
    console.log(`\nStill running (Ctrl-C to stop). Send your own spans:
  endpoint  ${relay.url}/t/${TENANT}/v1/traces   (protobuf or JSON)
  header    Authorization: Bearer ${token}
  admin     curl -H @<(printf 'authorization: Bearer %s\\n' ${ADMIN_TOKEN}) ${relay.url}/admin/tenants/${TENANT}
  cli       RELAY_URL=${relay.url} RELAY_ADMIN_TOKEN=${ADMIN_TOKEN} npx tfy-relay stats ${TENANT}
  console   ${relay.url}/admin/   (log in with the admin token: ${ADMIN_TOKEN})
  stand-in  ${standinUrl}   (a key for a tenant of your own: POST /_standin/keys; what it received, no longer printed here: GET /_standin/view?key=…)`);
    trace.disable();
  } else {
    await shutdown(deliveredCount === sent.size && deadLetters.length === 0 ? 0 : 1);
  }
} catch (err) {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}\n${relay.output().slice(-2000)}`);
  await shutdown(1);
}

/** The demo's options, or its usage and exit 2 for any it does not take, as the CLI answers its own mistakes. */
function demoOptions(): { keep: boolean; port?: number } {
  try {
    const { values } = parseArgs({ options: { keep: { type: "boolean", default: false }, port: { type: "string" } } });
    // Digits only: Number() would read "0x1F90" or "1e3" as a port too.
    const port = values.port === undefined ? undefined : /^\d{1,5}$/.test(values.port) ? Number(values.port) : Number.NaN;
    if (port !== undefined && !(port >= 1 && port <= 65_535))
      throw new Error(`--port must be a port number, not ${JSON.stringify(values.port)}`);
    return { keep: values.keep, ...(port === undefined ? {} : { port }) };
  } catch (err) {
    console.error(`demo: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    process.exit(2);
  }
}
