/**
 * What routing by trace costs (README, "Routing by trace"): a tenant that routes, whose requests
 * call its trace routes (Durable Objects), beside one that does not, in the same relay under
 * wrangler's dev server, on the same requests. Two kinds of batches: traces whole in one request,
 * and traces split as the gateway splits them (a request carries the children of its traces and the
 * top spans of the previous request's, so every trace waits once). Every request carries new trace
 * ids, as real traffic does; requests/s, latency, and the workerd CPU per request, which includes
 * the objects' own work (they run in the same workerd) and the queue deliveries of released spans
 * that happened during the run.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { ExportTraceServiceRequestSchema } from "../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { Span } from "../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { BraintrustStandIn } from "../scripts/lib/braintrust-standin.js";
import { spansOf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { childWorkerdCpuMs } from "../scripts/lib/workerd-processes.js";
import { adminCall, type DevServer, startQuietDevServer } from "../scripts/lib/wrangler-dev.js";
import { RELAY_BINDINGS, RELAY_VARS } from "./lifted-limits.js";
import { type LoadGenerator, startLoadGenerator } from "./load-generator.js";
import { median } from "./median.js";
import { gzipped } from "./payloads.js";

const REQUESTS = 300;
const CONNECTIONS = 8;
const ROUNDS = 5;
const WARM_UP_REQUESTS = 100;
const TRACES_PER_REQUEST = 10;
const ROUTE = { match: { field: "attributes.tfy.request.metadata.env", equals: "eval" }, parent: "experiment_id:evals" };

interface Result {
  requestsPerSecond: number;
  workerdCpuMs: number;
  p50: number;
  p99: number;
  failures: number;
}

function requestBody(spans: Span[]): Uint8Array {
  const [template] = trueFoundryTrace().resourceSpans;
  const request = create(ExportTraceServiceRequestSchema, {
    resourceSpans: [{ ...template!, scopeSpans: [{ ...template!.scopeSpans[0]!, spans }] }],
  });
  return gzipped(toBinary(ExportTraceServiceRequestSchema, request));
}

/** `count` requests of whole traces, each with new trace ids. */
function wholeBatches(count: number): Uint8Array[] {
  return Array.from({ length: count }, () =>
    requestBody(Array.from({ length: TRACES_PER_REQUEST }, () => spansOf(trueFoundryTrace())).flat()),
  );
}

/** `count` requests of split traces: each carries its own traces' children and the previous request's top spans. */
function splitBatches(count: number): Uint8Array[] {
  let previousTops: Span[] = [];
  return Array.from({ length: count }, () => {
    const traces = Array.from({ length: TRACES_PER_REQUEST }, () => spansOf(trueFoundryTrace()));
    const body = requestBody([...traces.flatMap(([, ...children]) => children), ...previousTops]);
    previousTops = traces.map(([top]) => top!);
    return body;
  });
}

async function tenant(relay: DevServer, standinUrl: string, apiKey: string, id: string, routes: unknown[]) {
  await adminCall(relay, "PUT", `/tenants/${id}`, {
    parent: "project_name:bench",
    braintrust: { api_url: standinUrl, api_key: apiKey },
    translate: false,
    routes,
  });
  const { token } = (await (await adminCall(relay, "POST", `/tenants/${id}/tokens`)).json()) as { token: string };
  return {
    url: `${relay.url}/t/${id}/v1/traces`,
    headers: { "content-type": "application/x-protobuf", "content-encoding": "gzip", authorization: `Bearer ${token}` },
  };
}

async function load(
  generator: LoadGenerator,
  target: { url: string; headers: Record<string, string> },
  bodies: Uint8Array[],
): Promise<Result> {
  const cpuBefore = childWorkerdCpuMs();
  const run = await generator.run({ ...target, body: bodies[0]!, bodies, amount: bodies.length, connections: CONNECTIONS });
  return {
    requestsPerSecond: run.requests / (run.elapsedMs / 1000),
    workerdCpuMs: (childWorkerdCpuMs() - cpuBefore) / run.requests,
    p50: run.p50,
    p99: run.p99,
    failures: run.failures,
  };
}

const of = (list: Result[], key: keyof Result) => median(list.map((r) => r[key]));
const row = (name: string, list: Result[]) =>
  `| ${name} | ${of(list, "requestsPerSecond").toFixed(0)} | ${of(list, "p50").toFixed(1)} | ${of(list, "p99").toFixed(1)} | ${of(list, "workerdCpuMs").toFixed(2)} | ${of(list, "failures").toFixed(0)} |`;

export async function traceRoutesBenchmark(): Promise<string> {
  const standin = new BraintrustStandIn({ record: false });
  const standinUrl = await standin.start();
  const generator = startLoadGenerator();
  const apiKey = standin.issueKey();
  const relay = await startQuietDevServer(RELAY_VARS, { bindings: RELAY_BINDINGS });
  try {
    const lines = [
      `${REQUESTS} requests × ${ROUNDS} rounds per tenant, ${CONNECTIONS} connections, ${TRACES_PER_REQUEST} gateway traces (3 spans each) per request, gzip, after ${WARM_UP_REQUESTS} warm-up requests; the two tenants alternate round by round, in one relay; medians over rounds. Every request has new trace ids.`,
      "",
    ];
    for (const [label, make] of [
      ["traces whole in each request", wholeBatches],
      ["traces split across requests (children first, top spans in the next request)", splitBatches],
    ] as const) {
      const targets = {
        plain: await tenant(relay, standinUrl, apiKey, `plain-${lines.length}`, []),
        routing: await tenant(relay, standinUrl, apiKey, `routing-${lines.length}`, [ROUTE]),
      };
      const runs = { plain: [] as Result[], routing: [] as Result[] };
      for (const target of Object.values(targets)) await load(generator, target, make(WARM_UP_REQUESTS));
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? (["plain", "routing"] as const) : (["routing", "plain"] as const);
        for (const name of order) runs[name].push(await load(generator, targets[name], make(REQUESTS)));
      }
      lines.push(
        `**${label}**`,
        "",
        "| tenant | requests/s | p50 ms | p99 ms | workerd CPU ms/request | failed |",
        "|---|---:|---:|---:|---:|---:|",
        row("does not route (no Durable Object)", runs.plain),
        row("routes by trace (one call per trace-routes object the request touches)", runs.routing),
        "",
      );
    }
    return lines.join("\n");
  } finally {
    await relay.stop();
    generator.stop();
    await standin.stop();
  }
}

if (import.meta.filename === process.argv[1]) console.log(await traceRoutesBenchmark());
