/**
 * The runtimes benchmark: the relay's own work on the gateway batch (the body read beforehand, so
 * what it does with the bytes once it has them), its parts, and operations it is made of, timed in
 * Node and in workerd (under wrangler's dev server), the very same code in both
 * (bench/runtimes/work.ts). The pipeline benchmark measures in Node; a deployed relay runs in
 * workerd, and the end-to-end benchmark's workerd CPU is the relay's work and the dev server's
 * around it together. This says which is which.
 *
 * Node's runs are timed by the clock around them; workerd's from outside, around the request that
 * runs them (a Worker's own clock stands still while it computes), less a request that runs
 * nothing. Each row: one warm-up timing, then the median of ROUNDS, Node's and workerd's
 * interleaved so the shared machine's noise hits both alike.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { ExportTraceServiceRequestSchema } from "../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { startQuietDevServer } from "../scripts/lib/wrangler-dev.js";
import { median } from "./median.js";
import { gatewayBatch, gzipped } from "./payloads.js";
import { WORK, type WorkInput } from "./runtimes/work.js";

const ROUNDS = 7;
const CONFIG = "bench/runtimes/wrangler.toml";

/** The first span's request body (`tfy.input`), as UTF-8: a chat request as the gateway records one. */
function firstRequestBody(batch: Uint8Array): Uint8Array {
  const span = fromBinary(ExportTraceServiceRequestSchema, batch).resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
  const value = span.attributes.find((a) => a.key === "tfy.input")?.value?.value;
  if (value?.case !== "stringValue") throw new Error("the gateway batch's first span has no tfy.input");
  return new TextEncoder().encode(value.value);
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

export async function runtimesBenchmark(): Promise<string> {
  const batch = gatewayBatch(100_000);
  const input: WorkInput = { batch, gzipBatch: gzipped(batch), chatRequest: firstRequestBody(batch) };
  const worker = await startQuietDevServer({}, { config: CONFIG });
  try {
    for (const [path, bytes] of [
      ["batch", input.batch],
      ["gzip-batch", input.gzipBatch],
      ["chat-request", input.chatRequest],
    ] as const) {
      const put = await fetch(`${worker.url}/input/${path}`, { method: "PUT", body: bytes });
      if (put.status !== 204) throw new Error(`the runtimes Worker refused its input: ${put.status}`);
    }
    const post = async (path: string) => {
      const response = await fetch(`${worker.url}${path}`, { method: "POST" });
      if (!response.ok) throw new Error(`the runtimes Worker failed: ${response.status} ${await response.text()}`);
      await response.text();
    };
    const inWorkerd = (work: number, times: number) => post(`/run?work=${work}&times=${times}`);
    const nothing = () => post("/nothing");
    const requestAlone: number[] = [];
    for (let round = 0; round < ROUNDS * 2; round++) requestAlone.push(await timed(nothing));
    const overhead = median(requestAlone);
    const lines = ["| work | Node µs | workerd µs | workerd / Node |", "|---|---:|---:|---:|"];
    for (const [index, work] of WORK.entries()) {
      const inNode = async () => work.run(work.times, input);
      await inNode();
      await inWorkerd(index, work.times);
      const node: number[] = [];
      const workerd: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        node.push(await timed(inNode));
        workerd.push((await timed(() => inWorkerd(index, work.times))) - overhead);
      }
      const nodeUs = (median(node) * 1000) / work.times;
      const workerdUs = (median(workerd) * 1000) / work.times;
      lines.push(`| ${work.name} | ${fmt(nodeUs)} | ${fmt(workerdUs)} | ${(workerdUs / nodeUs).toFixed(2)} |`);
    }
    return lines.join("\n");
  } finally {
    await worker.stop();
  }
}

/** Three significant digits, at most three after the point. */
function fmt(us: number): string {
  return us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us >= 1 ? us.toFixed(2) : us.toFixed(3);
}

if (import.meta.filename === process.argv[1]) console.log(await runtimesBenchmark());
