/**
 * The end-to-end load benchmark: the relay under wrangler's dev server, and beside it a pass-through
 * Worker (forwards the bytes unchanged), both in front of the local Braintrust stand-in, driven by
 * autocannon in its own process for a fixed number of requests. Alternating runs, same payload, same
 * machine.
 *
 * The measured runs start both Workers through wrangler's API with the dev server's own logging
 * work switched off (see startQuietDevServer); a reference run under the `wrangler dev` CLI shows
 * what that work costs. The relay runs twice over: as it is, and with its per-location ceiling
 * counted in memory (bench/local-ceiling/worker.ts), since the dev server's emulation of the
 * rate-limiting binding costs the relay's thread as much as a batch's processing.
 */
import { BraintrustStandIn } from "../scripts/lib/braintrust-standin.js";
import { childWorkerdCpuMs } from "../scripts/lib/workerd-processes.js";
import { adminCall, type DevServer, startQuietDevServer, startRelay } from "../scripts/lib/wrangler-dev.js";
import { RELAY_BINDINGS, RELAY_VARS } from "./lifted-limits.js";
import { type LoadGenerator, startLoadGenerator } from "./load-generator.js";
import { median } from "./median.js";
import { gatewayBatch, gzipped } from "./payloads.js";

const REQUESTS = 500;
const CONNECTIONS = 16;
const ROUNDS = 14;
const WARM_UP_REQUESTS = 300;
const PASSTHROUGH_CONFIG = "bench/passthrough/wrangler.toml";
const LOCAL_CEILING_ENTRYPOINT = "bench/local-ceiling/worker.ts";

interface LoadResult {
  requestsPerSecond: number;
  /** CPU per request of the workerd processes wrangler runs for this benchmark (the ones not under load idle); 0 when they are not this process's children. */
  workerdCpuMs: number;
  p50: number;
  p99: number;
  failures: number;
}

interface Target {
  url: string;
  headers: Record<string, string>;
}

async function load(generator: LoadGenerator, target: Target, body: Buffer, amount = REQUESTS): Promise<LoadResult> {
  const cpuBefore = childWorkerdCpuMs();
  const run = await generator.run({ ...target, body, amount, connections: CONNECTIONS });
  const workerdCpuMs = (childWorkerdCpuMs() - cpuBefore) / run.requests;
  return { requestsPerSecond: run.requests / (run.elapsedMs / 1000), workerdCpuMs, p50: run.p50, p99: run.p99, failures: run.failures };
}

/** Compiles the hot paths and fills the caches (tenant, opened key) before anything is timed. */
async function warmUp(generator: LoadGenerator, target: Target, body: Buffer): Promise<void> {
  await load(generator, target, body, WARM_UP_REQUESTS);
}

const COMMON_HEADERS = { "content-type": "application/x-protobuf", "content-encoding": "gzip" };

/** A tenant sending to one parent, `fast` or with translation on, as a load target. */
async function relayTarget(relay: DevServer, standinUrl: string, apiKey: string, translate: boolean): Promise<Target> {
  const id = translate ? "translated" : "fast";
  await adminCall(relay, "PUT", `/tenants/${id}`, {
    parent: "project_name:bench",
    braintrust: { api_url: standinUrl, api_key: apiKey },
    translate,
  });
  const { token } = (await (await adminCall(relay, "POST", `/tenants/${id}/tokens`)).json()) as { token: string };
  return { url: `${relay.url}/t/${id}/v1/traces`, headers: { ...COMMON_HEADERS, authorization: `Bearer ${token}` } };
}

function passthroughTarget(passthrough: DevServer, apiKey: string): Target {
  return { url: passthrough.url, headers: { ...COMMON_HEADERS, authorization: `Bearer ${apiKey}`, "x-bt-parent": "project_name:bench" } };
}

const medianOf = (list: LoadResult[], key: keyof LoadResult) => median(list.map((r) => r[key]));
const row = (name: string, list: LoadResult[]) =>
  `| ${name} | ${medianOf(list, "requestsPerSecond").toFixed(0)} | ${medianOf(list, "p50").toFixed(1)} | ${medianOf(list, "p99").toFixed(1)} | ${medianOf(list, "workerdCpuMs") ? medianOf(list, "workerdCpuMs").toFixed(2) : "—"} | ${medianOf(list, "failures").toFixed(0)} |`;
