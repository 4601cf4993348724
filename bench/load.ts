/**
 * The end-to-end load benchmark: the relay under wrangler dev, and beside it a pass-through Worker
 * (forwards the bytes unchanged), both in front of the local Braintrust stand-in, driven by
 * autocannon for a fixed number of requests. Alternating runs, same payload, same machine.
 */
import autocannon from "autocannon";
import { BraintrustStandIn } from "../test/standin/braintrust-standin.js";
import { adminCall, startRelay, type RelayProcess } from "../scripts/lib/wrangler-dev.js";
import { gatewayBatch, gzipped } from "./payloads.js";

const REQUESTS = 2_000;
const CONNECTIONS = 16;
const ROUNDS = 2;

interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  failures: number;
}

async function load(url: string, headers: Record<string, string>, body: Buffer): Promise<LoadResult> {
  const result = await autocannon({ url, method: "POST", headers, body, amount: REQUESTS, connections: CONNECTIONS });
  return { requestsPerSecond: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, failures: result.non2xx + result.errors + result.timeouts };
}

export async function loadBenchmark(): Promise<string> {
  const standin = new BraintrustStandIn({ record: false });
  const standinUrl = await standin.start();
  const apiKey = standin.issueKey();
  let relay: RelayProcess | undefined;
  let passthrough: RelayProcess | undefined;
  try {
    // Both quiet: the dev server's printing of every request and log line is not what is measured.
    relay = await startRelay({ RATE_LIMIT_REQUESTS_PER_SECOND: "100000", RATE_LIMIT_BURST: "100000" }, { logLevel: "warn" });
    passthrough = await startRelay({ UPSTREAM: standinUrl }, { config: "bench/passthrough/wrangler.toml", logLevel: "warn" });
    const tokens: Record<string, string> = {};
    for (const [id, translate] of [["fast", false], ["translated", true]] as const) {
      await adminCall(relay, "PUT", `/tenants/${id}`, { parent: "project_name:bench", braintrust: { api_url: standinUrl, api_key: apiKey }, translate });
      tokens[id] = ((await (await adminCall(relay, "POST", `/tenants/${id}/tokens`)).json()) as { token: string }).token;
    }

    // A typical gateway export: ~100 KB of traces, gzip-compressed.
    const body = Buffer.from(gzipped(gatewayBatch(100_000)));
    const common = { "content-type": "application/x-protobuf", "content-encoding": "gzip" };
    const runs = { fast: [] as LoadResult[], translated: [] as LoadResult[], passthrough: [] as LoadResult[] };
    for (let round = 0; round < ROUNDS; round++) {
      runs.fast.push(await load(`${relay.url}/t/fast/v1/traces`, { ...common, authorization: `Bearer ${tokens.fast}` }, body));
      runs.translated.push(await load(`${relay.url}/t/translated/v1/traces`, { ...common, authorization: `Bearer ${tokens.translated}` }, body));
      runs.passthrough.push(await load(passthrough.url, { ...common, authorization: `Bearer ${apiKey}`, "x-bt-parent": "project_name:bench" }, body));
    }
    const mean = (list: LoadResult[], key: keyof LoadResult) => list.reduce((sum, r) => sum + r[key], 0) / list.length;
    const row = (name: string, list: LoadResult[]) =>
      `| ${name} | ${mean(list, "requestsPerSecond").toFixed(0)} | ${mean(list, "p50").toFixed(1)} | ${mean(list, "p99").toFixed(1)} | ${mean(list, "failures").toFixed(0)} |`;
    const ratio = (list: LoadResult[]) => (mean(list, "requestsPerSecond") / mean(runs.passthrough, "requestsPerSecond")).toFixed(2);
    return [
      `${REQUESTS} requests × ${ROUNDS} rounds, ${CONNECTIONS} connections, ${(body.byteLength / 1000).toFixed(0)} KB gzip bodies (${(gatewayBatch(100_000).byteLength / 1000).toFixed(0)} KB of traces):`,
      "",
      "| Worker | requests/s | p50 ms | p99 ms | failed |",
      "|---|---:|---:|---:|---:|",
      row("relay, one parent (decode, validate, forward the original bytes)", runs.fast),
      row("relay, translation (decode, validate, translate, splice)", runs.translated),
      row("pass-through (bytes forwarded unchanged)", runs.passthrough),
      "",
      `relay / pass-through throughput: ${ratio(runs.fast)} (one parent), ${ratio(runs.translated)} (translation)`,
    ].join("\n");
  } finally {
    await relay?.stop();
    await passthrough?.stop();
    await standin.stop();
  }
}

if (import.meta.filename === process.argv[1]) console.log(await loadBenchmark());
