/**
 * The pipeline benchmark: for each payload size and tenant setup, the CPU cost per MiB of
 * (a) copying the bytes, (b) decoding them with protobuf-es, (c) a naive decode → process → encode
 * → gzip pipeline, and (d) the relay's own code (`prepareDeliveries` and the upstream body, exactly
 * what the ingest route runs before fetch), for plain and gzip requests. Modes are interleaved
 * round by round and the median kept, so the shared machine's noise hits all of them alike.
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { ExportTraceServiceRequestSchema } from "../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { upstreamBody } from "../src/deliver/braintrust.js";
import { gzip } from "../src/deliver/gzip.js";
import { relayConfig } from "../src/env.js";
import { prepareDeliveries } from "../src/ingest/prepare-deliveries.js";
import { translateSpan } from "../src/process/translate.js";
import { readBody } from "../src/receive/body.js";
import type { Tenant } from "../src/tenants/schema.js";
import { tenantRecord } from "../test/support/tenants.js";
import { median } from "./median.js";
import { gatewayBatch, gzipped } from "./payloads.js";

const MiB = 1024 * 1024;
const config = relayConfig({ MAX_REQUEST_BYTES: String(64 * MiB), MAX_DECOMPRESSED_BYTES: String(64 * MiB) } as unknown as Env);
const credential = { mode: "stored_key", apiKey: "sk-bench", trusted: true } as const;

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

type Coding = "identity" | "gzip";

function request(wire: Uint8Array, coding: Coding): Request {
  return new Request("https://relay.test/t/bench/v1/traces", {
    method: "POST",
    body: wire.slice(),
    headers: coding === "gzip" ? { "content-encoding": "gzip" } : {},
  });
}

/**
 * (c): what a straightforward relay does: decompress, decode the whole request, translate each span
 * when the tenant does, encode the request again, gzip it (one parent: routing is left out, which
 * only flatters it).
 */
async function naive(wire: Uint8Array, coding: Coding, setup: Tenant): Promise<number> {
  const body = await readBody(request(wire, coding), coding, config);
  const decoded = fromBinary(ExportTraceServiceRequestSchema, body.bytes);
  if (setup.translate)
    for (const rs of decoded.resourceSpans) for (const ss of rs.scopeSpans) for (const span of ss.spans) translateSpan(span);
  return gzip(toBinary(ExportTraceServiceRequestSchema, decoded)).byteLength;
}

/** (d): the relay's own code, up to the bytes handed to fetch. */
async function relay(wire: Uint8Array, coding: Coding, setup: Tenant): Promise<number> {
  const body = await readBody(request(wire, coding), coding, config);
  const { deliveries } = prepareDeliveries(body, "protobuf", setup, credential, config);
  let sent = 0;
  for (const delivery of deliveries) sent += upstreamBody(delivery.payload).byteLength;
  return sent;
}

/** (b): decompress and decode, nothing else. */
async function decodeOnly(wire: Uint8Array, coding: Coding): Promise<number> {
  const body = await readBody(request(wire, coding), coding, config);
  return fromBinary(ExportTraceServiceRequestSchema, body.bytes).resourceSpans.length;
}

interface Row {
  size: string;
  coding: Coding;
  setup: string;
  mode: string;
  msPerMiB: number;
  mibPerSecond: number;
  vsNaive: number;
}