/**
 * Round by round, each Worker's run beside the pass-through's run of the same round, so both saw
 * the machine in the same state; the median of those ratios, and their range.
 */
function pairedRatio(list: LoadResult[], baseline: LoadResult[], of: (mine: LoadResult, theirs: LoadResult) => number): string {
  const ratios = list.map((result, round) => of(result, baseline[round]!));
  return `${median(ratios).toFixed(2)} (rounds ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`;
}
const ratio = (list: LoadResult[], baseline: LoadResult[]) =>
  pairedRatio(list, baseline, (mine, theirs) => mine.requestsPerSecond / theirs.requestsPerSecond);
const cpuRatio = (list: LoadResult[], baseline: LoadResult[]) =>
  pairedRatio(list, baseline, (mine, theirs) => theirs.workerdCpuMs / mine.workerdCpuMs);
const TABLE_HEAD = ["| Worker | requests/s | p50 ms | p99 ms | workerd CPU ms/request | failed |", "|---|---:|---:|---:|---:|---:|"];

interface Payload {
  label: string;
  body: Buffer;
}

async function measured(generator: LoadGenerator, standinUrl: string, apiKey: string, payloads: Payload[]): Promise<string[]> {
  let attemptLines = 0;
  let relayRequests = 0;
  const servers: DevServer[] = [];
  try {
    // Each configuration in a relay of its own, as the pass-through is: translation's garbage is
    // then collected in the runs that made it, not in the one-parent runs that share its isolate.
    const countAttempts = (line: string) => (attemptLines += line.includes('"event":"delivery_attempt"') ? 1 : 0);
    const startRelay = async (entrypoint?: string) => {
      const server = await startQuietDevServer(RELAY_VARS, { entrypoint, onLogLine: countAttempts, bindings: RELAY_BINDINGS });
      servers.push(server);
      return server;
    };
    const relay = await startRelay();
    const translatingRelay = await startRelay();
    const localCeilingRelay = await startRelay(LOCAL_CEILING_ENTRYPOINT);
    const translatingLocalCeilingRelay = await startRelay(LOCAL_CEILING_ENTRYPOINT);
    const passthrough = await startQuietDevServer({ UPSTREAM: standinUrl }, { config: PASSTHROUGH_CONFIG });
    servers.push(passthrough);
    const targets = {
      fast: await relayTarget(relay, standinUrl, apiKey, false),
      translated: await relayTarget(translatingRelay, standinUrl, apiKey, true),
      passthrough: passthroughTarget(passthrough, apiKey),
      fastLocalCeiling: await relayTarget(localCeilingRelay, standinUrl, apiKey, false),
      translatedLocalCeiling: await relayTarget(translatingLocalCeilingRelay, standinUrl, apiKey, true),
    };
    const lines: string[] = [];
    for (const { label, body } of payloads) {
      for (const target of Object.values(targets)) await warmUp(generator, target, body);
      const names = Object.keys(targets) as (keyof typeof targets)[];
      const runs = Object.fromEntries(names.map((name) => [name, [] as LoadResult[]])) as Record<keyof typeof targets, LoadResult[]>;
      // The pass-through runs in the middle of its round, and the order flips every round, so each
      // relay run sits near its baseline and the machine's drift cancels out.
      for (let round = 0; round < ROUNDS; round++) {
        for (const name of round % 2 === 0 ? names : names.toReversed()) runs[name].push(await load(generator, targets[name], body));
      }
      relayRequests += (names.length - 1) * (WARM_UP_REQUESTS + ROUNDS * REQUESTS);
      lines.push(
        `**${label}**`,
        "",
        ...TABLE_HEAD,
        row("relay, one parent (check on the wire, forward the original bytes)", runs.fast),
        row("relay, translation (decode, validate, translate, splice)", runs.translated),
        row("relay, one parent, ceiling counted in memory", runs.fastLocalCeiling),
        row("relay, translation, ceiling counted in memory", runs.translatedLocalCeiling),
        row("pass-through (bytes forwarded unchanged)", runs.passthrough),
        "",
        `- relay / pass-through requests/s: **${ratio(runs.fast, runs.passthrough)}** one parent; **${ratio(runs.translated, runs.passthrough)}** translation`,
        `- the same, ceiling counted in memory: ${ratio(runs.fastLocalCeiling, runs.passthrough)} one parent; ${ratio(runs.translatedLocalCeiling, runs.passthrough)} translation`,
        `- pass-through / relay workerd CPU per request: ${cpuRatio(runs.fast, runs.passthrough)} one parent; ${cpuRatio(runs.translated, runs.passthrough)} translation; in memory ${cpuRatio(runs.fastLocalCeiling, runs.passthrough)} and ${cpuRatio(runs.translatedLocalCeiling, runs.passthrough)}`,
        "",
      );
    }
    lines.push(`Delivery-attempt log lines the relay wrote: ${attemptLines} for ${relayRequests} requests (one per delivery attempt).`);
    return lines;
  } finally {
    for (const server of servers) await server.stop();
  }
}

