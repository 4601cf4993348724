/**
 * The pipeline benchmark: for each payload size and tenant setup, the CPU cost per MiB of
 * (a) copying the bytes, (b) decoding them with protobuf-es, (c) a naive decode → process → encode
 * → gzip pipeline, and (d) the relay's own code (`prepareDeliveries` and the upstream body, exactly
 * what the ingest route runs before fetch; a routing tenant's traces planned as the request decides
 * them, without the call to its trace routes, which bench/load.ts measures), for plain and gzip requests.
 *
 * Each mode is measured warm and in steady state, as a busy isolate runs it: several runs in a row,
 * each timed by the process's CPU (garbage collection included, on whichever thread), modes
 * interleaved round by round so the shared machine's noise hits all of them alike, and the median
 * kept. No collection is forced between runs: after a forced full collection V8 shrinks its young
 * generation, and the next hundred MiB of allocation cost two to five times what they do in steady
 * state, which measured V8 regrowing its heap rather than the code.
 */

import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { ExportTraceServiceRequestSchema } from "../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { runHeapCapped } from "../scripts/lib/heap-capped.js";
import { WORST_SHAPES, worstRequest } from "../scripts/lib/worst-shapes.js";
import { gzip } from "../src/deliver/gzip.js";
import { relayConfig } from "../src/env.js";
import type { OtlpFormat } from "../src/otlp/format.js";
import { translateSpan } from "../src/process/translate.js";
import type { Tenant } from "../src/tenants/schema.js";
import { median } from "./median.js";
import { gatewayBatch, gzipped } from "./payloads.js";
import { benchBody, type Coding, relayRun, relayWork, SETUPS } from "./relay-run.js";

const MiB = 1024 * 1024;

/**
 * (c): what a straightforward relay does: decompress, decode the whole request, translate each span
 * when the tenant does, encode the request again, gzip it (one parent: routing is left out, which
 * only flatters it).
 */
async function naive(wire: Uint8Array, coding: Coding, setup: Tenant): Promise<number> {
  const body = await benchBody(wire, coding);
  const decoded = fromBinary(ExportTraceServiceRequestSchema, body.bytes);
  if (setup.translate)
    for (const rs of decoded.resourceSpans)
      for (const ss of rs.scopeSpans) for (const span of ss.spans) translateSpan(span, { keepSourceAttributes: false });
  return gzip(toBinary(ExportTraceServiceRequestSchema, decoded)).byteLength;
}

/** (b): decompress and decode, nothing else. */
async function decodeOnly(wire: Uint8Array, coding: Coding): Promise<number> {
  const body = await benchBody(wire, coding);
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
      modes[`(d) relay, ${name}`] = () => relayRun(wire, coding, setup);
    }
    const times = new Map<string, number[]>(Object.keys(modes).map((m) => [m, []]));
    // Enough runs in a row for each mode's garbage to be collected in its own runs.
    const inARow = Math.max(2, Math.round((2 * MiB) / bytes.byteLength));
    // A warm-up of 16 MiB a mode: with 2 MiB, the first size's translation rows still counted V8
    // optimising translation's code (18 ms/MiB on the plain 100 KB batch, 8 gzip-compressed).
    const warmUp = Math.max(inARow, Math.round((16 * MiB) / bytes.byteLength));
    for (const run of Object.values(modes)) for (let i = 0; i < warmUp; i++) await run();
    for (let round = 0; round < rounds; round++) {
      for (const [mode, run] of Object.entries(modes)) {
        for (let i = 0; i < inARow; i++) times.get(mode)!.push(await cpuOf(run));
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

/** The CPU a run takes, in ms: the process's own, garbage collection included. */
async function cpuOf(run: () => Promise<unknown>): Promise<number> {
  const start = process.cpuUsage();
  await run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/** The CPU of the relay's code on one request: the median of `rounds` runs in a row, warm, as `measure` takes them. */
async function cpuMs(wire: Uint8Array, format: OtlpFormat, setup: Tenant, rounds: number): Promise<number> {
  const run = async () => relayWork(await benchBody(wire, "identity"), setup, format);
  await run();
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) times.push(await cpuOf(run));
  return median(times);
}

/** The smallest of these V8 heaps a request completes in, or is refused in (413 up front). */
const HEAPS_MIB = [16, 32, 64, 128];

function smallestHeap(body: Uint8Array, format: OtlpFormat, setup: Tenant): string {
  for (const heap of HEAPS_MIB) {
    const run = runHeapCapped(body, format, setup, heap);
    if (run.outcome === "completed") return `${heap} MiB`;
    if (run.outcome === "refused") return `${heap} MiB (refused, ${run.status})`;
  }
  return "none: FAILED under 128 MiB";
}

/**
 * The worst shapes (scripts/lib/worst-shapes.ts) at the default body limit, beside an 8 MiB gateway
 * batch: CPU per MiB in this process, and the smallest V8 heap each needs (a Worker's isolate has
 * 128 MiB; the memory tests assert that each fits in it).
 */
export async function worstShapesBenchmark(): Promise<string> {
  const limit = relayConfig({} as Env).maxDecompressedBytes;
  const cases: Array<[string, Uint8Array, OtlpFormat]> = [
    ["gateway batch, 8 MiB", gatewayBatch(8 * MiB), "protobuf"],
    ...Object.entries(WORST_SHAPES).map(([name, shape]): [string, Uint8Array, OtlpFormat] => [
      name,
      worstRequest(shape, limit),
      shape.format,
    ]),
  ];
  const lines = ["| request | format | MiB | tenant | CPU ms/MiB | smallest heap it needs |", "|---|---|---:|---|---:|---|"];
  for (const [name, body, format] of cases) {
    for (const [setupName, setup] of Object.entries(SETUPS)) {
      const heap = smallestHeap(body, format, setup);
      const ms = heap.includes("refused") ? "—" : fmt(perMiB(await cpuMs(body, format, setup, 3), body));
      lines.push(`| ${name} | ${format} | ${fmt(body.byteLength / MiB)} | ${setupName} | ${ms} | ${heap} |`);
    }
  }
  return lines.join("\n");
}

function perMiB(ms: number, body: Uint8Array): number {
  return ms / (body.byteLength / MiB);
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);

export async function pipelineBenchmark(): Promise<string> {
  const sizes: Array<[string, number, number]> = [
    ["100 KB", 100_000, 8],
    ["1 MiB", MiB, 8],
    ["8 MiB", 8 * MiB, 5],
  ];
  const lines = ["| payload | request | tenant | mode | ms/MiB | MiB/s | × naive |", "|---|---|---|---|---:|---:|---:|"];
  for (const [label, target, rounds] of sizes) {
    const bytes = gatewayBatch(target);
    for (const row of await measure(label, bytes, rounds)) {
      lines.push(
        `| ${row.size} | ${row.coding === "gzip" ? "gzip" : "plain"} | ${row.setup || "—"} | ${row.mode} | ${fmt(row.msPerMiB, 2)} | ${fmt(row.mibPerSecond, 0)} | ${fmt(row.vsNaive, 2)} |`,
      );
    }
  }
  return lines.join("\n");
}

if (import.meta.filename === process.argv[1]) {
  console.log(await pipelineBenchmark());
  console.log(`\n${await worstShapesBenchmark()}`);
}