async function measure(label: string, bytes: Uint8Array, rounds: number): Promise<Row[]> {
  const rows: Row[] = [];
  const mib = bytes.byteLength / MiB;
  for (const coding of ["identity", "gzip"] as const) {
    const wire = coding === "gzip" ? gzipped(bytes) : bytes;
    const modes: Record<string, () => Promise<unknown>> = {
      "(a) copy": async () => wire.slice(),
      "(b) decode": () => decodeOnly(wire, coding),
    };
    for (const [name, setup] of Object.entries(SETUPS)) {
      modes[`(c) naive, ${name}`] = () => naive(wire, coding, setup);
      modes[`(d) relay, ${name}`] = () => relay(wire, coding, setup);
    }
    const times = new Map<string, number[]>(Object.keys(modes).map((m) => [m, []]));
    for (const run of Object.values(modes)) await run(); // warm-up
    const collect = (globalThis as { gc?: () => void }).gc;
    for (let round = 0; round < rounds; round++) {
      for (const [mode, run] of Object.entries(modes)) {
        // Each mode starts with no garbage left by the one before (npm run bench passes --expose-gc).
        collect?.();
        const start = performance.now();
        await run();
        times.get(mode)!.push(performance.now() - start);
      }
    }
    const msPerMiB = (mode: string) => median(times.get(mode)!) / mib;
    for (const mode of Object.keys(modes)) {
      const setup = mode.split(", ")[1] ?? "";
      const naiveMs = setup ? msPerMiB(`(c) naive, ${setup}`) : msPerMiB("(c) naive, single parent");
      rows.push({
        size: label,
        coding,
        setup,
        mode: mode.split(",")[0]!,
        msPerMiB: msPerMiB(mode),
        mibPerSecond: 1000 / msPerMiB(mode),
        vsNaive: naiveMs / msPerMiB(mode),
      });
    }
  }
  return rows;
}

/**
 * Peak memory of the relay's pipeline on one request, in a fresh process so nothing else counts,
 * with V8's heap capped at 128 MiB as a Worker's isolate is: it must complete under that cap.
 */
function peakMemory(bytes: Uint8Array, coding: Coding, setup: string): { baseline: number; peak: number } | undefined {
  const file = join(mkdtempSync(join(tmpdir(), "bench-")), "payload.bin");
  writeFileSync(file, coding === "gzip" ? gzipped(bytes) : bytes);
  try {
    const out = execFileSync(
      process.execPath,
      ["--expose-gc", "--max-old-space-size=128", "--import", "tsx", import.meta.filename, "--memory", file, coding, setup],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
    );
    return JSON.parse(out) as { baseline: number; peak: number };
  } catch {
    return undefined;
  }
}

async function memoryChild(file: string, coding: Coding, setup: string): Promise<void> {
  const wire = new Uint8Array(readFileSync(file));
  await relay(wire, coding, SETUPS["single parent"]); // load and compile everything first
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = process.memoryUsage.rss();
  await relay(wire, coding, SETUPS[setup as keyof typeof SETUPS]);
  console.log(JSON.stringify({ baseline, peak: process.resourceUsage().maxRSS * 1024 }));
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);

export async function pipelineBenchmark(): Promise<string> {
  const sizes: Array<[string, number, number]> = [
    ["100 KB", 100_000, 40],
    ["1 MiB", MiB, 15],
    ["8 MiB", 8 * MiB, 7],
  ];
  const lines = ["| payload | request | tenant | mode | ms/MiB | MiB/s | × naive |", "|---|---|---|---|---:|---:|---:|"];
  let eight: Uint8Array | undefined;
  for (const [label, target, rounds] of sizes) {
    const bytes = gatewayBatch(target);
    if (target === 8 * MiB) eight = bytes;
    for (const row of await measure(label, bytes, rounds)) {
      lines.push(
        `| ${row.size} | ${row.coding === "gzip" ? "gzip" : "plain"} | ${row.setup || "—"} | ${row.mode} | ${fmt(row.msPerMiB, 2)} | ${fmt(row.mibPerSecond, 0)} | ${fmt(row.vsNaive, 2)} |`,
      );
    }
  }
  lines.push("", "One 8 MiB request through the relay's pipeline, in a fresh Node process with V8's heap capped at 128 MiB:", "");
  for (const coding of ["identity", "gzip"] as const) {
    for (const setup of Object.keys(SETUPS)) {
      const memory = peakMemory(eight!, coding, setup);
      const what = `${coding === "gzip" ? "gzip" : "plain"}, ${setup}`;
      lines.push(
        memory
          ? `- ${what}: completes; peak RSS ${fmt((memory.peak - memory.baseline) / MiB, 0)} MiB above the idle process`
          : `- ${what}: FAILED under the 128 MiB heap cap`,
      );
    }
  }
  return lines.join("\n");
}

if (process.argv[2] === "--memory") await memoryChild(process.argv[3]!, process.argv[4] as Coding, process.argv[5]!);
else if (import.meta.filename === process.argv[1]) console.log(await pipelineBenchmark());