/** One round under `wrangler dev` as a developer runs it, for comparison. */
async function underCli(generator: LoadGenerator, standinUrl: string, apiKey: string, body: Buffer): Promise<string[]> {
  const servers: DevServer[] = [];
  try {
    const relay = await startRelay(RELAY_VARS, { logLevel: "warn" });
    servers.push(relay);
    const passthrough = await startRelay({ UPSTREAM: standinUrl }, { config: PASSTHROUGH_CONFIG, logLevel: "warn" });
    servers.push(passthrough);
    const targets = { fast: await relayTarget(relay, standinUrl, apiKey, false), passthrough: passthroughTarget(passthrough, apiKey) };
    for (const target of Object.values(targets)) await warmUp(generator, target, body);
    const fast = [await load(generator, targets.fast, body)];
    const direct = [await load(generator, targets.passthrough, body)];
    return [
      ...TABLE_HEAD,
      row("relay, one parent", fast),
      row("pass-through", direct),
      "",
      `relay / pass-through requests/s: ${ratio(fast, direct)}`,
    ];
  } finally {
    for (const server of servers) await server.stop();
  }
}

function payload(what: string, traces: Uint8Array): Payload {
  const body = Buffer.from(gzipped(traces));
  return { label: `${what}: ${(traces.byteLength / 1000).toFixed(0)} KB of traces, ${(body.byteLength / 1000).toFixed(0)} KB gzip`, body };
}

export async function loadBenchmark(): Promise<string> {
  const standin = new BraintrustStandIn({ record: false });
  const standinUrl = await standin.start();
  const generator = startLoadGenerator();
  const apiKey = standin.issueKey();
  try {
    // One gateway request's trace, as a lightly loaded gateway exports it, and a busy gateway's batch.
    const payloads = [payload("One trace (3 spans)", gatewayBatch(1)), payload("A batch of 17 traces", gatewayBatch(100_000))];
    const batch = payloads[1]!;
    return [
      `${REQUESTS} requests × ${ROUNDS} rounds per Worker, ${CONNECTIONS} connections, after ${WARM_UP_REQUESTS} warm-up requests each; in each round the pass-through runs in the middle of the four relay runs, and the order flips every round. Table figures are medians over rounds, ratios the median of each round's ratio to the pass-through run of that round. Every Worker runs under wrangler's dev server, started through its API without the DevTools inspector and with log lines counted instead of source-mapped (see \`startQuietDevServer\`). The relay runs as it is, and again with its per-location ceiling counted in memory (\`bench/local-ceiling/worker.ts\`): the dev server emulates Cloudflare's rate-limiting binding with a Durable Object call per request, on the relay's own workerd thread, where Cloudflare answers from counters on the Worker's machine:`,
      "",
      ...(await measured(generator, standinUrl, apiKey, payloads)),
      "",
      `For comparison, the batch under \`npx wrangler dev\` as a developer runs it (DevTools inspector attached; wrangler source-maps every log line in Node, even at --log-level warn), one round:`,
      "",
      ...(await underCli(generator, standinUrl, apiKey, batch.body)),
    ].join("\n");
  } finally {
    generator.stop();
    await standin.stop();
  }
}

if (import.meta.filename === process.argv[1]) console.log(await loadBenchmark());
